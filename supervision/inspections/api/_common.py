"""What the loop's handlers share: the error responses they document, and fetching a task,
a record or an order through the caller's permission filter (what one may not see is a 404)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from core.api_schemas import ErrorOut
from core.errors import DomainError
from core.models import Inspector
from supervision.inspections import selectors
from supervision.inspections.permissions import inspections_visible_to, orders_visible_to, tasks_visible_to
from supervision.models import Inspection, InspectionTask, RectificationOrder

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _inspectors(ids: list[int]) -> list[Inspector]:
    found = list(Inspector.objects.select_related("user", "department").filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise DomainError(_("Unknown inspector."), code="unknown_inspector", status=422)
    return found


def _task(request, task_id: int) -> InspectionTask:
    return get_object_or_404(tasks_visible_to(request.user).select_related("enterprise"), pk=task_id)


def _inspection(request, inspection_id: int) -> Inspection:
    return get_object_or_404(
        inspections_visible_to(request.user).select_related("enterprise__scene", "task"),
        pk=inspection_id,
    )


def _order(request, order_id: int) -> RectificationOrder:
    return get_object_or_404(
        orders_visible_to(request.user).select_related("enterprise", "inspection"), pk=order_id
    )


def _inspection_out(inspection: Inspection) -> dict:
    return selectors.inspection_sheet(inspection=inspection)


def _order_out(order: RectificationOrder, *, viewer) -> dict:
    """The order as ``viewer`` may see it: the findings behind their department walls left out."""
    return selectors.order_sheet(order=order, viewer=viewer)
