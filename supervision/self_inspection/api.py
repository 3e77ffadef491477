"""Supervision API: self-inspections now; tasks, inspections and the loop with their issues.

Every handler starts from what the caller may see (core.permissions, through the selectors in
supervision.self_inspection.selectors): a row outside that is 404, whatever the id. Writes are then for
members of the enterprise; an official who can see a submitted self-inspection gets 403.
"""

from datetime import datetime
from typing import Literal

from django.http import FileResponse
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from core import selectors as core_selectors
from core.api_schemas import ErrorOut, file_response
from core.pagination import NoCountPagination
from supervision.models import SelfIdentifiedIssue, SelfInspection
from supervision.self_inspection import selectors
from supervision.self_inspection import services as service

router = Router(tags=["supervision"])

READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- schemas ----------------------------------------------------------------------------------------


class RefOut(Schema):
    code: str
    name: str


class VersionOut(Schema):
    department: RefOut
    version: int
    title: str


class ProgressOut(Schema):
    answered: int
    total: int


class PhotoOut(Schema):
    id: int
    sha256: str = Field(..., description="SHA-256 of the original as uploaded")
    width: int
    height: int
    url: str = Field(..., description="the display copy (metadata stripped)")
    thumbnail_url: str


class ClauseOut(Schema):
    code: str
    text: str
    legal_basis: str


class IssueRefOut(Schema):
    id: int
    status: SelfIdentifiedIssue.Status


class AnswerOut(Schema):
    item_id: int
    result: str
    note: str
    photos: list[PhotoOut]
    updated_at: datetime
    issue: IssueRefOut | None = None


class ItemOut(Schema):
    id: int
    code: str
    department: RefOut
    question: str
    legal_basis: str
    severity: str
    method: str
    required_action: str
    clause: ClauseOut | None
    answer: AnswerOut | None


class SelfInspectionFields(Schema):
    id: int
    enterprise: str = Field(..., description="USCC")
    status: SelfInspection.Status
    started_at: datetime
    submitted_at: datetime | None
    content_hash: str
    checklists: list[VersionOut]


class SelfInspectionOut(SelfInspectionFields):
    """A row of the list, read straight from the (paginated) queryset."""

    enterprise: str = Field(..., alias="enterprise.uscc", description="USCC")

    @staticmethod
    def resolve_checklists(obj) -> list[dict]:
        return _versions(obj)


class SelfInspectionDetailOut(SelfInspectionFields):
    progress: ProgressOut
    items: list[ItemOut]


class AnswerSavedOut(AnswerOut):
    progress: ProgressOut


class AnswerIn(Schema):
    result: str = Field(..., description="compliant | non_compliant | not_applicable")
    note: str = ""


class IssueOut(Schema):
    id: int
    self_inspection: int
    status: SelfIdentifiedIssue.Status
    department: RefOut
    item_code: str
    question: str
    severity: str
    required_action: str
    note: str = Field(..., description="the business's note on the non-compliant answer")
    created_at: datetime
    fixed_at: datetime | None
    fix_note: str
    evidence: list[PhotoOut]

    @staticmethod
    def resolve_self_inspection(obj) -> int:
        return obj.answer.self_inspection_id

    @staticmethod
    def resolve_department(obj) -> dict:
        return _ref(obj.answer.item.checklist.department)

    @staticmethod
    def resolve_item_code(obj) -> str:
        return obj.answer.item.code

    @staticmethod
    def resolve_question(obj) -> str:
        return obj.answer.item.display_question

    @staticmethod
    def resolve_severity(obj) -> str:
        return obj.answer.item.severity

    @staticmethod
    def resolve_required_action(obj) -> str:
        return obj.answer.item.display_required_action

    @staticmethod
    def resolve_note(obj) -> str:
        return obj.answer.note

    @staticmethod
    def resolve_evidence(obj) -> list[dict]:
        return [_photo(obj.answer.self_inspection_id, photo) for photo in obj.evidence.all()]


