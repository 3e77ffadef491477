"""What each face of the scan landing shows, composed from the panels the features contribute.

core.landing resolves a scan and says which face the viewer gets (public, business, inspector,
regulator); this module, above the features, gathers that face's panels: the published results
and tier badge (publication), the manual notice (checklists), the latest self-inspection
(self_inspection), tasks and orders (inspections), the business's own score (risk), and the
ground floor's own records (codes, scans, reports). Shared by the page and the scan API. The
enterprise's timeline is not a panel: the page adds its newest entries (supervision.landing.timeline).
"""

import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from cachetools import TTLCache
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from checklists.notices import manual_notice
from core.landing import Landing, landing_resolve
from core.models import Complaint, Enterprise, IdentityCode, ScanEvent
from core.permissions import may_see_own_score, roles_of
from supervision.complaints.own_score import own_score_explain
from supervision.inspections.panels import business_panel, inspector_panel
from supervision.publication.services import own_results, public_tier, published_results_for
from supervision.self_inspection.services import self_inspection_latest_submitted

# The face a scan showed (core.landing.landing_view_for) and the way it came, in words.
SCAN_FACES = {
    "public": _("public card"),
    "business": _("business dashboard"),
    "inspector": _("entity card"),
    "regulator": _("full profile"),
}
SCAN_CHANNELS = {"web": _("page"), "api": _("API")}


@dataclass(frozen=True)
class RecentScan:
    at: datetime
    face: Promise | str
    channel: Promise | str
    outcome: str
    user_agent: str


def recent_scans(*, enterprise: Enterprise, n: int = 10) -> list[RecentScan]:
    """The full profile's latest scans of the enterprise's codes, in words (no role codes)."""
    return [
        RecentScan(
            at=scan.at,
            face=SCAN_FACES.get(scan.view, "—"),
            channel=SCAN_CHANNELS.get(scan.channel, scan.channel),
            outcome=scan.get_outcome_display(),
            user_agent=scan.user_agent,
        )
        for scan in ScanEvent.objects.filter(enterprise=enterprise).order_by("-at")[:n]
    ]


def landing_open(request, raw_token: str, *, channel: str = "web", record: bool = True) -> Landing:
    """Resolve and record one scan (core.landing.landing_resolve), then gather the viewer's panels."""
    landing = landing_resolve(request, raw_token, channel=channel, record=record)
    if landing.outcome == "ok":
        landing.extra = panels_for(landing.view, landing.enterprise, request.user)
    return landing


def public_panels(enterprise: Enterprise) -> dict:
    """一公开, the same for every viewer and in the scan API: the latest published results and the
    tier badge (tier and credit rating, never the risk score; see supervision.publication), and
    whether the business acknowledged its manual."""
    return {
        "published_results": [asdict(result) for result in published_results_for(enterprise=enterprise)],
        "tier": public_tier(enterprise=enterprise),
        "manual_notice": manual_notice(enterprise=enterprise),
    }


class _CardCache:
    """The public face's card of an enterprise, kept SCAN_CARD_CACHE_SECONDS in this process
    (settings.py says what that allows), per language: its panels, and what is made of them for the
    anonymous public, the whole page and the scan API's body (supervision.landing.views and .api),
    which go with the card when its period ends. One worker's memory: nothing to share or
    invalidate, a popular code's card is computed once per worker and period. The code itself is
    checked at every scan, before this."""

    # Cards (with their page and API body, about 6 KB in all): a worker's busiest codes, some 30 MB
    # at most. A worker serving 100 scans a second meets 3,000 codes in a period at most.
    SIZE = 5_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: TTLCache | None = None
        self.clock = time.monotonic  # what the cards' age is measured on

    def _card(self, enterprise: Enterprise) -> dict:
        ttl = settings.SCAN_CARD_CACHE_SECONDS
        key = (enterprise.pk, get_language())
        with self._lock:
            if self._cache is None or self._cache.ttl != ttl:
                self._cache = TTLCache(maxsize=self.SIZE, ttl=ttl, timer=lambda: self.clock())
            card = self._cache.get(key)
        if card is None:
            card = {"panels": public_panels(enterprise), "made": {}}
            with self._lock:
                self._cache[key] = card
        return card

    def get(self, enterprise: Enterprise) -> dict:
        """The public panels of ``enterprise`` in the current language."""
        if settings.SCAN_CARD_CACHE_SECONDS <= 0:
            return public_panels(enterprise)
        # A copy: the caller adds its face's own panels to it.
        return dict(self._card(enterprise)["panels"])

    def made(self, enterprise: Enterprise, key: tuple, make):
        """What ``make()`` makes of the enterprise's card (a page of one of its codes, the API's
        body), kept with the card until its period ends."""
        if settings.SCAN_CARD_CACHE_SECONDS <= 0:
            return make()
        made = self._card(enterprise)["made"]
        if key not in made:
            made[key] = make()  # two threads may both make it: the same value
        return made[key]

    def clear(self) -> None:
        with self._lock:
            self._cache = None


public_cards = _CardCache()


def panels_for(view: str, enterprise: Enterprise, user) -> dict:
    if view == "public":
        return public_cards.get(enterprise)
    extra = public_panels(enterprise)
    if view in {"inspector", "regulator", "business"}:
        extra["latest_self_inspection"] = self_inspection_latest_submitted(enterprise=enterprise)
    if view == "regulator":
        extra["codes"] = list(IdentityCode.objects.filter(enterprise=enterprise).order_by("-created_at")[:10])
        extra["recent_scans"] = recent_scans(enterprise=enterprise)
        extra["complaints"] = list(
            Complaint.objects.filter(enterprise=enterprise).order_by("-created_at")[:10]
        )
    if view == "inspector":
        extra.update(inspector_panel(user=user, enterprise=enterprise))
    if view == "business":
        extra["is_member"] = enterprise.pk in roles_of(user).enterprise_ids
        extra.update(business_panel(user=user, enterprise=enterprise))
        if extra["is_member"]:
            # Its own results before they go public, with when they do and the objection they allow.
            extra["own_results"] = own_results(enterprise=enterprise)
        if may_see_own_score(user, enterprise):
            # "See own risk/credit tier and why": the factors and credit events, not the facts
            # behind them (complaints stay with the regulator, and count here only once triaged).
            extra["own_score"] = own_score_explain(enterprise=enterprise)
    return extra
