"""Manuals and checklists as files: YAML in the format of checklists/content/FORMAT.md, and CSV
for one checklist. Used by the import_content / export_content / load_content commands.

An import checks the whole file before it writes anything and reports every problem at once,
each with its file, line and field, so a content writer fixes a file in one pass. Only a clean
file is written: new draft versions (optionally published at once) in one transaction, with
one ``content.import`` audit event.

The readers (rules, yaml_format, csv_format) and the exporter (export) are this package's
modules; the import services stay here, and look ``checklist_publish`` up in this module, where
a test replaces it to make a write fail half-way.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from checklists.content_io.csv_format import parse_csv
from checklists.content_io.export import checklist_export_csv, checklist_find, content_export
from checklists.content_io.rules import (
    CSV_COLUMNS,
    Content,
    ContentError,
    ContentIssue,
    read_content,
)
from checklists.content_io.yaml_format import parse_yaml
from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause
from checklists.publishing import checklist_publish, manual_publish, next_version
from core.audit import audit_record
from core.errors import DomainError, NotFound
from core.models import Department, Scene

__all__ = [
    "CONTENT_DIR",
    "CSV_COLUMNS",
    "ContentError",
    "ContentIssue",
    "DomainError",
    "ImportResult",
    "NotFound",
    "checklist_export_csv",
    "checklist_find",
    "checklist_import_csv",
    "content_export",
    "content_import",
    "content_load",
    "content_validate",
]

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"


@dataclass(frozen=True)
class ImportResult:
    """What one import created (or, for ``content_load``, that it skipped the file)."""

    file: str
    scene: Scene
    manual: Manual | None = None
    checklists: list[Checklist] = field(default_factory=list)
    clauses: int = 0
    items: int = 0
    skipped: bool = False

    @property
    def versions(self) -> list[Manual | Checklist]:
        return [self.manual, *self.checklists] if self.manual else list(self.checklists)


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _write(content: Content, *, file: str, actor, publish: bool, source: str) -> ImportResult:
    # Locking the scene serialises imports of one scene, so two cannot pick the same version number.
    scene = Scene.objects.select_for_update().get(pk=content.scene.pk)
    user = _user(actor)
    manual, clause_count = None, 0
    if content.manual is not None:
        manual = Manual.objects.create(
            scene=scene, version=next_version(Manual, scene=scene), created_by=user, **content.manual.fields
        )
        clauses = []
        for position, (fields, chapter_clauses) in enumerate(content.manual.chapters, start=1):
            chapter = ManualChapter.objects.create(manual=manual, position=position, **fields)
            clauses += [
                ManualClause(manual=manual, chapter=chapter, position=number, **clause)
                for number, clause in enumerate(chapter_clauses, start=1)
            ]
        # bulk_create skips ContentRow.save's draft check: the manual was created as a draft above.
        ManualClause.objects.bulk_create(clauses)
        clause_count = len(clauses)
    checklists, item_count = [], 0
    for part in content.checklists:
        owner = {"scene": scene, "department": part.department}
        checklist = Checklist.objects.create(
            **owner, version=next_version(Checklist, **owner), created_by=user, **part.fields
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(checklist=checklist, position=position, **item)
            for position, item in enumerate(part.items, start=1)
        )
        checklists.append(checklist)
        item_count += len(part.items)
    audit_record(
        actor=user,
        action="content.import",
        target=scene,
        data={
            "file": file,
            "format": source,
            "scene": scene.code,
            "manual": manual.version if manual else None,
            "checklists": {checklist.department.code: checklist.version for checklist in checklists},
            "publish": publish,
        },
    )
    if publish:
        # The manual first: its clauses are what the checklist items link to.
        if manual is not None:
            manual = manual_publish(manual=manual, actor=user)
        checklists = [checklist_publish(checklist=checklist, actor=user) for checklist in checklists]
    return ImportResult(file, scene, manual, checklists, clause_count, item_count)


def content_validate(*, path_or_text, name: str | None = None) -> list[ContentIssue]:
    """Every problem of a YAML content file; an empty list when it would import."""
    try:
        file, text = read_content(path_or_text, name)
        parse_yaml(text, file)
    except ContentError as exc:
        return exc.issues
    return []


@transaction.atomic
def content_import(
    *, path_or_text, name: str | None = None, actor=None, publish: bool = False
) -> ImportResult:
    """Import one YAML file (FORMAT.md) as new draft versions of its manual and checklists, and
    publish them if asked. Raises ContentError, listing every problem, and writes nothing when
    the file is not clean."""
    file, text = read_content(path_or_text, name)
    content = parse_yaml(text, file)
    return _write(content, file=file, actor=actor, publish=publish, source="yaml")


@transaction.atomic
def content_load(*, path_or_text, name: str | None = None, actor=None) -> ImportResult:
    """Import and publish a shipped content file, unless its scene has content already (any
    manual or checklist, in any status): loading the shipped content again changes nothing."""
    file, text = read_content(path_or_text, name)
    content = parse_yaml(text, file)
    scene = Scene.objects.select_for_update().get(pk=content.scene.pk)
    if Manual.objects.filter(scene=scene).exists() or Checklist.objects.filter(scene=scene).exists():
        return ImportResult(file, scene, skipped=True)
    return _write(content, file=file, actor=actor, publish=True, source="yaml")


@transaction.atomic
def checklist_import_csv(
    *,
    path_or_text,
    scene: Scene | str,
    department: Department | str,
    title: str,
    title_en: str = "",
    name: str | None = None,
    actor=None,
    publish: bool = False,
) -> Checklist:
    """Import one department's checklist for a scene from CSV (columns: CSV_COLUMNS, in any
    order; the optional ones may be left out) as a new draft version."""
    file, text = read_content(path_or_text, name)
    content = parse_csv(text, file, scene=scene, department=department, title=title, title_en=title_en)
    return _write(content, file=file, actor=actor, publish=publish, source="csv").checklists[0]