class IssueFilter(Schema):
    status: Literal["open", "fixed"] | None = None


# --- serialisation ----------------------------------------------------------------------------------


def _ref(obj) -> dict:
    return {"code": obj.code, "name": obj.display_name}


def _photo(self_inspection_id: int, photo) -> dict:
    url = reverse("api:self_inspection_photo", args=[self_inspection_id, photo.pk])
    return {
        "id": photo.pk,
        "sha256": photo.sha256,
        "width": photo.width,
        "height": photo.height,
        "url": url,
        "thumbnail_url": f"{url}?variant=thumbnail",
    }


def _summary(self_inspection: SelfInspection) -> dict:
    return {
        "id": self_inspection.pk,
        "enterprise": self_inspection.enterprise.uscc,
        "status": self_inspection.status,
        "started_at": self_inspection.started_at,
        "submitted_at": self_inspection.submitted_at,
        "content_hash": self_inspection.content_hash,
        "checklists": _versions(self_inspection),
    }


def _versions(self_inspection: SelfInspection) -> list[dict]:
    return [
        {"department": _ref(c.department), "version": c.version, "title": c.display_title}
        for c in self_inspection.checklists.all()
    ]


def _answer(answer) -> dict:
    issue = getattr(answer, "issue", None)
    return {
        "item_id": answer.item_id,
        "result": answer.result,
        "note": answer.note,
        "photos": [_photo(answer.self_inspection_id, photo) for photo in answer.photos.all()],
        "updated_at": answer.updated_at,
        "issue": {"id": issue.pk, "status": issue.status} if issue else None,
    }


def _item(row) -> dict:
    item, clause = row.item, row.clause
    return {
        "id": item.pk,
        "code": item.code,
        "department": _ref(item.checklist.department),
        "question": item.display_question,
        "legal_basis": item.legal_basis,
        "severity": item.severity,
        "method": item.method,
        "required_action": item.display_required_action,
        "clause": {"code": clause.code, "text": clause.display_text, "legal_basis": clause.legal_basis}
        if clause
        else None,
        "answer": _answer(row.answer) if row.answer else None,
    }


def _detail(self_inspection: SelfInspection) -> dict:
    sheet = selectors.self_inspection_sheet(self_inspection=self_inspection)
    return {
        **_summary(self_inspection),
        "progress": {"answered": sheet.progress.answered, "total": sheet.progress.total},
        "items": [_item(row) for row in sheet.rows],
    }


# --- handlers ---------------------------------------------------------------------------------------


@router.post(
    "/enterprises/{uscc}/self-inspections",
    response={200: SelfInspectionDetailOut, 201: SelfInspectionDetailOut, **WRITE_ERRORS},
    summary="Start a self-inspection, or resume the draft (200)",
)
def start_self_inspection(request, uscc: str):
    enterprise = core_selectors.enterprise_get(user=request.user, uscc=uscc)
    self_inspection, created = service.self_inspection_start(enterprise=enterprise, user=request.user)
    return Status(201 if created else 200, _detail(self_inspection))


@router.get(
    "/enterprises/{uscc}/self-inspections",
    response={200: list[SelfInspectionOut], **READ_ERRORS},
    summary="The enterprise's self-inspections the caller may see, newest first",
)
@paginate(NoCountPagination)
def list_self_inspections(request, uscc: str):
    enterprise = core_selectors.enterprise_get(user=request.user, uscc=uscc)
    return selectors.self_inspections_of(user=request.user, enterprise=enterprise)


@router.get("/self-inspections/{si_id}", response={200: SelfInspectionDetailOut, **READ_ERRORS})
def get_self_inspection(request, si_id: int):
    return _detail(selectors.self_inspection_get(user=request.user, pk=si_id))


