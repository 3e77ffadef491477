"""Co-governance through the API: the complaints an official sees, and the regulators' triage
(dismiss, merge as a duplicate, send inspectors). The reporter's contact is given in full only to
those who triage the complaint, masked to everyone else (supervision.complaints.selectors)."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from core.api_schemas import ErrorOut, RowId
from core.errors import DomainError
from core.models import Complaint, Inspector
from core.pagination import NoCountPagination, Page
from supervision.complaints import selectors
from supervision.complaints import services as triage
from supervision.complaints.permissions import complaints_visible_to
from supervision.inspections.api import TaskOut

router = Router(tags=["complaints"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ComplaintOut(Schema):
    id: int
    enterprise: str = Field(..., alias="enterprise.uscc", description="USCC")
    enterprise_name: str = Field(..., alias="enterprise.name")
    district: str = Field(
        ..., alias="enterprise.district.code", description="division code of the enterprise's district"
    )
    text: str
    contact: str = Field(..., description="in full for those who triage the complaint, else masked")
    has_photo: bool
    status: Complaint.Status
    created_at: datetime
    triaged_at: datetime | None
    triage_note: str
    duplicate_of: int | None
    flood: int | None = Field(
        ..., description="the possible flood of reports about the enterprise it was received in, or null"
    )
    tasks: list[int]

    @staticmethod
    def resolve_contact(obj) -> str:
        return obj.contact_shown

    @staticmethod
    def resolve_has_photo(obj) -> bool:
        return obj.photo_id is not None

    @staticmethod
    def resolve_duplicate_of(obj) -> int | None:
        return obj.duplicate_of_id

    @staticmethod
    def resolve_flood(obj) -> int | None:
        return obj.flood_id

    @staticmethod
    def resolve_tasks(obj) -> list[int]:
        return [task.pk for task in obj.tasks.all()]


class ComplaintPage(Schema):
    items: list[ComplaintOut]
    page: int
    page_size: int
    has_next: bool


class ComplaintFilter(Schema):
    status: Complaint.Status | None = None
    district: str | None = Field(None, max_length=12, description="division code: that district and below")
    enterprise: str | None = Field(None, max_length=18, description="USCC")


class DismissIn(Schema):
    reason: str = Field("", max_length=500)


class MergeIn(Schema):
    into: int = Field(..., description="the earlier complaint about the same enterprise", ge=1)


class ComplaintTaskIn(Schema):
    inspectors: list[RowId] = Field(..., max_length=10, description="Inspector ids (at least two)")
    due_from: date
    due_to: date
    department: str = Field("", max_length=40, description="leading department's code (default: see docs)")
    note: str = Field("", max_length=1000)


def _complaint(request, complaint_id: int) -> Complaint:
    return get_object_or_404(
        complaints_visible_to(request.user).select_related("enterprise__district"),
        pk=complaint_id,
    )


def _out(request, complaint: Complaint) -> Complaint:
    # Re-read: the triage changed the row; the contact is revealed (or masked) for this caller.
    complaint = _complaint(request, complaint.pk)
    return selectors.complaints_reveal(user=request.user, complaints=[complaint])[0]


@router.get("/complaints", response={200: ComplaintPage, 400: ErrorOut})
def list_complaints(request, filters: Query[ComplaintFilter], pagination: Query[NoCountPagination.Input]):
    """The complaints the caller sees (regulators: their scope; inspectors: those their tasks
    check), newest first."""
    parsed = selectors.complaint_filters_parse(
        status=filters.status, district=filters.district, enterprise=filters.enterprise
    )
    page = Page(
        selectors.complaint_list(user=request.user, filters=parsed).prefetch_related("tasks"),
        page=pagination.page,
        page_size=pagination.page_size,
    )
    selectors.complaints_reveal(user=request.user, complaints=page.items)
    return {"items": page.items, "page": page.number, "page_size": page.page_size, "has_next": page.has_next}


@router.get("/complaints/{complaint_id}", response={200: ComplaintOut, 404: ErrorOut})
def get_complaint(request, complaint_id: int):
    return _out(request, _complaint(request, complaint_id))


@router.post("/complaints/{complaint_id}/dismiss", response={200: ComplaintOut, **ERRORS})
def dismiss_complaint(request, complaint_id: int, payload: DismissIn):
    complaint = _complaint(request, complaint_id)
    triage.complaint_dismiss(complaint=complaint, actor=request.user, reason=payload.reason)
    return _out(request, complaint)


@router.post("/complaints/{complaint_id}/merge", response={200: ComplaintOut, **ERRORS})
def merge_complaint(request, complaint_id: int, payload: MergeIn):
    complaint = _complaint(request, complaint_id)
    # Only a complaint the caller sees can be named; any other id reads as "none chosen" (422).
    into = complaints_visible_to(request.user).filter(pk=payload.into).first()
    triage.complaint_merge(complaint=complaint, actor=request.user, into=into)
    return _out(request, complaint)


@router.post("/complaints/{complaint_id}/task", response={201: TaskOut, **ERRORS})
def task_from_complaint(request, complaint_id: int, payload: ComplaintTaskIn):
    """Plan a complaint-sourced task (two inspectors with jurisdiction, a window not in the past).
    The leading department defaults to the regulator's own when one of the inspectors is from it."""
    complaint = _complaint(request, complaint_id)
    triage.complaint_triage_check(complaint=complaint, actor=request.user)
    found = Inspector.objects.select_related("user", "department").in_bulk(payload.inspectors)
    if len(found) != len(set(payload.inspectors)):
        raise DomainError(_("Unknown inspector."), code="unknown_inspector", status=422)
    task = triage.complaint_to_task(
        complaint=complaint,
        actor=request.user,
        inspectors=[found[pk] for pk in payload.inspectors],
        due_from=payload.due_from,
        due_to=payload.due_to,
        department=payload.department,
        note=payload.note,
    )
    return Status(201, task)
