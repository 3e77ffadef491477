"""The scan of a printed code: resolve the token, decide which face of the landing the viewer gets,
and record the scan (failed ones too). What each face shows is composed above the features, in
supervision.landing, from the panels they contribute; core knows none of them."""

from dataclasses import dataclass, field

from django.db import transaction

from core import clients
from core.codes import code_resolve
from core.models import Enterprise, IdentityCode, ScanEvent
from core.permissions import landing_view_for

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
    user = request.user if request.user.is_authenticated else None
    ScanEvent.objects.create(
        token=token[:64],
        code=code,
        enterprise=code.enterprise if code else None,
        user=user,
        view=view,
        channel=channel,
        outcome=outcome,
        user_agent=clients.user_agent(request),
        client=clients.client_key(request),
    )


@transaction.atomic
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
