"""Reads for the planning pages and API: lists in scope, and the burden view."""

from collections import defaultdict
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from core import permissions
from core.models import Department, District, Scene
from planning.common import refuse
from planning.models import ConflictDeclaration, Draw, PlanEntry, RiskPlan
from planning.permissions import conflicts_visible_to, draws_visible_to, plans_visible_to
from supervision.models import InspectionTask


def plans_in_scope(*, user) -> QuerySet[RiskPlan]:
    return plans_visible_to(user).select_related("department", "district", "created_by")


def draws_in_scope(*, user) -> QuerySet[Draw]:
    return draws_visible_to(user).select_related("department", "district", "scene", "created_by")


def plan_entries(*, plan: RiskPlan, scheduled: bool) -> QuerySet[PlanEntry]:
    """The preview's two lists, each in the plan's order (highest risk first)."""
    entries = plan.entries.select_related("enterprise__district", "enterprise__scene")
    if scheduled:
        return entries.filter(outcome=PlanEntry.Outcome.SCHEDULED).order_by("position")
    return entries.exclude(outcome=PlanEntry.Outcome.SCHEDULED).order_by("position")


def conflicts_in_scope(*, user) -> QuerySet[ConflictDeclaration]:
    return (
        conflicts_visible_to(user)
        .select_related("inspector__user", "inspector__department", "enterprise")
        .order_by("-declared_at", "-pk")
    )


def burden(
    *, user, period_from: date, period_to: date, district: District | None = None, scene: Scene | None = None
):
    """Visits per enterprise across all departments, most first: the non-cancelled tasks whose due
    window overlaps the period (a joint task is one visit), and how many of them are done (the
    inspection is submitted). One grouped query over the user's planning scope."""
    tasks = InspectionTask.objects.filter(
        enterprise__in=permissions.plannable_enterprises(user),
        due_from__lte=period_to,
        due_to__gte=period_from,
    ).exclude(status=InspectionTask.Status.CANCELLED)
    if district is not None:
        tasks = tasks.filter(enterprise__district__in=District.objects.filter(path__startswith=district.path))
    if scene is not None:
        tasks = tasks.filter(enterprise__scene=scene)
    return (
        tasks.values("enterprise_id", "enterprise__uscc", "enterprise__name")
        .annotate(
            # distinct: the join on the joint departments repeats a joint task once per department.
            visits=Count("pk", distinct=True),
            done=Count("pk", filter=Q(status=InspectionTask.Status.DONE), distinct=True),
            joint=Count("pk", filter=Q(departments__isnull=False), distinct=True),
        )
        .order_by("-visits", "enterprise_id")
    )


def burden_departments(*, rows: list[dict], period_from: date, period_to: date) -> list[dict]:
    """The page's rows with the departments involved (lead and joint), in three small queries."""
    ids = [row["enterprise_id"] for row in rows]
    tasks = InspectionTask.objects.filter(
        enterprise_id__in=ids, due_from__lte=period_to, due_to__gte=period_from
    ).exclude(status=InspectionTask.Status.CANCELLED)
    involved: dict[int, set[int]] = defaultdict(set)
    for enterprise_id, department_id in tasks.values_list("enterprise_id", "department_id"):
        involved[enterprise_id].add(department_id)
    for enterprise_id, department_id in InspectionTask.departments.through.objects.filter(
        inspectiontask__in=tasks
    ).values_list("inspectiontask__enterprise_id", "department_id"):
        involved[enterprise_id].add(department_id)
    departments = Department.objects.in_bulk({pk for ids in involved.values() for pk in ids})
    return [
        {
            **row,
            "departments": sorted(departments[pk].display_name for pk in involved[row["enterprise_id"]]),
        }
        for row in rows
    ]


def plan_outcomes(*, plan: RiskPlan) -> dict[str, int]:
    """Entries per outcome: one grouped query."""
    counts = dict.fromkeys(PlanEntry.Outcome.values, 0)
    for row in plan.entries.values("outcome").annotate(n=Count("pk")).order_by():
        counts[row["outcome"]] = row["n"]
    return counts


def burden_filters(*, district: str | None, scene: str | None) -> tuple[District | None, Scene | None]:
    """The burden view's district and scene codes; an unknown one is an error, never an empty list."""
    district_obj = scene_obj = None
    if district and district.strip():
        district_obj = District.objects.filter(code=district.strip()).first()
        if district_obj is None:
            raise refuse(_("Unknown district code %(code)s.") % {"code": district}, "unknown_district")
    if scene and scene.strip():
        scene_obj = Scene.objects.filter(code=scene.strip()).first()
        if scene_obj is None:
            raise refuse(_("Unknown scene %(code)s.") % {"code": scene}, "unknown_scene")
    return district_obj, scene_obj
