"""Who sees which tasks, inspection records and rectification orders, and which items of a record."""

from django.db.models import Q

from core.models import Enterprise
from core.permissions import official_scope_q, regulator_q, roles_of
from supervision.models import Inspection, InspectionTask, RectificationOrder


def tasks_visible_to(user):
    """Planned visits are not shown to businesses (an announced random inspection is no inspection).
    Inspectors see the tasks they are assigned to; regulators the tasks in their scope."""
    roles = roles_of(user)
    if roles.is_admin:
        return InspectionTask.objects.all()
    q = Q(pk__in=[])
    if roles.inspector:
        q |= Q(pk__in=InspectionTask.objects.filter(inspectors=roles.inspector).values("pk"))
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(regulator_q(roles.regulator)))
    return InspectionTask.objects.filter(q)


def inspections_visible_to(user):
    """Drafts: the assigned inspectors. Submitted records: the business itself and officials in scope."""
    roles = roles_of(user)
    if roles.is_admin:
        return Inspection.objects.all()
    q = Q(status=Inspection.Status.SUBMITTED, enterprise_id__in=roles.enterprise_ids)
    scope = official_scope_q(roles)
    if scope is not None:
        q |= Q(status=Inspection.Status.SUBMITTED, enterprise__in=Enterprise.objects.filter(scope))
    if roles.inspector:
        q |= Q(task__inspectors=roles.inspector)
    return Inspection.objects.filter(pk__in=Inspection.objects.filter(q).values("pk"))


def orders_visible_to(user):
    roles = roles_of(user)
    if roles.is_admin:
        return RectificationOrder.objects.all()
    q = Q(enterprise_id__in=roles.enterprise_ids)
    scope = official_scope_q(roles)
    if scope is not None:
        q |= Q(enterprise__in=Enterprise.objects.filter(scope))
    return RectificationOrder.objects.filter(q)


def inspection_departments_visible(user, inspection) -> set[int] | None:
    """Whose checklist items of an inspection record a user sees (each department sees the results
    of its own items): None for every item — admins, regulators without a department, the
    record's business and its assigned inspectors; a department's regulators and other inspectors
    see their department's items only."""
    roles = roles_of(user)
    if roles.is_admin or inspection.enterprise_id in roles.enterprise_ids:
        return None
    if roles.regulator is not None and roles.regulator.department_id is None:
        return None
    if (
        roles.inspector is not None
        and InspectionTask.inspectors.through.objects.filter(
            inspectiontask_id=inspection.task_id, inspector_id=roles.inspector.pk
        ).exists()
    ):
        return None
    departments = set()
    if roles.regulator is not None:
        departments.add(roles.regulator.department_id)
    if roles.inspector is not None:
        departments.add(roles.inspector.department_id)
    return departments
