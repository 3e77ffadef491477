"""Tasks: planning, listing, cancelling, and starting the on-site record of one."""

from ninja import Query, Router, Status
from ninja.pagination import paginate

from core import selectors as core_selectors
from core.api_schemas import ErrorOut
from core.pagination import NoCountPagination
from supervision.inspections import services as workflow
from supervision.inspections.api._common import ERRORS, _inspection_out, _inspectors, _task
from supervision.inspections.api.schemas import InspectionOut, ReasonIn, TaskFilter, TaskIn, TaskOut
from supervision.inspections.permissions import tasks_visible_to
from supervision.models import Inspection

router = Router()


@router.post("/tasks", response={201: TaskOut, **ERRORS})
def create_task(request, payload: TaskIn):
    enterprise = core_selectors.enterprise_get(user=request.user, uscc=payload.enterprise)
    task = workflow.task_create(
        actor=request.user,
        enterprise=enterprise,
        inspectors=_inspectors(payload.inspectors),
        due_from=payload.due_from,
        due_to=payload.due_to,
        source=payload.source,
        note=payload.note,
    )
    return Status(201, task)


@router.get("/tasks", response=list[TaskOut])
@paginate(NoCountPagination)
def list_tasks(request, filters: Query[TaskFilter]):
    """The caller's tasks (inspectors: assigned to them; regulators: in their scope), earliest due first."""
    qs = tasks_visible_to(request.user).select_related(
        "enterprise", "inspection", "complaint", "origin_order"
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.on:
        qs = qs.filter(due_from__lte=filters.on, due_to__gte=filters.on)
    return qs.order_by("due_to", "pk")


@router.get("/tasks/{task_id}", response={200: TaskOut, 404: ErrorOut})
def get_task(request, task_id: int):
    return _task(request, task_id)


@router.post("/tasks/{task_id}/cancel", response={200: TaskOut, **ERRORS})
def cancel_task(request, task_id: int, payload: ReasonIn):
    return workflow.task_cancel(task=_task(request, task_id), actor=request.user, reason=payload.reason)


@router.post("/tasks/{task_id}/inspection", response={200: InspectionOut, 201: InspectionOut, **ERRORS})
def start_inspection(request, task_id: int):
    """Start the on-site record (snapshots the checklist); calling it again resumes the same record."""
    task = _task(request, task_id)
    existed = Inspection.objects.filter(task=task).exists()
    inspection = workflow.inspection_start(task=task, actor=request.user)
    return Status(200 if existed else 201, _inspection_out(inspection))
