"""The admin in Chinese has no half-translated names: every section and every model registered
in it, ours and the libraries', is named in Chinese (no "审计链头s", no "Access attempts")."""

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Names that are Chinese usage as written: an acronym, not an untranslated word.
ACRONYMS = {"API"}


def untranslated(text: str) -> list[str]:
    return [word for word in LATIN_WORD.findall(str(text)) if word not in ACRONYMS]


def test_every_admin_section_and_model_has_a_chinese_name():
    with translation.override("zh-hans"):
        names = {}
        for model in admin.site._registry:
            app = model._meta.app_config.verbose_name
            names[f"{model._meta.label} (app)"] = str(app)
            names[model._meta.label] = str(model._meta.verbose_name)
            names[f"{model._meta.label} (plural)"] = str(model._meta.verbose_name_plural)
    half = {label: name for label, name in names.items() if untranslated(name)}
    assert half == {}


def test_the_admin_index_reads_in_chinese(admin_user):
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(admin_user)

    html = client.get("/admin/").content.decode()

    captions = re.findall(r"<caption>(.*?)</caption>|<th scope=\"row\"[^>]*>(.*?)</th>", html, re.S)
    shown = [re.sub(r"<[^>]+>", "", "".join(parts)).strip() for parts in captions]
    assert len(shown) > 20
    assert [name for name in shown if untranslated(name)] == []
    assert "审计链头" in shown and not any(name.endswith("s") for name in shown)
