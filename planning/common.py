"""What plans, draws and the burden view share: the error type, the scope and period checks, and
the pool of enterprises a department supervises in an area."""

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.errors import DomainError
from core.models import Department, District, Enterprise, Scene

# A plan or draw covers at most a year: tier intervals and draw ratios are yearly figures.
MAX_PERIOD_DAYS = 366
MAX_INSPECTORS_PER_TASK = 10
# Upper bounds that keep absurd numbers out of the integer columns (and say so in the error).
MAX_CAPACITY = 1_000_000
MAX_TASKS_PER_INSPECTOR = 10_000


class PlanningError(DomainError):
    """A refused plan, draw or declaration; ``code`` names the rule."""

    status = 422


def refuse(message: str, code: str, status: int = 422, details=None) -> PlanningError:
    return PlanningError(message, code=code, status=status, details=details)


def forbidden() -> PlanningError:
    return refuse(_("You may not do this."), "forbidden", 403)


@dataclass(frozen=True)
class Area:
    """A planning area: one department's enterprises, optionally within a district subtree."""

    department: Department
    district: District | None


def area_resolve(*, actor, department: str | None, district: str | None) -> Area:
    """The department and district a form or API call names, checked against the actor's scope.

    A department regulator plans for their own department (naming none means it); a district
    regulator within their district (naming none means all of it)."""
    scope = permissions.planning_scope(actor)
    if scope is None:
        raise forbidden()
    code = (department or "").strip()
    if not code:
        if scope.department is None:
            raise refuse(_("Choose a department."), "department_required")
        department_obj = scope.department
    else:
        department_obj = Department.objects.filter(code=code).first()
        if department_obj is None:
            raise refuse(_("Unknown department %(code)s.") % {"code": code}, "unknown_department")
    district_code = (district or "").strip()
    if district_code:
        district_obj = District.objects.filter(code=district_code).first()
        if district_obj is None:
            raise refuse(_("Unknown district code %(code)s.") % {"code": district_code}, "unknown_district")
    else:
        district_obj = scope.district
    area = Area(department_obj, district_obj)
    area_check(actor=actor, area=area)
    return area


def area_check(*, actor, area: Area) -> None:
    scope = permissions.planning_scope(actor)
    if scope is None:
        raise forbidden()
    if not scope.allows(department=area.department, district=area.district):
        raise refuse(_("This department or district is outside your remit."), "out_of_scope", 403)


def period_check(*, period_from: date, period_to: date) -> None:
    if period_to < period_from:
        raise refuse(_("The period ends before it starts."), "invalid_period")
    if period_to < timezone.localdate():
        raise refuse(_("The period is in the past."), "period_in_past")
    if (period_to - period_from).days + 1 > MAX_PERIOD_DAYS:
        raise refuse(_("A period is at most %(n)d days.") % {"n": MAX_PERIOD_DAYS}, "period_too_long")


def team_size_check(inspectors_per_task: int) -> None:
    if not isinstance(inspectors_per_task, int) or not 2 <= inspectors_per_task <= MAX_INSPECTORS_PER_TASK:
        raise refuse(
            _("A task needs between 2 and %(n)d inspectors.") % {"n": MAX_INSPECTORS_PER_TASK},
            "invalid_team_size",
        )


def max_tasks_check(max_tasks: int | None, *, optional: bool = False) -> None:
    if max_tasks is None and optional:
        return
    if not isinstance(max_tasks, int) or not 1 <= max_tasks <= MAX_TASKS_PER_INSPECTOR:
        raise refuse(
            _("The most tasks per inspector is between 1 and %(n)d.") % {"n": MAX_TASKS_PER_INSPECTOR},
            "invalid_max_tasks",
        )


def scene_resolve(*, area: Area, scene: str | None) -> Scene | None:
    code = (scene or "").strip()
    if not code:
        return None
    scene_obj = Scene.objects.filter(code=code, departments=area.department).first()
    if scene_obj is None:
        raise refuse(
            _("%(department)s does not supervise a scene %(code)s.")
            % {"department": area.department, "code": code},
            "scene_not_supervised",
        )
    return scene_obj


def area_enterprises(*, area: Area, scene: Scene | None = None) -> QuerySet[Enterprise]:
    """Licensed enterprises of the department's scenes in the area: what it inspects there.

    Only this and the recorded filters decide a pool (not the actor's role, which may change),
    so a draw's pool can be derived again later; area_check keeps it inside the actor's scope."""
    qs = Enterprise.objects.filter(
        Enterprise.visitable_q(), scene__in=Scene.objects.filter(departments=area.department)
    )
    if area.district is not None:
        qs = qs.filter(district__in=District.objects.filter(path__startswith=area.district.path))
    if scene is not None:
        qs = qs.filter(scene=scene)
    return qs
