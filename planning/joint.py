"""Joint inspections (进一次门、查多项事): one visit for several departments.

When a plan or draw is confirmed, each task it creates is merged with the other departments'
planned tasks for the same enterprise whose due windows overlap, into ONE joint task:

- the new task survives (its source — risk or random — stays, so the plan or draw still points
  at it); its ``departments`` lists every department involved, the lead included;
- its inspectors are all the merged tasks' inspectors (each task had at least two of its own
  department, so every department keeps at least one);
- its due window is the intersection of the merged windows: every department's deadline holds.
  Candidates are taken earliest deadline first while the intersection stays non-empty; one that
  would empty it stays a visit of its own;
- the other tasks are cancelled through supervision.inspections.services.task_cancel, with a reason naming
  the joint task (audited there), and the merge itself is audited as ``task.join``.

Only planned tasks with a window still open are merged, and never a complaint's task or a
re-inspection of an order: those answer one specific question and keep their own record.
Tasks of the same department alone are not merged (that is a double booking to cancel by hand,
not a joint inspection).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.models import Inspector
from supervision.inspections import services as workflow
from supervision.inspections.signals import task_moved
from supervision.models import InspectionTask


def task_departments(task: InspectionTask) -> set[int]:
    """The departments whose items a task checks: a joint task's list, else its own department."""
    return {task.department_id, *task.departments.values_list("pk", flat=True)}


@transaction.atomic
def task_merge_joint(*, task: InspectionTask, actor) -> InspectionTask:
    """Merge the other departments' overlapping planned tasks into ``task``; returns it (joint or not)."""
    task = InspectionTask.objects.select_for_update().get(pk=task.pk)
    today = timezone.localdate()
    candidates = list(
        InspectionTask.objects.select_for_update()
        .filter(
            enterprise_id=task.enterprise_id,
            status=InspectionTask.Status.PLANNED,
            complaint__isnull=True,
            origin_order__isnull=True,
            due_from__lte=task.due_to,
            due_to__gte=max(task.due_from, today),
        )
        .exclude(pk=task.pk)
        .order_by("due_to", "pk")
    )
    departments = task_departments(task)
    window = (task.due_from, task.due_to)
    merged: list[InspectionTask] = []
    for candidate in candidates:
        start, end = max(window[0], candidate.due_from), min(window[1], candidate.due_to)
        if start > end:
            continue
        merged.append(candidate)
        window = (start, end)
        departments |= task_departments(candidate)
    if len(departments) < 2:
        return task
    task.due_from, task.due_to = window
    task.save(update_fields=["due_from", "due_to"])
    task.departments.set(sorted(departments))
    for candidate in merged:
        task.inspectors.add(*candidate.inspectors.all())
        workflow.task_cancel(
            task=candidate,
            actor=actor,
            reason=_("Merged into joint task #%(id)d.") % {"id": task.pk},
        )
    audit_record(
        actor=actor,
        action="task.join",
        target=task,
        data={
            "merged": sorted(candidate.pk for candidate in merged),
            "departments": sorted(task.departments.values_list("code", flat=True)),
            "inspectors": sorted(task.inspectors.values_list("certificate_no", flat=True)),
            "due": [task.due_from, task.due_to],
        },
    )
    task_moved.send(sender=InspectionTask, task=task, actor=actor)
    return task


def tasks_create_joined(*, entries, actor, period_from, period_to, source: str, origin: dict):
    """The tasks of a confirmed plan or draw: one per entry (its enterprise and recorded
    inspectors), each linked back to its entry, then merged with other departments' overlapping
    tasks. Returns (tasks, ids of the tasks that became joint)."""
    inspectors = Inspector.objects.select_related("user", "department").in_bulk(
        {i for entry in entries for i in entry.inspector_ids}
    )
    tasks = []
    for entry in entries:
        task = workflow.task_create(
            actor=actor,
            enterprise=entry.enterprise,
            inspectors=[inspectors[i] for i in entry.inspector_ids if i in inspectors],
            due_from=period_from,
            due_to=period_to,
            source=source,
            origin=origin,
        )
        type(entry).objects.filter(pk=entry.pk).update(task=task)
        tasks.append(task)
    joint_ids = [
        task.pk for task in tasks if len(task_departments(task_merge_joint(task=task, actor=actor))) > 1
    ]
    return tasks, joint_ids
