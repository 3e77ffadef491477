"""Content API: manuals, checklists, the merged scene checklist, publishing, acknowledgements."""

from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from checklists import content_upload, documents, notices, publishing, selectors
from checklists.models import Checklist, Manual, Method, Severity, VersionStatus
from core import permissions
from core import selectors as core_selectors
from core.api_auth import ANYONE
from core.api_schemas import ErrorOut, file_response
from core.errors import DomainError
from core.models import Scene

router = Router(tags=["checklists"])


class ClauseOut(Schema):
    code: str
    text: str = Field(..., alias="display_text")
    law: str
    article: str


class ChapterOut(Schema):
    position: int
    title: str = Field(..., alias="display_title")
    clauses: list[ClauseOut]

    @staticmethod
    def resolve_clauses(obj):
        return list(obj.clauses.all())


class VersionOut(Schema):
    id: int
    version: int
    status: VersionStatus
    title: str = Field(..., alias="display_title")
    published_at: datetime | None


class ManualOut(VersionOut):
    scene: str = Field(..., alias="scene.code")
    chapters: list[ChapterOut]

    @staticmethod
    def resolve_chapters(obj):
        return list(obj.chapters.order_by("position").prefetch_related("clauses"))


class ItemOut(Schema):
    id: int
    code: str
    department: str = Field(..., alias="checklist.department.code")
    question: str = Field(..., alias="display_question")
    law: str
    article: str
    severity: Severity
    method: Method
    clause_code: str
    applies_if: str
    required_action: str = Field(..., alias="display_required_action")


class ChecklistOut(VersionOut):
    scene: str = Field(..., alias="scene.code")
    department: str = Field(..., alias="department.code")
    items: list[ItemOut]

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.select_related("checklist__department").order_by("position"))


class MergedOut(Schema):
    scene: str
    versions: list[VersionOut]
    items: list[ItemOut]


class NoticeOut(Schema):
    manual: VersionOut | None
    acknowledged_at: datetime | None
    needs_acknowledgement: bool


class RateOut(Schema):
    scene: str
    scene_name: str
    district: str
    district_name: str
    version: int
    enterprises: int
    acknowledged: int
    rate: float


def _visible_manual(request, manual_id: int) -> Manual:
    manual = get_object_or_404(Manual.objects.select_related("scene"), pk=manual_id)
    if manual.status != VersionStatus.PUBLISHED and not permissions.can_edit_manual(request.user, manual):
        raise DomainError(_("No such manual."), code="not_found", status=404)
    return manual


@router.get("/scenes/{scene_code}/manual", auth=ANYONE, response={200: ManualOut, 404: ErrorOut})
def current_manual(request, scene_code: str):
    """The scene's current compliance manual: public, as businesses are told to follow it."""
    scene = get_object_or_404(Scene, code=scene_code)
    manual = selectors.manual_current(scene=scene)
    if manual is None:
        raise DomainError(_("This scene has no published manual yet."), code="no_manual", status=404)
    return manual


@router.get("/manuals/{manual_id}", auth=ANYONE, response={200: ManualOut, 404: ErrorOut})
def get_manual(request, manual_id: int):
    return _visible_manual(request, manual_id)


