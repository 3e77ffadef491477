"""The on-site record: autosave, photos, signatures, the representative's refusal, the idempotent
submit, the record's PDF, and the business's rating."""

import base64
import binascii
import functools

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile

from core.api_schemas import ErrorOut, file_response
from core.errors import DomainError
from core.models import Inspector
from supervision.inspections import selectors
from supervision.inspections import services as workflow
from supervision.inspections.api._common import ERRORS, _inspection, _inspection_out
from supervision.inspections.api.schemas import (
    AnswerIn,
    AnswerOut,
    EvaluationIn,
    EvaluationOut,
    InspectionOut,
    InspectionUpdateIn,
    RefusalIn,
    SignatureIn,
    SignatureOut,
    SubmitIn,
)
from supervision.inspections.permissions import inspections_visible_to
from supervision.models import Inspection

router = Router()


@router.get("/inspections/{inspection_id}", response={200: InspectionOut, 404: ErrorOut})
def get_inspection(request, inspection_id: int):
    # A department's officials get the results of their own department's items (planning, joint tasks).
    return selectors.inspection_sheet(inspection=_inspection(request, inspection_id), viewer=request.user)


@router.patch("/inspections/{inspection_id}", response={200: InspectionOut, **ERRORS})
def update_inspection(request, inspection_id: int, payload: InspectionUpdateIn):
    inspection = workflow.inspection_update(
        inspection=Inspection(pk=inspection_id),
        visible=functools.partial(inspections_visible_to, request.user),
        actor=request.user,
        **payload.dict(),
    )
    return _inspection_out(inspection)


@router.put("/inspections/{inspection_id}/answers/{item_id}", response={200: AnswerOut, **ERRORS})
def answer_item(request, inspection_id: int, item_id: int, payload: AnswerIn):
    # The permission filter is passed unbuilt (building it reads the caller's roles): the workflow
    # asks it only of someone who is not the task's inspector (a tablet's writes need none), so a
    # record they may not see is "not found".
    return workflow.inspection_answer(
        inspection=Inspection(pk=inspection_id),
        visible=functools.partial(inspections_visible_to, request.user),
        actor=request.user,
        item_id=item_id,
        **payload.dict(),
    )


@router.post("/inspections/{inspection_id}/answers/{item_id}/photos", response={200: AnswerOut, **ERRORS})
def add_answer_photo(request, inspection_id: int, item_id: int, photo: File[UploadedFile]):
    return workflow.inspection_answer(
        inspection=Inspection(pk=inspection_id),
        visible=functools.partial(inspections_visible_to, request.user),
        actor=request.user,
        item_id=item_id,
        photos=[photo],
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
        inspection=Inspection(pk=inspection_id),
        visible=functools.partial(inspections_visible_to, request.user),
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
        inspection=Inspection(pk=inspection_id),
        visible=functools.partial(inspections_visible_to, request.user),
        actor=request.user,
        **payload.dict(),
    )
    return _inspection_out(inspection)


@router.get(
    "/inspections/{inspection_id}/record.pdf",
    url_name="inspection_record_pdf",
    response={200: None, **ERRORS},
    openapi_extra=file_response("application/pdf"),
)
def inspection_record_pdf(request, inspection_id: int):
    # The stored record; for an official who may not see every item, the stored extract of the
    # items of their departments (documents.document_for_viewer).
    from supervision.inspections.documents import document_for_viewer

    document = document_for_viewer(
        inspection=_inspection(request, inspection_id), kind="inspection_record", viewer=request.user
    )
    return FileResponse(
        document.file.open("rb"), content_type="application/pdf", filename=f"{document.public_id}.pdf"
    )


@router.post("/inspections/{inspection_id}/evaluation", response={201: EvaluationOut, **ERRORS})
def evaluate_inspection(request, inspection_id: int, payload: EvaluationIn):
    evaluation = workflow.evaluation_submit(
        inspection=_inspection(request, inspection_id), actor=request.user, **payload.dict()
    )
    return Status(201, evaluation)
