"""Planning a visit and calling it off. A re-inspection task is planned through
supervision.inspections.services.orders.order_reinspect."""

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record
from core.models import Enterprise, Inspector
from supervision.inspections.permissions import staffing_departments
from supervision.inspections.services._common import MIN_INSPECTORS, NOTE_MAX, _forbidden, _refuse
from supervision.inspections.signals import task_assigned, task_cancelled
from supervision.models import Inspection, InspectionTask, RectificationOrder


@transaction.atomic
def task_create(
    *,
    actor,
    enterprise: Enterprise,
    inspectors: Sequence[Inspector],
    due_from: date,
    due_to: date,
    source: str = InspectionTask.Source.MANUAL,
    note: str = "",
    origin_order: RectificationOrder | None = None,
    origin: dict | None = None,
) -> InspectionTask:
    """Plan a visit. Regulators plan; a re-inspection is also planned by the inspector verifying an order."""
    if origin_order is None and not permissions.can_plan_tasks(actor, enterprise):
        raise _forbidden()
    if source not in InspectionTask.Source.values:
        raise _refuse(_("Unknown task source."), "invalid_source", 422)
    if due_to < due_from:
        raise _refuse(_("The due window ends before it starts."), "invalid_window", 422)
    if due_to < timezone.localdate():
        raise _refuse(_("The due window is in the past."), "window_in_past", 422)
    team = list({inspector.pk: inspector for inspector in inspectors}.values())
    if len(team) < MIN_INSPECTORS:
        raise _refuse(_("A task needs at least two inspectors."), "too_few_inspectors", 422)
    # A department regulator plans for their department: its inspectors only (a joint visit is made
    # by merging each department's own tasks, planning.joint).
    allowed = staffing_departments(actor)
    if allowed is not None and (others := [i for i in team if i.department_id not in allowed]):
        raise _refuse(
            _("%(name)s is an inspector of another department; you plan only your department's inspectors.")
            % {"name": others[0]},
            "inspector_other_department",
            403,
            {"inspectors": sorted(inspector.pk for inspector in others)},
        )
    for inspector in team:
        if not inspector.active or not permissions.can_see_enterprise(inspector.user, enterprise):
            raise _refuse(
                _("%(name)s has no jurisdiction over this enterprise.") % {"name": inspector},
                "inspector_out_of_scope",
                422,
            )
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=team[0].department,
        source=source,
        due_from=due_from,
        due_to=due_to,
        note=note.strip()[:NOTE_MAX],
        origin_order=origin_order,
        origin=origin or {},
        created_by=actor,
    )
    task.inspectors.set(team)
    audit_record(
        actor=actor,
        action="task.create",
        target=task,
        data={
            "enterprise": enterprise.uscc,
            "source": source,
            "inspectors": sorted(i.certificate_no for i in team),
            "due": [due_from, due_to],
        },
    )
    task_assigned.send(sender=InspectionTask, task=task, actor=actor)
    return task


@transaction.atomic
def task_cancel(*, task: InspectionTask, actor, reason: str) -> InspectionTask:
    task = InspectionTask.objects.select_for_update().get(pk=task.pk)
    if not permissions.can_plan_tasks(actor, task.enterprise):
        raise _forbidden()
    if not reason.strip():
        raise _refuse(_("Say why the task is cancelled."), "reason_required", 422)
    if task.status not in (InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS):
        raise _refuse(_("Only a planned or running task can be cancelled."), "not_cancellable")
    if Inspection.objects.filter(task=task, status=Inspection.Status.SUBMITTED).exists():
        raise _refuse(_("The inspection of this task is already submitted."), "not_cancellable")
    task.status = InspectionTask.Status.CANCELLED
    task.cancelled_at, task.cancelled_by, task.cancel_reason = timezone.now(), actor, reason.strip()[:300]
    task.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    audit_record(actor=actor, action="task.cancel", target=task, data={"reason": task.cancel_reason})
    task_cancelled.send(sender=InspectionTask, task=task, actor=actor)
    return task
