"""How a person's name is written on pages, documents and in the API.

Django's ``get_full_name`` puts the given name first with a space ("静 陈"). A Chinese name is
written family name first, without a space (陈静); other names keep the given name first (Jane
Smith). Someone who gave no name is shown by their username.
"""

import re

# CJK Unified Ideographs (with extension A) and the compatibility block: enough to tell a Chinese
# name from a Latin one; a name mixing both is written the Chinese way.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def person_name(user) -> str:
    if user is None:
        return ""
    given, family = (user.first_name or "").strip(), (user.last_name or "").strip()
    if not (given or family):
        return user.get_username()
    if _HAN.search(given + family):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)
