"""GET /api/v1/scan/<token>: what a scanned code shows to the caller, the same faces as the page."""

from datetime import date

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from core.api import RefOut
from core.api_auth import ANYONE
from core.api_schemas import ErrorOut
from core.errors import DomainError, NotFound
from core.models import Enterprise
from supervision.landing.panels import landing_open

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
    enterprise = landing.enterprise
    card = CardOut.from_orm(enterprise).dict(by_alias=True)
    card.update(tier=landing.extra.get("tier"), published_results=landing.extra.get("published_results", []))
    if landing.view == "public":
        card = {key: value for key, value in card.items() if key in PUBLIC_FIELDS}
    return {"view": landing.view, "enterprise": card}