@router.put(
    "/self-inspections/{si_id}/answers/{item_id}",
    url_name="self_inspection_answer",
    response={200: AnswerSavedOut, **WRITE_ERRORS},
    summary="Save the answer to one item (autosave)",
)
def put_answer(request, si_id: int, item_id: int, payload: AnswerIn):
    self_inspection = selectors.self_inspection_get(user=request.user, pk=si_id)
    answer = service.self_inspection_answer(
        self_inspection=self_inspection, user=request.user, item_id=item_id, **payload.dict()
    )
    return _saved(self_inspection, answer)


@router.post(
    "/self-inspections/{si_id}/answers/{item_id}/photos",
    response={200: AnswerSavedOut, **WRITE_ERRORS},
    summary="Add one photo to an answer; result and note are needed only for an unanswered item",
)
def add_answer_photo(
    request,
    si_id: int,
    item_id: int,
    photo: File[UploadedFile],
    result: Form[str | None] = None,
    note: Form[str | None] = None,
):
    self_inspection = selectors.self_inspection_get(user=request.user, pk=si_id)
    answer = service.self_inspection_answer(
        self_inspection=self_inspection,
        user=request.user,
        item_id=item_id,
        result=result or None,
        note=note,
        photos=[photo],
    )
    return _saved(self_inspection, answer)


def _saved(self_inspection, answer) -> dict:
    progress = selectors.self_inspection_progress(self_inspection=self_inspection)
    return {**_answer(answer), "progress": {"answered": progress.answered, "total": progress.total}}


@router.post(
    "/self-inspections/{si_id}/submit",
    response={200: SelfInspectionDetailOut, **WRITE_ERRORS},
    summary="Submit: every applicable item answered; immutable afterwards. A retry returns it unchanged.",
)
def submit_self_inspection(
    request,
    si_id: int,
    nonce: str | None = Query(
        None, max_length=64, description="Send the same value again when retrying after a lost response"
    ),
):
    self_inspection = selectors.self_inspection_get(user=request.user, pk=si_id)
    return _detail(
        service.self_inspection_submit(self_inspection=self_inspection, user=request.user, nonce=nonce)
    )


@router.get(
    "/self-inspections/{si_id}/photos/{photo_id}",
    url_name="self_inspection_photo",
    response={200: None, **READ_ERRORS},
    openapi_extra=file_response("image/jpeg"),
    summary="A photo of an answer or of a fix: the display copy, or the thumbnail",
)
def get_photo(request, si_id: int, photo_id: int, variant: Literal["display", "thumbnail"] = "display"):
    self_inspection = selectors.self_inspection_get(user=request.user, pk=si_id)
    photo = selectors.self_inspection_photo(self_inspection=self_inspection, photo_id=photo_id)
    response = FileResponse(getattr(photo, variant).open("rb"), content_type="image/jpeg")
    # Private: evidence of one business, fetched by a signed-in caller.
    response["Cache-Control"] = "private, max-age=3600"
    return response


@router.get(
    "/enterprises/{uscc}/self-issues",
    response={200: list[IssueOut], **READ_ERRORS},
    summary="Issues the business found in its own submitted self-inspections",
)
@paginate(NoCountPagination)
def list_self_issues(request, uscc: str, filters: Query[IssueFilter]):
    enterprise = core_selectors.enterprise_get(user=request.user, uscc=uscc)
    return selectors.self_issues_of(user=request.user, enterprise=enterprise, status=filters.status)


@router.post(
    "/self-issues/{issue_id}/fix",
    response={200: IssueOut, **WRITE_ERRORS},
    summary="Mark a self-identified issue fixed: a note on what was done, and up to 5 photos",
)
def fix_self_issue(request, issue_id: int, note: Form[str], photos: File[list[UploadedFile]] = None):
    issue = selectors.self_issue_get(user=request.user, pk=issue_id)
    issue = service.self_issue_fix(issue=issue, user=request.user, note=note, evidence=photos or [])
    return selectors.self_issues_of(user=request.user, enterprise=issue.enterprise).get(pk=issue.pk)
