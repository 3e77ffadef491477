"""The inspection loop through the API, enough for a tablet client without the HTML pages:
tasks, the on-site record (autosave, photos, signatures, idempotent submit), orders,
rectifications, verification, re-inspection, escalation, evaluation, documents."""

import base64
import binascii
import uuid
from datetime import date, datetime

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from core import selectors as core_selectors
from core.api_schemas import ErrorOut, IsoDate, IsoDateTime, RowId, file_response
from core.errors import DomainError
from core.models import Inspector
from core.pagination import NoCountPagination
from supervision.inspections import selectors
from supervision.inspections import services as workflow
from supervision.inspections.permissions import inspections_visible_to, orders_visible_to, tasks_visible_to
from supervision.models import (
    Inspection,
    InspectionTask,
    RectificationOrder,
    Result,
    Signature,
)

router = Router(tags=["inspections"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- schemas ------------------------------------------------------------------


class InspectorOut(Schema):
    id: int
    name: str
    certificate_no: str
    department: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.user.get_full_name() or obj.user.username

    @staticmethod
    def resolve_department(obj) -> str:
        return obj.department.code


class TaskOut(Schema):
    id: int
    enterprise: str
    enterprise_name: str
    address: str
    source: InspectionTask.Source
    status: InspectionTask.Status
    due_from: date
    due_to: date
    note: str
    inspectors: list[InspectorOut]
    inspection_id: int | None

    @staticmethod
    def resolve_enterprise(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_enterprise_name(obj) -> str:
        return obj.enterprise.name

    @staticmethod
    def resolve_address(obj) -> str:
        return obj.enterprise.address

    @staticmethod
    def resolve_inspectors(obj):
        return list(obj.inspectors.select_related("user", "department"))

    @staticmethod
    def resolve_inspection_id(obj) -> int | None:
        inspection = getattr(obj, "inspection", None) if hasattr(obj, "inspection") else None
        return inspection.pk if inspection else None


class TaskIn(Schema):
    enterprise: str = Field(..., max_length=18, description="USCC")
    inspectors: list[RowId] = Field(..., min_length=2, max_length=10, description="Inspector ids")
    due_from: IsoDate
    due_to: IsoDate
    source: InspectionTask.Source = InspectionTask.Source.MANUAL
    note: str = Field("", max_length=2000)


class TaskFilter(Schema):
    status: InspectionTask.Status | None = None
    on: IsoDate | None = Field(None, description="tasks whose due window includes this day (default: all)")


class ReasonIn(Schema):
    reason: str = Field(..., max_length=300)


class AnswerOut(Schema):
    item_id: int
    result: Result
    note: str
    photos: list[str]

    @staticmethod
    def resolve_photos(obj) -> list[str]:
        # workflow.inspection_answer says so when it knows them without a query (a new answer: none).
        known = getattr(obj, "photo_hashes", None)
        return known if known is not None else [photo.sha256 for photo in obj.photos.all()]


class ItemOut(Schema):
    id: int
    code: str
    department: str
    question: str
    legal_basis: str
    severity: str
    method: str
    required_action: str
    clause: str | None
    answer: AnswerOut | None


class SignatureOut(Schema):
    role: Signature.Role
    inspector_id: int | None
    sha256: str
    signed_at: datetime


class InspectionOut(Schema):
    id: int
    task_id: int
    enterprise: str
    status: Inspection.Status
    started_at: datetime
    updated_at: datetime
    note: str
    representative_name: str
    representative_refused: bool
    refusal_note: str
    conclusion: str
    rectify_deadline: datetime | None
    submitted_at: datetime | None
    content_hash: str
    answered: int
    total: int
    items: list[ItemOut]
    signatures: list[SignatureOut]
    order: str | None


class AnswerIn(Schema):
    result: Result | None = None
    note: str | None = Field(None, max_length=2000)


class InspectionUpdateIn(Schema):
    note: str | None = Field(None, max_length=4000)
    representative_name: str | None = Field(None, max_length=100)


class SignatureIn(Schema):
    role: Signature.Role
    inspector_id: int | None = None
    png_base64: str = Field(
        ..., max_length=800_000, description="the drawing as PNG, base64 (a data: URI is fine)"
    )


class RefusalIn(Schema):
    note: str = Field(..., max_length=500)


class SubmitIn(Schema):
    submission_id: uuid.UUID = Field(
        ..., description="the client's own id: a retry with it returns the same record"
    )
    conclusion: Inspection.Conclusion
    rectify_deadline: IsoDateTime | None = None


class FindingOut(Schema):
    id: int
    item_code: str
    question: str
    legal_basis: str
    severity: str
    required_action: str


class RectificationEntryOut(Schema):
    finding_id: int
    text: str
    photos: list[str]

    @staticmethod
    def resolve_photos(obj) -> list[str]:
        return [photo.sha256 for photo in obj.photos.all()]


class RectificationOut(Schema):
    id: int
    status: str
    note: str
    submitted_at: datetime
    review_note: str
    entries: list[RectificationEntryOut]

    @staticmethod
    def resolve_entries(obj):
        return list(obj.entries.prefetch_related("photos"))


class OrderOut(Schema):
    id: int
    number: str
    enterprise: str
    enterprise_name: str
    inspection_id: int
    status: RectificationOrder.Status
    deadline: datetime
    overdue: bool
    issued_at: datetime
    closed_at: datetime | None
    findings: list[FindingOut]
    rectifications: list[RectificationOut]


class VerifyIn(Schema):
    accepted: bool
    note: str = Field("", max_length=2000)


class ReinspectIn(Schema):
    inspectors: list[RowId] = Field(..., min_length=2, max_length=10)
    due_from: IsoDate
    due_to: IsoDate


class EvaluationIn(Schema):
    rating: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=1000)


class EvaluationOut(Schema):
    rating: int
    comment: str
    created_at: datetime


# --- helpers ------------------------------------------------------------------


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
    return get_object_or_404(orders_visible_to(request.user).select_related("enterprise"), pk=order_id)


def _inspection_out(inspection: Inspection) -> dict:
    return selectors.inspection_sheet(inspection=inspection)


def _order_out(order: RectificationOrder) -> dict:
    return selectors.order_sheet(order=order)


# --- tasks ------------------------------------------------------------------


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
    qs = tasks_visible_to(request.user).select_related("enterprise", "inspection")
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


# --- the on-site record ------------------------------------------------------------------


@router.get("/inspections/{inspection_id}", response={200: InspectionOut, 404: ErrorOut})
def get_inspection(request, inspection_id: int):
    # A department's officials get the results of their own department's items (planning, joint tasks).
    return selectors.inspection_sheet(inspection=_inspection(request, inspection_id), viewer=request.user)


@router.patch("/inspections/{inspection_id}", response={200: InspectionOut, **ERRORS})
def update_inspection(request, inspection_id: int, payload: InspectionUpdateIn):
    inspection = workflow.inspection_update(
        inspection=_inspection(request, inspection_id), actor=request.user, **payload.dict()
    )
    return _inspection_out(inspection)


@router.put("/inspections/{inspection_id}/answers/{item_id}", response={200: AnswerOut, **ERRORS})
def answer_item(request, inspection_id: int, item_id: int, payload: AnswerIn):
    # The permission filter goes into the workflow's locking read: one query, not a read then a lock.
    return workflow.inspection_answer(
        inspection=Inspection(pk=inspection_id),
        visible=inspections_visible_to(request.user),
        actor=request.user,
        item_id=item_id,
        **payload.dict(),
    )


@router.post("/inspections/{inspection_id}/answers/{item_id}/photos", response={200: AnswerOut, **ERRORS})
def add_answer_photo(request, inspection_id: int, item_id: int, photo: File[UploadedFile]):
    return workflow.inspection_answer(
        inspection=_inspection(request, inspection_id), actor=request.user, item_id=item_id, photos=[photo]
    )


@router.post("/inspections/{inspection_id}/signatures", response={201: SignatureOut, **ERRORS})
def sign_inspection(request, inspection_id: int, payload: SignatureIn):
    raw = (
        payload.png_base64.split(",", 1)[-1] if payload.png_base64.startswith("data:") else payload.png_base64
    )
    try:
        image = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(
            _("The signature is not valid base64."), code="invalid_signature", status=422
        ) from None
    inspector = get_object_or_404(Inspector, pk=payload.inspector_id) if payload.inspector_id else None
    signature = workflow.inspection_sign(
        inspection=_inspection(request, inspection_id),
        actor=request.user,
        role=payload.role,
        image=image,
        inspector=inspector,
    )
    return Status(201, signature)


@router.post("/inspections/{inspection_id}/refusal", response={200: InspectionOut, **ERRORS})
def record_refusal(request, inspection_id: int, payload: RefusalIn):
    inspection = workflow.inspection_record_refusal(
        inspection=_inspection(request, inspection_id), actor=request.user, note=payload.note
    )
    return _inspection_out(inspection)


@router.post("/inspections/{inspection_id}/submit", response={200: InspectionOut, **ERRORS})
def submit_inspection(request, inspection_id: int, payload: SubmitIn):
    inspection = workflow.inspection_submit(
        inspection=_inspection(request, inspection_id), actor=request.user, **payload.dict()
    )
    return _inspection_out(inspection)


@router.get(
    "/inspections/{inspection_id}/record.pdf",
    url_name="inspection_record_pdf",
    response={200: None, **ERRORS},
    openapi_extra=file_response("application/pdf"),
)
def inspection_record_pdf(request, inspection_id: int):
    from supervision.inspections.documents import document_for

    document = document_for(inspection=_inspection(request, inspection_id), kind="inspection_record")
    return FileResponse(
        document.file.open("rb"), content_type="application/pdf", filename=f"{document.public_id}.pdf"
    )


@router.post("/inspections/{inspection_id}/evaluation", response={201: EvaluationOut, **ERRORS})
def evaluate_inspection(request, inspection_id: int, payload: EvaluationIn):
    evaluation = workflow.evaluation_submit(
        inspection=_inspection(request, inspection_id), actor=request.user, **payload.dict()
    )
    return Status(201, evaluation)


# --- orders ------------------------------------------------------------------


class OrderFilter(Schema):
    enterprise: str | None = Field(None, max_length=18)
    status: RectificationOrder.Status | None = None
    overdue: bool | None = None


@router.get("/orders", response={200: list[OrderOut], 404: ErrorOut})
@paginate(NoCountPagination)
def list_orders(request, filters: Query[OrderFilter]):
    qs = orders_visible_to(request.user).select_related("enterprise")
    if filters.enterprise:
        qs = qs.filter(enterprise=core_selectors.enterprise_get(user=request.user, uscc=filters.enterprise))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.overdue is not None:
        overdue = selectors.overdue_q(now=timezone.now())
        qs = qs.filter(overdue) if filters.overdue else qs.exclude(overdue)
    return [_order_out(order) for order in qs.order_by("deadline", "pk")[:1000]]


@router.get("/orders/{order_id}", response={200: OrderOut, 404: ErrorOut})
def get_order(request, order_id: int):
    return _order_out(_order(request, order_id))


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
    return Status(201, _order_out(_order(request, order_id)))


@router.post("/orders/{order_id}/verify", response={200: OrderOut, **ERRORS})
def verify_order(request, order_id: int, payload: VerifyIn):
    order = workflow.order_verify(order=_order(request, order_id), actor=request.user, **payload.dict())
    return _order_out(order)


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
    return _order_out(order)


@router.get(
    "/orders/{order_id}/notice.pdf",
    url_name="order_notice_pdf",
    response={200: None, **ERRORS},
    openapi_extra=file_response("application/pdf"),
)
def order_notice_pdf(request, order_id: int):
    from supervision.inspections.documents import document_for

    order = _order(request, order_id)
    document = document_for(inspection=order.inspection, kind="rectification_order")
    return FileResponse(
        document.file.open("rb"), content_type="application/pdf", filename=f"{document.public_id}.pdf"
    )
