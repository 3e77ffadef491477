"""The content shipped in checklists/content/ (content_io.CONTENT_DIR): every file validates,
survives an export round trip and loads once."""

import io

import pytest
import yaml
from django.core.management import call_command

from checklists import content_io
from checklists.content_io import content_export, content_import, content_validate
from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause
from checklists.selectors import manual_current, scene_checklist
from core.models import AuditEvent, Scene

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


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Manual, ManualChapter, ManualClause, Checklist, ChecklistItem, AuditEvent)
    )


def run(command, *args):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


SHIPPED = sorted(content_io.CONTENT_DIR.glob("*.yaml"))
RICH_SCENES = ("catering", "elderly_care", "medical")


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_file_validates(path):
    issues = content_validate(path_or_text=path, name=f"checklists/content/{path.name}")

    assert [str(issue) for issue in issues] == []
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["scene"] == path.stem


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_file_survives_an_export_round_trip(path):
    original = content_import(path_or_text=path, publish=True)

    again = content_import(path_or_text=content_export(scene=original.scene))

    assert content_rows(again) == content_rows(original)


def test_load_content_publishes_every_shipped_scene_once():
    if not SHIPPED:
        pytest.skip("no content files shipped yet")

    run("load_content")
    before = counts()
    run("load_content")

    assert counts() == before
    for path in SHIPPED:
        scene = Scene.objects.get(code=path.stem)
        shipped = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert manual_current(scene=scene) is not None, scene.code
        merged = scene_checklist(scene=scene)
        assert sorted(d.code for d in merged.departments) == sorted(
            c["department"] for c in shipped.get("checklists", [])
        )
        assert len(merged.items) == sum(len(c["items"]) for c in shipped.get("checklists", []))


@pytest.mark.parametrize("scene", RICH_SCENES)
def test_the_main_scenes_ship_at_least_25_items(scene):
    path = content_io.CONTENT_DIR / f"{scene}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")

    run("load_content")

    merged = scene_checklist(scene=Scene.objects.get(code=scene))
    assert len(merged.items) >= 25
