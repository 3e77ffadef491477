"""Writing content back out: a scene's manual and checklists as a YAML file that imports back to the
same content, and one checklist as CSV."""

import csv
import io

import yaml
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from checklists.content_io.rules import (
    CHAPTER_FIELDS,
    CLAUSE_FIELDS,
    CSV_COLUMNS,
    ITEM_FIELDS,
    MANUAL_FIELDS,
    TITLE_FIELDS,
    Rule,
    scene_issue,
)
from checklists.content_io.yaml_format import STR_TAG
from checklists.models import Checklist, Manual, ManualClause
from checklists.selectors import checklists_current, manual_current
from core.errors import NotFound
from core.models import Department, Scene


def _scene(scene: Scene | str) -> Scene:
    if isinstance(scene, Scene):
        return scene
    found = Scene.objects.filter(code=scene).first()
    if found is None:
        raise NotFound(scene_issue(scene), code="unknown_scene")
    return found


def _check_which(which: str) -> None:
    if which not in ("current", "latest"):
        raise ValueError(f'which must be "current" or "latest", not {which!r}')


def checklist_find(*, scene: Scene | str, department: Department | str, which: str = "current") -> Checklist:
    """One department's checklist of a scene: the published version, or the newest one."""
    _check_which(which)
    scene = _scene(scene)
    code = department.code if isinstance(department, Department) else department
    versions = Checklist.objects.filter(scene=scene, department__code=code).select_related(
        "scene", "department"
    )
    if which == "current":
        versions = versions.filter(status="published")
    checklist = versions.order_by("-version").first()
    if checklist is None:
        message = _('scene "%(scene)s" has no %(which)s checklist of department "%(department)s"')
        raise NotFound(message % {"scene": scene.code, "which": which, "department": code}, code="no_content")
    return checklist


def _versions(scene: Scene, which: str) -> tuple[Manual | None, list[Checklist]]:
    if which == "current":
        return manual_current(scene=scene), list(checklists_current(scene=scene))
    manual = Manual.objects.filter(scene=scene).order_by("-version").first()
    newest = {}
    for checklist in (
        Checklist.objects.filter(scene=scene)
        .select_related("department")
        .order_by("department__code", "-version")
    ):
        newest.setdefault(checklist.department.code, checklist)
    return manual, list(newest.values())


def _fields(obj, rules: dict[str, Rule]) -> dict[str, str]:
    """The row's values under their file keys; optional empty ones left out."""
    values = {key: getattr(obj, rule.target or key) for key, rule in rules.items()}
    return {key: value for key, value in values.items() if value or rules[key].required}


class _Dumper(yaml.SafeDumper):
    """Indents a list under its key and writes multi-line text as a block, as FORMAT.md does."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_str(dumper, value: str):
    return dumper.represent_scalar(STR_TAG, value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def content_export(*, scene: Scene | str, which: str = "current") -> str:
    """The scene's manual and checklists as a YAML content file that imports back to the same
    content: its published versions (``current``) or its newest ones, drafts included (``latest``)."""
    _check_which(which)
    scene = _scene(scene)
    manual, checklists = _versions(scene, which)
    if manual is None and not checklists:
        message = _('scene "%(scene)s" has no %(which)s content to export')
        raise NotFound(message % {"scene": scene.code, "which": which}, code="no_content")
    data: dict = {"scene": scene.code}
    summary = []
    if manual is not None:
        chapters = manual.chapters.order_by("position").prefetch_related(
            Prefetch("clauses", queryset=ManualClause.objects.order_by("position"))
        )
        data["manual"] = {
            **_fields(manual, MANUAL_FIELDS),
            "chapters": [
                {
                    **_fields(chapter, CHAPTER_FIELDS),
                    "clauses": [_fields(clause, CLAUSE_FIELDS) for clause in chapter.clauses.all()],
                }
                for chapter in chapters
            ],
        }
        summary.append(f"manual v{manual.version} ({manual.status})")
    if checklists:
        data["checklists"] = [
            {
                "department": checklist.department.code,
                **_fields(checklist, TITLE_FIELDS),
                "items": [_fields(item, ITEM_FIELDS) for item in checklist.items.order_by("position")],
            }
            for checklist in checklists
        ]
        summary += [f"{c.department.code} v{c.version} ({c.status})" for c in checklists]
    header = (
        f"# {scene.code}, {which} versions: {', '.join(summary)}\n# Format: checklists/content/FORMAT.md\n"
    )
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000)
    return header + body


def checklist_export_csv(*, checklist: Checklist) -> str:
    """One checklist version's items as CSV with the columns CSV_COLUMNS, for checklist_import_csv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in checklist.items.order_by("position"):
        writer.writerow([getattr(item, ITEM_FIELDS[column].target or column) for column in CSV_COLUMNS])
    return buffer.getvalue()
