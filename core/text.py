"""Control characters in text from outside: which ones no stored text may hold, and how to show one.

PostgreSQL refuses a NUL in any text value (the statement fails, so the request answered 500);
the other C0 controls are stored but are never part of what a person types: they come from
broken clients, binary pasted into a form, or probing. Tab, line feed and carriage return are
ordinary text (a multi-line note, a pasted table) and stay allowed.
"""

import re

# C0 control characters except tab (\x09), line feed (\x0a) and carriage return (\x0d).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def escape_control_characters(text: str) -> str:
    """``text`` with each control character written out (NUL as ``\\x00``): storable, and still
    shows what was sent."""
    return CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
