"""The scan landing /c/<token>: resolve the code, record the scan, and gather what
the viewer's role may see. Shared by the HTML page and GET /api/v1/scan/<token>."""

from dataclasses import asdict, dataclass, field

from django.db import transaction

from core import clients
from core.codes import code_resolve
from core.models import AuditEvent, Complaint, Enterprise, IdentityCode, ScanEvent
from core.permissions import landing_view_for, may_see_own_score, roles_of

# Outcome -> HTTP status of the landing: only an active code shows anything.
STATUS = {"ok": 200, "unknown": 404, "malformed": 404, "revoked": 410, "replaced": 410}


@dataclass
class Landing:
    outcome: str
    status: int
    view: str = ""
    enterprise: Enterprise | None = None
    code: IdentityCode | None = None
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
        landing.extra = _extra_for(view, code.enterprise, request.user)
    return landing


def _extra_for(view: str, enterprise: Enterprise, user) -> dict:
    """Role-specific panels. Later issues add manuals, self-inspections, orders, tiers here."""
    # Later apps feed the landing; imported here so that core does not depend on them at import time.
    from checklists.notices import manual_notice
    from supervision.publication import own_results, public_tier, published_results_for
    from supervision.self_inspection import self_inspection_latest_submitted

    extra: dict = {
        # 一公开, the same for every viewer and in the scan API: the latest published results and
        # the tier badge (tier and credit rating, never the risk score; see supervision.publication).
        "published_results": [asdict(result) for result in published_results_for(enterprise=enterprise)],
        "tier": public_tier(enterprise=enterprise),
        "manual_notice": manual_notice(enterprise=enterprise),
    }
    if view in {"inspector", "regulator", "business"}:
        extra["latest_self_inspection"] = self_inspection_latest_submitted(enterprise=enterprise)
    if view in {"inspector", "regulator"}:
        extra["history"] = list(
            AuditEvent.objects.filter(target_type="core.enterprise", target_id=str(enterprise.pk)).order_by(
                "-seq"
            )[:10]
        )
    if view == "regulator":
        extra["codes"] = list(IdentityCode.objects.filter(enterprise=enterprise).order_by("-created_at")[:10])
        extra["recent_scans"] = list(ScanEvent.objects.filter(enterprise=enterprise).order_by("-at")[:10])
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
            from supervision.ranking import score_explain

            # "See own risk/credit tier and why": the factors and credit events, not the facts
            # behind them (complaints stay with the regulator).
            extra["own_score"] = score_explain(enterprise=enterprise, facts=False)
    return extra


def inspector_panel(*, user, enterprise: Enterprise) -> dict:
    """The entity card's actions: the viewer's own open tasks here (each one a "Start inspection"),
    and the enterprise's open orders."""
    from core.permissions import orders_visible_to, tasks_visible_to
    from supervision.models import InspectionTask, RectificationOrder

    inspector = roles_of(user).inspector
    tasks = (
        tasks_visible_to(user)
        .filter(
            enterprise=enterprise,
            inspectors=inspector,
            status__in=(InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS),
        )
        .order_by("due_to", "pk")[:10]
        if inspector
        else []
    )
    return {
        "my_tasks": list(tasks),
        "open_orders": list(
            orders_visible_to(user)
            .filter(enterprise=enterprise, status__in=RectificationOrder.OPEN)
            .order_by("deadline")[:10]
        ),
    }


def business_panel(*, user, enterprise: Enterprise) -> dict:
    """What a member sees first: the orders waiting for the business (or for the inspector's
    check), the latest inspections, and the latest one still to be rated (一业一评).
    Also meant for the business home page: {"enterprise": e, **business_panel(...)} per enterprise."""
    from core.permissions import inspections_visible_to, orders_visible_to
    from supervision.models import Inspection, RectificationOrder

    status = RectificationOrder.Status
    submitted = (
        inspections_visible_to(user)
        .filter(enterprise=enterprise, status=Inspection.Status.SUBMITTED)
        .order_by("-submitted_at")
    )
    return {
        "open_orders": list(
            orders_visible_to(user)
            .filter(enterprise=enterprise, status__in=(status.ISSUED, status.SUBMITTED, status.RETURNED))
            .order_by("deadline")[:10]
        ),
        "recent_inspections": list(submitted[:5]),
        "unrated_inspection": submitted.filter(evaluation__isnull=True).first(),
    }