@router.get(
    "/manuals/{manual_id}/pdf",
    auth=ANYONE,
    url_name="manual_pdf",
    response={200: None, 404: ErrorOut},
    openapi_extra=file_response("application/pdf"),
)
def manual_pdf(request, manual_id: int):
    manual = _visible_manual(request, manual_id)
    response = HttpResponse(documents.manual_pdf(manual), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="manual-{manual.scene.code}-v{manual.version}.pdf"'
    return response


@router.post(
    "/manuals/{manual_id}/publish", response={200: VersionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
)
def publish_manual(request, manual_id: int):
    manual = _visible_manual(request, manual_id)
    if not permissions.can_edit_manual(request.user, manual):
        raise DomainError(
            _("Only a regulator of a supervising department publishes this."), code="forbidden", status=403
        )
    return publishing.manual_publish(manual=manual, actor=request.user)


def _visible_checklist(request, checklist_id: int) -> Checklist:
    checklist = get_object_or_404(Checklist.objects.select_related("scene", "department"), pk=checklist_id)
    if checklist.status != VersionStatus.PUBLISHED and not permissions.can_edit_checklist(
        request.user, checklist
    ):
        raise DomainError(_("No such checklist."), code="not_found", status=404)
    return checklist


@router.get("/checklists/{checklist_id}", response={200: ChecklistOut, 404: ErrorOut})
def get_checklist(request, checklist_id: int):
    return _visible_checklist(request, checklist_id)


@router.post(
    "/checklists/{checklist_id}/publish",
    response={200: VersionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def publish_checklist(request, checklist_id: int):
    checklist = _visible_checklist(request, checklist_id)
    if not permissions.can_edit_checklist(request.user, checklist):
        raise DomainError(
            _("Only a regulator of the owning department publishes this."), code="forbidden", status=403
        )
    return publishing.checklist_publish(checklist=checklist, actor=request.user)


@router.get("/scenes/{scene_code}/checklist", response={200: MergedOut, 404: ErrorOut, 422: ErrorOut})
def merged_checklist(request, scene_code: str, enterprise: str | None = None):
    """The checklist of one visit: every department's current items; with ?enterprise=USCC, only
    the items that apply to that enterprise."""
    scene = get_object_or_404(Scene, code=scene_code)
    target = core_selectors.enterprise_get(user=request.user, uscc=enterprise) if enterprise else None
    if target is not None and target.scene_id != scene.pk:
        raise DomainError(_("The enterprise is not of this scene."), code="wrong_scene", status=422)
    merged = selectors.scene_checklist(scene=scene, enterprise=target)
    return {"scene": scene.code, "versions": merged.checklists, "items": merged.items}


@router.get("/enterprises/{uscc}/manual", response={200: NoticeOut, 404: ErrorOut, 422: ErrorOut})
def enterprise_manual(request, uscc: str):
    enterprise = core_selectors.enterprise_get(user=request.user, uscc=uscc)
    notice = notices.manual_notice(enterprise=enterprise)
    return {
        "manual": notice.manual,
        "acknowledged_at": notice.acknowledgement.at if notice.acknowledgement else None,
        "needs_acknowledgement": notice.needs_acknowledgement,
    }


class AcknowledgeIn(Schema):
    manual_id: int | None = Field(None, description="the version read; refused if it is no longer current")


@router.post(
    "/enterprises/{uscc}/manual/acknowledge",
    response={200: NoticeOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def acknowledge_manual(request, uscc: str, payload: AcknowledgeIn):
    enterprise = core_selectors.enterprise_get(user=request.user, uscc=uscc)
    manual = get_object_or_404(Manual, pk=payload.manual_id) if payload.manual_id else None
    acknowledgement = notices.manual_acknowledge(enterprise=enterprise, user=request.user, manual=manual)
    return {
        "manual": acknowledgement.manual,
        "acknowledged_at": acknowledgement.at,
        "needs_acknowledgement": False,
    }


@router.get("/acknowledgement-rates", response={200: list[RateOut], 403: ErrorOut})
def acknowledgement_rates(request):
    if not permissions.may_see_audit(request.user):
        raise DomainError(_("Only regulators see acknowledgement rates."), code="forbidden", status=403)
    return notices.acknowledgement_rates(enterprises=permissions.enterprises_visible_to(request.user))


class ImportedOut(Schema):
    scene: str
    manual: VersionOut | None
    checklists: list[VersionOut]


@router.post("/content", response={201: ImportedOut, 403: ErrorOut, 422: ErrorOut})
def upload_content(request, file: File[UploadedFile]):
    """Upload a YAML file (checklists/content/FORMAT.md): new draft versions, to publish afterwards.
    Errors list every problem with its line and field in ``details``."""
    result = content_upload.content_upload(user=request.user, upload=file)
    return Status(201, {"scene": result.scene.code, "manual": result.manual, "checklists": result.checklists})


class CsvIn(Schema):
    scene: str = Field(..., max_length=40)
    department: str = Field(..., max_length=40)
    title: str = Field(..., min_length=1, max_length=200)
    title_en: str = Field("", max_length=200)


@router.post("/content/checklist.csv", response={201: VersionOut, 403: ErrorOut, 422: ErrorOut})
def upload_checklist_csv(request, meta: Form[CsvIn], file: File[UploadedFile]):
    checklist = content_upload.checklist_upload_csv(user=request.user, upload=file, **meta.dict())
    return Status(201, checklist)
