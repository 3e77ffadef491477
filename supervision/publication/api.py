"""一公开 through the API: the published results (open to anyone, nothing personal in them), a
business's objection to one of its published results, and a regulator's decision on it."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from core.api_auth import ANYONE
from core.api_schemas import ErrorOut
from core.pagination import NoCountPagination, Page
from supervision.inspections.permissions import inspections_visible_to
from supervision.models import Inspection, Objection
from supervision.publication import selectors
from supervision.publication import services as publication

router = Router(tags=["publication"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PublishedResultOut(Schema):
    enterprise: str = Field(..., description="the enterprise's name")
    district: str
    scene: str
    inspected_on: date
    conclusion: Inspection.Conclusion = Field(..., description="as corrected, when an objection was upheld")
    conclusion_label: str
    critical: int = Field(..., description="number of findings by severity")
    major: int
    minor: int
    corrected: bool = Field(..., description="corrected after the business's objection was upheld")
    correction: str


class PublishedPage(Schema):
    items: list[PublishedResultOut]
    page: int
    page_size: int
    has_next: bool


class PublishedFilter(Schema):
    district: str | None = Field(None, max_length=12, description="division code: that district and below")
    scene: str | None = Field(None, max_length=40, description="scene code")


class ObjectionOut(Schema):
    id: int
    inspection_id: int
    enterprise: str = Field(..., alias="enterprise.uscc", description="USCC")
    status: Objection.Status
    reason: str
    created_at: datetime
    decided_at: datetime | None
    correction: str
    corrected_conclusion: str
    decision_note: str


class ObjectionIn(Schema):
    reason: str = Field(..., max_length=2000)


class DecisionIn(Schema):
    upheld: bool
    correction: str = Field("", max_length=2000, description="required when upheld: what the public sees")
    corrected_conclusion: Inspection.Conclusion | None = Field(
        None, description="when upheld: the conclusion the public sees instead (default: unchanged)"
    )
    note: str = Field("", max_length=2000, description="required when rejected: why")


class ObjectionFilter(Schema):
    status: Objection.Status | None = None


def _inspection(request, inspection_id: int) -> Inspection:
    return get_object_or_404(
        inspections_visible_to(request.user)
        .filter(status=Inspection.Status.SUBMITTED)
        .select_related("enterprise", "task"),
        pk=inspection_id,
    )


@router.get(
    "/published-inspections", auth=ANYONE, response={200: PublishedPage, 400: ErrorOut}, summary="一公开"
)
def list_published(request, filters: Query[PublishedFilter], pagination: Query[NoCountPagination.Input]):
    """Results of drawn and routine inspections past the objection window, newest first."""
    parsed = selectors.public_filters_parse(district=filters.district, scene=filters.scene)
    page = Page(
        selectors.published_list(filters=parsed), page=pagination.page, page_size=pagination.page_size
    )
    return {
        "items": selectors.public_rows(page.items),
        "page": page.number,
        "page_size": page.page_size,
        "has_next": page.has_next,
    }


@router.post("/inspections/{inspection_id}/objection", response={201: ObjectionOut, **ERRORS})
def object_to_result(request, inspection_id: int, payload: ObjectionIn):
    """A member of the inspected business objects to a published result, once."""
    inspection = _inspection(request, inspection_id)
    objection = publication.objection_submit(inspection=inspection, actor=request.user, reason=payload.reason)
    return Status(201, objection)


@router.post("/inspections/{inspection_id}/objection/decision", response={200: ObjectionOut, **ERRORS})
def decide_objection(request, inspection_id: int, payload: DecisionIn):
    """A regulator with the enterprise in scope upholds (with the correction) or rejects (with the reason)."""
    inspection = _inspection(request, inspection_id)
    return publication.objection_decide(
        inspection=inspection,
        actor=request.user,
        upheld=payload.upheld,
        note=payload.note,
        correction=payload.correction,
        corrected_conclusion=payload.corrected_conclusion or "",
    )


@router.get("/objections", response={200: list[ObjectionOut], 400: ErrorOut})
@paginate(NoCountPagination)
def list_objections(request, filters: Query[ObjectionFilter]):
    """Objections the caller sees (members: their business's; regulators: their scope), oldest first."""
    return selectors.objection_list(user=request.user, status=filters.status or "")
