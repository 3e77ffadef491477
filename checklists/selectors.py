"""Reads of content: the current versions, and the merged scene checklist for one visit."""

from dataclasses import dataclass

from django.db.models import QuerySet

from checklists.models import Checklist, ChecklistItem, Manual, ManualClause, VersionStatus
from core.models import Enterprise, Scene


def manual_current(*, scene: Scene) -> Manual | None:
    return Manual.objects.filter(scene=scene, status=VersionStatus.PUBLISHED).first()


def checklists_current(*, scene: Scene) -> QuerySet[Checklist]:
    """Every supervising department's published checklist for the scene."""
    return (
        Checklist.objects.filter(scene=scene, status=VersionStatus.PUBLISHED)
        .select_related("department")
        .order_by("department__code")
    )


@dataclass(frozen=True)
class MergedChecklist:
    """One visit, many departments (进一次门、查多项事): the items of every department's current
    checklist, each still owned by its department, with the versions they came from."""

    checklists: list[Checklist]
    items: list[ChecklistItem]
    clauses: dict[str, ManualClause]

    @property
    def departments(self):
        return [checklist.department for checklist in self.checklists]


def scene_checklist(
    *, scene: Scene, enterprise: Enterprise | None = None, checklists=None
) -> MergedChecklist:
    """Merge the current (or the given) checklist versions; with an enterprise, drop the items
    whose applicability condition it does not meet."""
    versions = list(checklists if checklists is not None else checklists_current(scene=scene))
    items = list(
        ChecklistItem.objects.filter(checklist__in=versions)
        .select_related("checklist__department")
        .order_by("checklist__department__code", "position")
    )
    if enterprise is not None:
        items = [item for item in items if item.applies_to(enterprise)]
    manual = manual_current(scene=scene)
    codes = {item.clause_code for item in items if item.clause_code}
    clauses = {}
    if manual and codes:
        clauses = {clause.code: clause for clause in manual.clauses.filter(code__in=codes)}
    return MergedChecklist(versions, items, clauses)
