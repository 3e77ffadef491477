"""Tablets working offline (docs/OFFLINE.md): the day pack, photos uploaded under the tablet's own
ids, and the journal of one inspection done offline, replayed whole. Enough for a native tablet
app to do what the web app at /tablet/ does."""

import uuid
from datetime import date, datetime

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from core import permissions
from core.api_schemas import ErrorOut, IsoDateTime, RowId
from supervision.inspections import services as workflow
from supervision.inspections import tablet
from supervision.inspections.api._common import ERRORS, _inspection
from supervision.inspections.permissions import item_wall, tasks_visible_to
from supervision.models import Inspection, InspectionTask, Result, Signature

router = Router()

DEVICE_TIME = "when the inspector did it, by the tablet's clock (ISO 8601 with a zone, e.g. toISOString())"


# --- the day pack -------------------------------------------------------------------------------------


class PackInspectorOut(Schema):
    id: int
    name: str
    certificate_no: str
    department: str
    department_name: str


class PackLimitsOut(Schema):
    max_photos_per_item: int
    note_max: int
    photo_max_bytes: int


class PackEnterpriseOut(Schema):
    uscc: str
    name: str
    address: str
    scene: str
    scene_name: str
    district: str
    legal_representative: str = Field(description="empty when the inspector may not see it")
    licence_status: str
    licence_status_label: str
    latitude: float | None
    longitude: float | None
    last_self_inspection: datetime | None


class PackAnswerOut(Schema):
    item: int
    result: Result
    note: str
    photos: list[str] = Field(description="SHA-256 of the answer's photos")
    answered_at: datetime
    by: str


class PackRecordOut(Schema):
    id: int
    client_id: uuid.UUID | None
    status: Inspection.Status
    started_at: datetime
    note: str
    representative_name: str
    answers: list[PackAnswerOut]


class PackFindingOut(Schema):
    item_code: str
    question: str
    severity: str
    note: str


class PackOrderOut(Schema):
    number: str
    status: str
    status_label: str
    deadline: datetime
    overdue: bool
    findings: list[PackFindingOut]


class PackPreviousFindingOut(PackFindingOut):
    inspected_on: date


class PackTaskOut(Schema):
    id: int
    status: InspectionTask.Status
    source: InspectionTask.Source
    source_label: str
    due_from: date
    due_to: date
    late: bool
    note: str
    origin: str
    inspectors: list[PackInspectorOut]
    co_inspectors: list[int]
    enterprise: PackEnterpriseOut
    checklists: list[int] = Field(
        description="the checklist versions the record uses: send them back as the journal's checklists"
    )
    items: list[int] = Field(description="the items that apply to the enterprise, in order")
    inspection: PackRecordOut | None = Field(description="the record, if it is started already")
    open_orders: list[PackOrderOut]
    previous_findings: list[PackPreviousFindingOut]


class PackItemOut(Schema):
    id: int
    code: str
    position: int
    department: str
    question: str
    legal_basis: str
    severity: str
    severity_label: str
    method: str
    method_label: str
    required_action: str
    clause: str | None = Field(description="a clause code of the scene's manual (manuals)")


class PackChecklistOut(Schema):
    id: int
    scene: str
    department: str
    department_name: str
    version: int
    title: str
    superseded: bool
    items: list[PackItemOut]


class PackClauseOut(Schema):
    text: str
    legal_basis: str


class DayPackOut(Schema):
    generated_at: datetime
    day_from: date
    day_to: date
    inspector: PackInspectorOut
    limits: PackLimitsOut
    tasks: list[PackTaskOut]
    checklists: list[PackChecklistOut]
    manuals: dict[str, dict[str, PackClauseOut]] = Field(description="scene code -> clause code -> clause")


class DayPackQuery(Schema):
    days: int | None = Field(
        None, ge=0, le=tablet.MAX_DAYS_AHEAD, description="days ahead (default: TABLET_DAYS_AHEAD)"
    )


@router.get("/daypack", response={200: DayPackOut, 404: ErrorOut})
def get_day_pack(request, query: Query[DayPackQuery]):
    """The day pack: the inspector's open tasks due today (overdue ones included) and in the next
    days, with everything a tablet needs to do them offline. Inspectors only (404 for others)."""
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    return tablet.day_pack(user=request.user, days=query.days)


# --- photos --------------------------------------------------------------------------------------------


class TabletPhotoOut(Schema):
    client_id: uuid.UUID
    sha256: str
    task: int
    item: int
    taken_at: datetime
    received_at: datetime

    @staticmethod
    def resolve_sha256(obj) -> str:
        return obj.photo.sha256

    @staticmethod
    def resolve_task(obj) -> int:
        return obj.task_id

    @staticmethod
    def resolve_item(obj) -> int:
        return obj.item_id


# POST, though idempotent like a PUT: ninja reads multipart files of POST requests only.
@router.post("/inspections/photos/{client_id}", response={200: TabletPhotoOut, 201: TabletPhotoOut, **ERRORS})
def put_tablet_photo(
    request,
    client_id: uuid.UUID,
    photo: File[UploadedFile],
    task: Form[RowId],
    item: Form[RowId],
    taken_at: Form[IsoDateTime],
):
    """Multipart: the original file as the tablet took it (``photo``), its ``task``, ``item`` and
    ``taken_at``. Idempotent by the tablet's id for the photo: 201 the first time, 200 with the
    same photo after (a retry whose answer was lost); another photo under a used id is refused
    (409 photo_id_reused). The journal's answers attach it (``photos``)."""
    found = get_object_or_404(tasks_visible_to(request.user).select_related("enterprise"), pk=task)
    stored, created = workflow.tablet_photo_put(
        actor=request.user, client_id=client_id, task=found, item_id=item, upload=photo, taken_at=taken_at
    )
    return Status(201 if created else 200, stored)


