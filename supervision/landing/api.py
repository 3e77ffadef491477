"""GET /api/v1/scan/<token>: what a scanned code shows to the caller, the same faces as the page;
GET /api/v1/enterprises/<uscc>/timeline: the enterprise's timeline, as the timeline page has it."""

from datetime import date, datetime

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from core import selectors
from core.api import RefOut
from core.api_auth import ANYONE
from core.api_root import api as project_api
from core.api_schemas import ErrorOut
from core.errors import DomainError, NotFound
from core.models import Enterprise
from core.pagination import NoCountPagination
from core.timeline import Entry
from supervision.landing.panels import landing_open, public_cards
from supervision.landing.timeline import timeline_for

router = Router(tags=["core"])


class CardOut(Schema):
    """The enterprise as the scan landing shows it; fields a view may not see are left out."""

    uscc: str
    name: str
    scene: RefOut
    licence_status: Enterprise.LicenceStatus
    tier: str | None = None
    published_results: list = []
    district: RefOut | None = None
    address: str | None = None
    legal_representative: str | None = None
    opened_on: date | None = None


class ScanOut(Schema):
    view: str = Field(..., description="public | business | inspector | regulator")
    enterprise: CardOut


PUBLIC_FIELDS = {"uscc", "name", "scene", "licence_status", "tier", "published_results"}


@router.get(
    "/scan/{token}",
    auth=ANYONE,
    response={200: ScanOut, 404: ErrorOut, 410: ErrorOut},
    exclude_none=True,
    summary="What a scanned code shows to the caller",
)
def scan(request, token: str):
    landing = landing_open(request, token, channel="api")
    if landing.status == 410:
        raise DomainError(_("This code is no longer valid."), code=f"code_{landing.outcome}", status=410)
    if landing.status != 200:
        raise NotFound(_("No such code."), code="unknown_code")
    if landing.view == "public":
        # The same for every caller: kept with the enterprise's card in this worker and language,
        # like the page's public face (supervision.landing.panels.public_cards).
        body = public_cards.made(landing.enterprise, ("api",), lambda: _scan_body(request, landing))
        return HttpResponse(body, content_type=project_api.get_content_type())
    return ScanOut(**_scan_out(landing))


def _scan_out(landing) -> dict:
    card = CardOut.from_orm(landing.enterprise).dict(by_alias=True)
    card.update(tier=landing.extra.get("tier"), published_results=landing.extra.get("published_results", []))
    if landing.view == "public":
        card = {key: value for key, value in card.items() if key in PUBLIC_FIELDS}
    return {"view": landing.view, "enterprise": card}


def _scan_body(request, landing) -> bytes:
    """ScanOut as ninja writes it (exclude_none), for a response kept as it is."""
    data = ScanOut(**_scan_out(landing)).model_dump(exclude_none=True)
    return project_api.renderer.render(request, data, response_status=200)


class TimelineEntryOut(Schema):
    """One entry of an enterprise's timeline, in the caller's language (Accept-Language)."""

    kind: str = Field(
        ...,
        description="What happened, as a code: inspection, order_issued, order_answered, order_closed, "
        "order_returned, order_overdue, order_escalated, self_inspection, self_issue_fixed, "
        "complaint_received, complaint_dismissed, complaint_merged, complaint_tasked, complaint_verified, "
        "complaint_unfounded, credit_event, code_issued, code_replaced, code_revoked, manual_acknowledged, "
        "publication, published_result, objection_submitted, objection_upheld, objection_rejected",
    )
    at: datetime
    all_day: bool = Field(..., description="Only the day of `at` is meant (show the date alone)")
    title: str
    detail: str
    url: str | None = Field(..., description="The record's page on this site, if the caller may open it")
    record_id: int = Field(..., description="The id of the record the kind names")

    @staticmethod
    def resolve_title(entry: Entry) -> str:
        return str(entry.title)

    @staticmethod
    def resolve_detail(entry: Entry) -> str:
        return str(entry.detail)


@router.get(
    "/enterprises/{uscc}/timeline",
    response={200: list[TimelineEntryOut], 404: ErrorOut, 422: ErrorOut},
    summary="The enterprise's timeline, newest first",
)
@paginate(NoCountPagination)
def enterprise_timeline(request, uscc: str):
    """Inspections, orders, self-inspections, complaints, credit events, codes, manual
    acknowledgements, publications and objections: what the caller may see of each. An enterprise
    outside the caller's scope is not found."""
    enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
    return timeline_for(enterprise=enterprise, viewer=request.user)
