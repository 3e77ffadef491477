"""Rectification orders: listing, the business's rectification (multipart), verification,
re-inspection, escalation, and the order's PDF."""

from django.http import FileResponse
from django.utils import timezone
from ninja import Form, Query, Router, Status
from ninja.pagination import paginate

from core import selectors as core_selectors
from core.api_schemas import ErrorOut, file_response
from core.pagination import NoCountPagination
from supervision.inspections import selectors
from supervision.inspections import services as workflow
from supervision.inspections.api._common import ERRORS, _inspectors, _order, _order_out
from supervision.inspections.api.schemas import (
    OrderFilter,
    OrderOut,
    ReasonIn,
    ReinspectIn,
    TaskOut,
    VerifyIn,
)
from supervision.inspections.permissions import orders_visible_to

router = Router()


@router.get("/orders", response={200: list[OrderOut], 404: ErrorOut})
@paginate(NoCountPagination)
def list_orders(request, filters: Query[OrderFilter]):
    qs = orders_visible_to(request.user).select_related("enterprise", "inspection")
    if filters.enterprise:
        qs = qs.filter(enterprise=core_selectors.enterprise_get(user=request.user, uscc=filters.enterprise))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.overdue is not None:
        overdue = selectors.overdue_q(now=timezone.now())
        qs = qs.filter(overdue) if filters.overdue else qs.exclude(overdue)
    return [_order_out(order, viewer=request.user) for order in qs.order_by("deadline", "pk")[:1000]]


@router.get("/orders/{order_id}", response={200: OrderOut, 404: ErrorOut})
def get_order(request, order_id: int):
    return _order_out(_order(request, order_id), viewer=request.user)


@router.post("/orders/{order_id}/rectification", response={201: OrderOut, **ERRORS})
def submit_rectification(request, order_id: int, note: Form[str] = ""):
    """Multipart: ``note``; per finding a field ``text_<finding id>`` and files ``photos_<finding id>``."""
    order = _order(request, order_id)
    entries = {}
    for finding in order.findings.all():
        entries[finding.pk] = {
            "text": request.POST.get(f"text_{finding.pk}", ""),
            "photos": request.FILES.getlist(f"photos_{finding.pk}"),
        }
    workflow.rectification_submit(order=order, actor=request.user, note=note, entries=entries)
    return Status(201, _order_out(_order(request, order_id), viewer=request.user))


@router.post("/orders/{order_id}/verify", response={200: OrderOut, **ERRORS})
def verify_order(request, order_id: int, payload: VerifyIn):
    order = workflow.order_verify(order=_order(request, order_id), actor=request.user, **payload.dict())
    return _order_out(order, viewer=request.user)


@router.post("/orders/{order_id}/reinspection", response={201: TaskOut, **ERRORS})
def reinspect_order(request, order_id: int, payload: ReinspectIn):
    task = workflow.order_reinspect(
        order=_order(request, order_id),
        actor=request.user,
        inspectors=_inspectors(payload.inspectors),
        due_from=payload.due_from,
        due_to=payload.due_to,
    )
    return Status(201, task)


@router.post("/orders/{order_id}/escalate", response={200: OrderOut, **ERRORS})
def escalate_order(request, order_id: int, payload: ReasonIn):
    order = workflow.order_escalate(order=_order(request, order_id), actor=request.user, note=payload.reason)
    return _order_out(order, viewer=request.user)


@router.get(
    "/orders/{order_id}/notice.pdf",
    url_name="order_notice_pdf",
    response={200: None, **ERRORS},
    openapi_extra=file_response("application/pdf"),
)
def order_notice_pdf(request, order_id: int):
    # The stored notice; for an official who may not see every finding, the stored extract of the
    # findings of their departments (documents.document_for_viewer).
    from supervision.inspections.documents import document_for_viewer

    order = _order(request, order_id)
    document = document_for_viewer(
        inspection=order.inspection, kind="rectification_order", viewer=request.user
    )
    return FileResponse(
        document.file.open("rb"), content_type="application/pdf", filename=f"{document.public_id}.pdf"
    )
