"""What the inspection loop's API reads and answers (``...In`` / ``...Out``)."""

import uuid
from datetime import date, datetime

from ninja import Field, Schema

from core.api_schemas import IsoDate, IsoDateTime, RowId
from core.names import person_name
from supervision.models import Inspection, InspectionTask, RectificationOrder, Result, Signature


class InspectorOut(Schema):
    id: int
    name: str
    certificate_no: str
    department: str

    @staticmethod
    def resolve_name(obj) -> str:
        return person_name(obj.user)

    @staticmethod
    def resolve_department(obj) -> str:
        return obj.department.code


class EnterpriseResolvers(Schema):
    """A row's enterprise as the API names it: ``enterprise`` (its credit code) and ``enterprise_name``.
    Resolvers only: a schema that uses them declares the two fields itself, where its order puts them."""

    @staticmethod
    def resolve_enterprise(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_enterprise_name(obj) -> str:
        return obj.enterprise.name


class TaskOut(EnterpriseResolvers):
    id: int
    enterprise: str
    enterprise_name: str
    address: str
    source: InspectionTask.Source
    status: InspectionTask.Status
    due_from: date
    due_to: date
    note: str
    origin: str = Field(
        description="Why the task exists (its complaint, the order it re-inspects, the plan or draw), "
        "in the request's language; empty for a task planned by hand."
    )
    inspectors: list[InspectorOut]
    inspection_id: int | None

    @staticmethod
    def resolve_origin(obj) -> str:
        return obj.origin_text()

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
        # selectors.order_sheet prefetches the entries the viewer may see (the department walls).
        shown = getattr(obj, "shown_entries", None)
        return shown if shown is not None else list(obj.entries.prefetch_related("photos"))


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


class OrderFilter(Schema):
    enterprise: str | None = Field(None, max_length=18)
    status: RectificationOrder.Status | None = None
    overdue: bool | None = None
