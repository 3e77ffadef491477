"""The scan of a printed code: resolve the token, decide which face of the landing the viewer gets,
and record the scan (failed ones too). What each face shows is composed above the features, in
supervision.landing, from the panels they contribute; core knows none of them."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import clients
from core.codes import code_resolve
from core.models import Enterprise, IdentityCode, ScanEvent
from core.permissions import landing_view_for
from core.scanlog import scan_log
from core.text import escape_control_characters

# Outcome -> HTTP status of the landing: only an active code shows anything.
STATUS = {"ok": 200, "unknown": 404, "malformed": 404, "revoked": 410, "replaced": 410}


@dataclass
class Landing:
    outcome: str
    status: int
    view: str = ""
    enterprise: Enterprise | None = None
    code: IdentityCode | None = None
    # The panels of the viewer's face (supervision.landing.panels), filled in above core.
    extra: dict = field(default_factory=dict)


def _record(request, *, token: str, outcome: str, code, view: str, channel: str) -> None:
    """One row per scan. A shown scan joins the worker's next batch (core.scanlog); a failed one is
    written at once, or, beyond the client's allowance for the minute, counted on the last row
    recorded instead (_counted_as_repeat), so probing shows without filling the table."""
    client = clients.client_key(request)
    user = request.user if request.user.is_authenticated else None
    event = ScanEvent(
        at=timezone.now(),
        # Control characters written out: PostgreSQL stores no NUL, and probing must still show.
        token=escape_control_characters(token)[:64],
        code=code,
        enterprise=code.enterprise if code else None,
        user=user,
        view=view,
        channel=channel,
        outcome=outcome,
        user_agent=escape_control_characters(clients.user_agent(request))[:300],
        client=client,
    )
    if outcome == ScanEvent.Outcome.OK:
        scan_log.add(event)
        return
    with transaction.atomic():
        if not _counted_as_repeat(client):
            event.save(force_insert=True)


def _counted_as_repeat(client: str) -> bool:
    """Whether ``client`` already has SCAN_FAILURES_RECORDED_PER_MINUTE failed scans recorded in this
    minute; if so this one is added to the newest one's ``repeats``. Every shown scan is recorded.

    Two failed scans at the same moment can both find room for one more row (PostgreSQL; SQLite
    takes them one at a time): the table still grows by at most a few rows per client and minute,
    however many requests come."""
    limit = settings.SCAN_FAILURES_RECORDED_PER_MINUTE
    minute = timezone.now().replace(second=0, microsecond=0)
    # scan_client_recent serves this: the client's newest rows, back to the start of the minute.
    recorded = list(
        ScanEvent.objects.filter(client=client, at__gte=minute)
        .exclude(outcome=ScanEvent.Outcome.OK)
        .order_by("-at", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    if len(recorded) < limit:
        return False
    ScanEvent.objects.filter(pk=recorded[0]).update(repeats=F("repeats") + 1)
    return True


def scan_record_refused(request, raw_token: str, *, channel: str) -> None:
    """Record a scan refused before it was resolved (its token holds control characters:
    core.middleware.InvalidCharactersMiddleware) as a malformed one, so such probing shows too."""
    _record(request, token=raw_token, outcome="malformed", code=None, view="", channel=channel)


def landing_resolve(request, raw_token: str, *, channel: str = "web", record: bool = True) -> Landing:
    """Resolve and record one scan. Failed scans are recorded too: that is how probing shows.
    ``record=False`` re-renders a landing (a report form with errors) without counting a second scan."""
    resolution = code_resolve(raw_token)
    code = resolution.code
    view = landing_view_for(request.user, code.enterprise) if resolution.outcome == "ok" else ""
    if record:
        _record(request, token=raw_token, outcome=resolution.outcome, code=code, view=view, channel=channel)
    landing = Landing(resolution.outcome, STATUS[resolution.outcome], view=view, code=code)
    if resolution.outcome == "ok":
        landing.enterprise = code.enterprise
    return landing
