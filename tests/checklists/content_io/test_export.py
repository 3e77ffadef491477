"""Exporting content (checklists/content_io/export.py): the format of the shipped files, current or
latest versions, and round trips through the importers."""

import pytest
import yaml

from checklists import content_io
from checklists.content_io import (
    checklist_export_csv,
    checklist_import_csv,
    content_export,
    content_import,
    content_validate,
)
from checklists.models import Checklist, Manual
from tests.factories import VALID, mutate

pytestmark = pytest.mark.django_db


def item_rows(checklist: Checklist) -> list[tuple]:
    return [
        (
            item.position,
            item.code,
            item.question,
            item.question_en,
            item.law,
            item.article,
            item.severity,
            item.method,
            item.clause_code,
            item.applies_if,
            item.required_action,
            item.required_action_en,
        )
        for item in checklist.items.order_by("position")
    ]


def manual_rows(manual: Manual) -> tuple:
    chapters = [(c.position, c.title, c.title_en) for c in manual.chapters.order_by("position")]
    clauses = [
        (c.chapter.position, c.position, c.code, c.text, c.text_en, c.law, c.article)
        for c in manual.clauses.select_related("chapter").order_by("chapter__position", "position")
    ]
    return (manual.title, manual.title_en, manual.summary, manual.summary_en, chapters, clauses)


def content_rows(result) -> tuple:
    manual = manual_rows(result.manual) if result.manual else None
    checklists = sorted((c.department.code, c.title, c.title_en, item_rows(c)) for c in result.checklists)
    return manual, checklists


def import_csv(text, **kwargs):
    arguments = {"scene": "catering", "department": "market_regulation", "title": "检查单", "name": "mr.csv"}
    return checklist_import_csv(path_or_text=text, **{**arguments, **kwargs})


def test_export_then_import_gives_identical_content():
    original = content_import(path_or_text=VALID, publish=True)

    exported = content_export(scene="catering")
    again = content_import(path_or_text=exported, name="exported.yaml")

    assert again.manual.version == 2
    assert content_rows(again) == content_rows(original)
    checklists = yaml.safe_load(exported)["checklists"]
    assert [c["department"] for c in checklists] == ["fire_rescue", "market_regulation"]
    assert checklists[1]["items"][1]["clause"] == "staff-health"


def test_export_writes_the_format_of_the_shipped_files():
    content_import(path_or_text=VALID, publish=True)

    exported = content_export(scene="catering")

    assert exported.startswith("# catering, current versions: manual v1 (published), ")
    assert "  chapters:\n    - title: 许可与公示\n" in exported  # lists indented, Chinese as is
    assert (
        "          text: |-\n            从业人员每年进行健康检查，\n            取得健康证明后方可上岗。\n"
        in exported
    )
    assert "summary_en" not in exported  # empty optional fields are left out
    assert content_validate(path_or_text=exported) == []


def test_export_current_or_latest():
    content_import(path_or_text=VALID, publish=True)
    content_import(path_or_text=mutate(("title: 餐饮服务经营者合规手册", "title: 新版手册")))

    assert yaml.safe_load(content_export(scene="catering"))["manual"]["title"] == "餐饮服务经营者合规手册"
    latest = content_export(scene="catering", which="latest")
    assert "manual v2 (draft)" in latest.splitlines()[0]
    assert yaml.safe_load(latest)["manual"]["title"] == "新版手册"


def test_export_of_a_scene_without_content_is_refused():
    with pytest.raises(content_io.NotFound) as excinfo:
        content_export(scene="hotel")

    assert excinfo.value.code == "no_content"


def test_csv_export_then_import_gives_identical_items():
    original = content_import(path_or_text=VALID, publish=True)
    checklist = next(c for c in original.checklists if c.department.code == "market_regulation")

    again = import_csv(checklist_export_csv(checklist=checklist))

    assert item_rows(again) == item_rows(checklist)