# --- the journal ---------------------------------------------------------------------------------------


class JournalAnswerIn(Schema):
    id: uuid.UUID = Field(description="the tablet's id for this answer event")
    item: RowId
    result: Result
    note: str = Field("", max_length=2000)
    photos: list[uuid.UUID] = Field(
        [], max_length=5, description="ids of photos uploaded with POST /inspections/photos/{id}"
    )
    at: IsoDateTime = Field(description=DEVICE_TIME)


class JournalSignatureIn(Schema):
    role: Signature.Role
    inspector_id: RowId | None = None
    png_base64: str = Field(..., max_length=800_000, description="the drawing as PNG, base64")
    at: IsoDateTime = Field(description=DEVICE_TIME)


class JournalRefusalIn(Schema):
    note: str = Field(..., max_length=500)
    at: IsoDateTime = Field(description=DEVICE_TIME)


class JournalSubmissionIn(Schema):
    id: uuid.UUID = Field(description="the submission id: a replay with it returns the same record")
    conclusion: Inspection.Conclusion
    rectify_deadline: IsoDateTime | None = None
    at: IsoDateTime = Field(description=DEVICE_TIME)


class JournalIn(Schema):
    inspection: uuid.UUID = Field(description="the tablet's id for the record")
    task: RowId
    started_at: IsoDateTime = Field(description=DEVICE_TIME)
    checklists: list[RowId] = Field(
        ..., min_length=1, max_length=20, description="the versions the day pack gave for the task"
    )
    answers: list[JournalAnswerIn] = Field([], max_length=5000)
    note: str | None = Field(None, max_length=4000)
    representative_name: str | None = Field(None, max_length=100)
    refusal: JournalRefusalIn | None = None
    signatures: list[JournalSignatureIn] = Field([], max_length=20)
    submission: JournalSubmissionIn | None = None


class ConflictAnswerOut(Schema):
    result: Result
    note: str
    by: str
    at: datetime


class ConflictOut(Schema):
    item: int
    item_code: str
    kept: ConflictAnswerOut = Field(description="the later answer by the inspectors' own time")
    others: list[ConflictAnswerOut]


class SyncOut(Schema):
    id: int
    client_id: uuid.UUID | None
    task: int
    status: Inspection.Status
    submitted_at: datetime | None
    content_hash: str
    url: str
    answers: list[PackAnswerOut]
    conflicts: list[ConflictOut]
    new_answers: int = Field(description="answer events this request added (0 for a replay)")
    submitted: bool = Field(description="this request submitted the record")


@router.post("/inspections/sync", response={200: SyncOut, **ERRORS})
def sync_inspection(request, payload: JournalIn):
    """Replay a tablet's journal of one inspection, whole or not at all (docs/OFFLINE.md).

    Upload the journal's photos first. Sending the same journal again is harmless. When both
    inspectors answered an item, the later answer by their own time is kept and both are in
    the record's history (``conflicts``). A refusal is coded, and nothing of the journal is kept."""
    task = get_object_or_404(
        tasks_visible_to(request.user).select_related("enterprise__scene"), pk=payload.task
    )
    outcome = workflow.inspection_sync(
        actor=request.user,
        journal=workflow.Journal(
            inspection=payload.inspection,
            task=task,
            started_at=payload.started_at,
            checklists=payload.checklists,
            answers=[
                workflow.AnswerStep(
                    id=a.id, item=a.item, result=a.result, note=a.note, at=a.at, photos=a.photos
                )
                for a in payload.answers
            ],
            note=payload.note,
            representative_name=payload.representative_name,
            refusal=workflow.RefusalStep(note=payload.refusal.note, at=payload.refusal.at)
            if payload.refusal
            else None,
            signatures=[
                workflow.SignatureStep(
                    role=s.role, png_base64=s.png_base64, at=s.at, inspector=s.inspector_id
                )
                for s in payload.signatures
            ],
            submission=workflow.SubmissionStep(
                id=payload.submission.id,
                conclusion=payload.submission.conclusion,
                at=payload.submission.at,
                rectify_deadline=payload.submission.rectify_deadline,
            )
            if payload.submission
            else None,
        ),
    )
    return {
        **tablet.record_state(inspection=outcome.inspection),
        "new_answers": outcome.new_answers,
        "submitted": outcome.submitted,
    }


class HistoryEventOut(Schema):
    item: int
    item_code: str
    result: Result
    note: str
    photos: list[str]
    by: str
    source: str = Field(description="online, or tablet (synchronised)")
    client_id: uuid.UUID | None
    device_at: datetime = Field(description="when the inspector answered, by their device's clock")
    received_at: datetime
    applied: bool = Field(description="it became the current answer when it arrived")


@router.get("/inspections/{inspection_id}/history", response={200: list[HistoryEventOut], 404: ErrorOut})
def inspection_history(request, inspection_id: int):
    """Every answer given to the record, online or from a tablet, with the inspector's and the
    server's times: the record's answer history. The officials who see the record, for the items
    they see of it (a department's officials: their department's); not the business, which sees the
    record as submitted."""
    roles = permissions.roles_of(request.user)
    if not (roles.is_admin or roles.regulator or roles.inspector):
        raise Http404
    inspection = _inspection(request, inspection_id)
    wall = item_wall(request.user, inspection)
    return tablet.answer_history(inspection=inspection, departments=wall.departments)
