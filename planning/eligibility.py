"""Which inspectors may be sent to an enterprise: the facts read from the database, and the rules
applied to them as a pure function (draws re-run it from the recorded facts).

Rules, in the order they are checked (an inspector excluded by one is counted under that one):

1. jurisdiction: one of the inspector's districts is the enterprise's district or an ancestor of
   it (core.permissions.inspectors_with_jurisdiction, same department as the plan or draw);
2. last inspection: not one of the inspectors of the enterprise's last submitted inspection;
3. declared conflict: no conflict of interest in force with the enterprise;
4. overload: fewer than ``max_tasks`` tasks in the period — the non-cancelled tasks whose due
   window overlaps it, plus those given to the inspector earlier in the same plan or draw.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from django.db.models import Count, OuterRef, Q, Subquery

from core.models import Enterprise, Inspector
from planning.common import Area
from planning.models import ConflictDeclaration
from supervision.models import Inspection, InspectionTask

LAST_INSPECTION = "last_inspection"
DECLARED_CONFLICT = "declared_conflict"
OVERLOAD = "overload"
RULES = (LAST_INSPECTION, DECLARED_CONFLICT, OVERLOAD)

# Rows per IN (...) list: well under every backend's limit on query parameters.
CHUNK = 1000


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _prefixes(path: str) -> list[str]:
    """ "110000/110105/" -> ["110000/", "110000/110105/"]: the district and its ancestors."""
    return [path[: index + 1] for index, char in enumerate(path) if char == "/"]


# --- facts --------------------------------------------------------------------------------------------


def area_inspectors(*, area: Area) -> list[tuple[int, list[str]]]:
    """Active inspectors of the department with jurisdiction somewhere in the area, each with the
    paths of their districts that matter there (sorted by id, paths sorted): one query."""
    rows = Inspector.districts.through.objects.filter(
        inspector__department=area.department,
        inspector__active=True,
        inspector__user__is_active=True,
    )
    if area.district is not None:
        path = area.district.path
        rows = rows.filter(Q(district__path__startswith=path) | Q(district__path__in=_prefixes(path)))
    by_inspector: dict[int, list[str]] = defaultdict(list)
    for inspector_id, path in rows.values_list("inspector_id", "district__path").order_by(
        "inspector_id", "district__path"
    ):
        by_inspector[inspector_id].append(path)
    return sorted(by_inspector.items())


def inspector_loads(*, inspector_ids: list[int], period_from: date, period_to: date) -> dict[int, int]:
    """Non-cancelled tasks per inspector whose due window overlaps the period: one grouped query
    per chunk of inspectors."""
    loads = dict.fromkeys(inspector_ids, 0)
    for chunk in _chunks(inspector_ids):
        rows = (
            InspectionTask.inspectors.through.objects.filter(
                inspector_id__in=chunk,
                inspectiontask__due_from__lte=period_to,
                inspectiontask__due_to__gte=period_from,
            )
            .exclude(inspectiontask__status=InspectionTask.Status.CANCELLED)
            .values("inspector_id")
            .annotate(n=Count("inspectiontask_id"))
        )
        loads.update({row["inspector_id"]: row["n"] for row in rows})
    return loads


def last_inspection_pairs(*, enterprise_ids: list[int], inspector_ids: list[int]) -> set[tuple[int, int]]:
    """(inspector, enterprise) for the inspectors of each enterprise's last submitted inspection,
    of those given: one query per chunk (the latest task per enterprise is a subquery served by
    the inspection_history index)."""
    wanted = set(inspector_ids)
    latest = (
        Inspection.objects.filter(enterprise=OuterRef("pk"), status=Inspection.Status.SUBMITTED)
        .order_by("-submitted_at", "-pk")
        .values("task_id")[:1]
    )
    pairs = set()
    for chunk in _chunks(enterprise_ids):
        tasks = (
            Enterprise.objects.filter(pk__in=chunk).annotate(last_task=Subquery(latest)).values("last_task")
        )
        rows = InspectionTask.inspectors.through.objects.filter(inspectiontask_id__in=tasks).values_list(
            "inspector_id", "inspectiontask__enterprise_id"
        )
        pairs.update((i, e) for i, e in rows if i in wanted)
    return pairs


def declared_conflict_pairs(*, enterprise_ids: list[int], inspector_ids: list[int]) -> set[tuple[int, int]]:
    """(inspector, enterprise) for the conflicts of interest in force, of those given."""
    wanted = set(inspector_ids)
    pairs = set()
    for chunk in _chunks(enterprise_ids):
        rows = ConflictDeclaration.objects.filter(ended_at__isnull=True, enterprise_id__in=chunk).values_list(
            "inspector_id", "enterprise_id"
        )
        pairs.update((i, e) for i, e in rows if i in wanted)
    return pairs


# --- rules (pure) ---------------------------------------------------------------------------------------


class JurisdictionIndex:
    """Inspectors by district path, to find those with jurisdiction over an enterprise's district."""

    def __init__(self, inspectors: Iterable[tuple[int, list[str]]]):
        self._by_path: dict[str, list[int]] = defaultdict(list)
        for inspector_id, paths in inspectors:
            for path in paths:
                self._by_path[path].append(inspector_id)

    def over(self, path: str) -> list[int]:
        """Inspectors with jurisdiction over a district, by ascending id."""
        found: set[int] = set()
        for prefix in _prefixes(path):
            found.update(self._by_path.get(prefix, ()))
        return sorted(found)


def screen(
    *,
    enterprise_id: int,
    path: str,
    index: JurisdictionIndex,
    last: set[tuple[int, int]],
    declared: set[tuple[int, int]],
    load: Callable[[int], int],
    max_tasks: int | None,
) -> tuple[list[int], dict[str, list[int]]]:
    """The eligible inspectors for one enterprise (ascending id) and, per rule, those it excluded."""
    eligible: list[int] = []
    excluded: dict[str, list[int]] = {rule: [] for rule in RULES}
    for inspector_id in index.over(path):
        if (inspector_id, enterprise_id) in last:
            excluded[LAST_INSPECTION].append(inspector_id)
        elif (inspector_id, enterprise_id) in declared:
            excluded[DECLARED_CONFLICT].append(inspector_id)
        elif max_tasks is not None and load(inspector_id) >= max_tasks:
            excluded[OVERLOAD].append(inspector_id)
        else:
            eligible.append(inspector_id)
    return eligible, excluded
