"""Risk, credit and tiers through the API: the ranking (filters and orders as on the regulators'
page), one enterprise's breakdown, the scoring policy versions and the background recompute.

Regulators and admins only (403 for any other role); rows are limited to the caller's scope by
supervision.risk.permissions.scores_visible_to, and an enterprise outside it is 404 like one that does not
exist. Changing the policy and starting a recompute need core.permissions.can_manage_scoring.
"""

from datetime import date, datetime
from typing import Any

from django.db.models import BooleanField, Case, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from core import permissions
from core.api_root import api as project_api
from core.api_schemas import ErrorOut
from core.errors import DomainError, NotFound
from core.models import Enterprise
from core.pagination import NoCountPagination, Page, PageUrls
from supervision.models import CreditEvent, CreditRating, RiskLevel, ScoreRun, ScoringPolicy
from supervision.risk import offsite, scoring
from supervision.risk import selectors as ranking
from supervision.risk import services as rescoring

router = Router(tags=["scoring"])
JSON = "application/json; charset=utf-8"
READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _ranking_reader(request) -> None:
    if not permissions.may_see_ranking(request.user):
        raise DomainError(_("Only regulators see the risk ranking."), code="forbidden", status=403)


def _scoring_manager(request) -> None:
    _ranking_reader(request)
    if not permissions.can_manage_scoring(request.user):
        raise DomainError(
            _("Only city-level regulators change the scoring policy."), code="forbidden", status=403
        )


# --- schemas ----------------------------------------------------------------------------------------


class RefOut(Schema):
    code: str
    name: str = Field(..., alias="display_name")


class OpenOrderOut(Schema):
    id: int
    number: str
    status: str
    deadline: datetime
    overdue: bool
    url: str = Field(..., description="the order's page")


class ScoreOut(Schema):
    uscc: str
    name: str
    licence_status: Enterprise.LicenceStatus = Field(
        ..., description="only active licences are listed unless the licence filter says otherwise"
    )
    district: RefOut
    scene: RefOut
    risk: float = Field(..., description="0-100; the sum of the factor contributions")
    risk_level: RiskLevel
    credit: CreditRating
    credit_points: int
    tier: int = Field(..., description="1 (lightest supervision) to 4 (closest)")
    open_orders: int
    overdue_orders: int
    last_inspected_on: date | None
    factors: dict[str, float] = Field(
        ...,
        description="factor -> points of the risk score: the nine built-in factors, then the off-site "
        "factors of the policy that computed it (by name)",
    )
    offsite_points: float = Field(..., description="the off-site factors' points together")
    policy_version: int
    as_of: datetime
    open_order: OpenOrderOut | None = Field(
        None,
        description="the order not closed yet with the earliest deadline, where the follow-up of "
        "the findings is tracked (live, not as of the score); null: none. Ranking list only.",
    )
    more_open_orders: int = Field(0, description="open orders besides open_order. Ranking list only.")


# The columns a row of the ranking API is written from (ScoreOut), read as values (one dict per
# row, no objects): EnterpriseScore's own, then its enterprise's, district's and scene's.
ROW_FIELDS = (
    "enterprise_id",
    *(f"risk_{factor}" for factor in scoring.FACTORS),
    "offsite",
    "risk_offsite",
    "risk",
    "risk_level",
    "credit",
    "credit_points",
    "tier",
    "open_orders",
    "overdue_orders",
    "last_inspected_on",
    "policy_id",
    "as_of",
    "enterprise__uscc",
    "enterprise__name",
    "enterprise__licence_status",
    "enterprise__district__code",
    "enterprise__district__name",
    "enterprise__district__name_en",
    "enterprise__scene__code",
    "enterprise__scene__name",
    "enterprise__scene__name_en",
)


def _ref(row: dict, prefix: str, english: bool) -> dict:
    """RefOut of a district or scene read as values (BilingualName.display_name's choice)."""
    name = row[f"{prefix}__name"]
    return {"code": row[f"{prefix}__code"], "name": (english and row[f"{prefix}__name_en"]) or name}


def _score_out(row: dict, *, policy: ScoringPolicy, orders: list, english: bool, order_url: PageUrls) -> dict:
    """ScoreOut of one score read as values (ROW_FIELDS), with its enterprise's open orders;
    ``order_url``: a page's PageUrls of the order page (one reverse() for all its rows)."""
    order = orders[0] if orders else None
    return {
        "uscc": row["enterprise__uscc"],
        "name": row["enterprise__name"],
        "licence_status": row["enterprise__licence_status"],
        "district": _ref(row, "enterprise__district", english),
        "scene": _ref(row, "enterprise__scene", english),
        "risk": row["risk"],
        "risk_level": row["risk_level"],
        "credit": row["credit"],
        "credit_points": row["credit_points"],
        "tier": row["tier"],
        "open_orders": row["open_orders"],
        "overdue_orders": row["overdue_orders"],
        "last_inspected_on": row["last_inspected_on"],
        "factors": ranking.contributions_of(row, policy),
        "offsite_points": row["risk_offsite"],
        "policy_version": policy.version,
        "as_of": row["as_of"],
        "open_order": None
        if order is None
        else {
            "id": order.pk,
            "number": order.number,
            "status": order.status,
            "deadline": order.deadline,
            "overdue": order.is_overdue,
            # Every ranker may open it (supervision.risk.selectors.open_orders_attach).
            "url": order_url(order.pk),
        },
        "more_open_orders": max(0, len(orders) - 1),
    }


def _english() -> bool:
    return (get_language() or "").startswith("en")


def score_row(score) -> dict:
    """ScoreOut of one score object (the breakdown's), as the ranking writes its rows."""
    enterprise = score.enterprise
    row = {field: getattr(score, field) for field in ROW_FIELDS if "__" not in field}
    for part in ("district", "scene"):
        ref = getattr(enterprise, part)
        row |= {f"enterprise__{part}__{f}": getattr(ref, f) for f in ("code", "name", "name_en")}
    row |= {f"enterprise__{f}": getattr(enterprise, f) for f in ("uscc", "name", "licence_status")}
    order = getattr(score, "open_order", None)
    orders = [] if order is None else [order] + [None] * getattr(score, "more_open_orders", 0)
    out = _score_out(
        row, policy=score.policy, orders=orders, english=_english(), order_url=PageUrls(ranking.ORDER_PAGE)
    )
    for part in ("district", "scene"):  # the breakdown's schema validates it: RefOut reads display_name
        out[part]["display_name"] = out[part]["name"]
    return out


def ranking_page(rows, *, page: int, page_size: int) -> dict:
    """PagedScoreOut of a ranking (supervision.risk.selectors.ranking): the page's rows as values,
    their policies and open orders in one query each."""
    found = Page(ranking.ranking_values(rows, ROW_FIELDS), page=page, page_size=page_size)
    policies = ScoringPolicy.objects.in_bulk({row["policy_id"] for row in found.items})
    orders = ranking.open_orders_of({row["enterprise_id"] for row in found.items})
    english, order_url = _english(), PageUrls(ranking.ORDER_PAGE)
    return {
        "items": [
            _score_out(
                row,
                policy=policies[row["policy_id"]],
                orders=orders.get(row["enterprise_id"], []),
                english=english,
                order_url=order_url,
            )
            for row in found.items
        ],
        "page": found.number,
        "page_size": found.page_size,
        "has_next": found.has_next,
    }


class RankingFilter(Schema):
    district: str | None = Field(None, max_length=12, description="division code; includes the levels below")
    scene: str | None = Field(None, max_length=40, description="scene code, e.g. catering")
    department: str | None = Field(None, max_length=40, description="the scenes this department supervises")
    tier: str | None = Field(None, max_length=2, description="1, 2, 3 or 4")
    risk_level: str | None = Field(None, max_length=10, description="low, medium or high")
    credit: str | None = Field(None, max_length=1, description="A, B, C or D")
    order: str | None = Field(
        None,
        max_length=10,
        # What each order ranks, in the words the page shows beside its order selector.
        description="risk (default), tier, credit or overdue. "
        + " ".join(f"{name}: {meaning}" for name, meaning in ranking.ORDER_MEANINGS.items()),
    )
    licence: str | None = Field(
        None,
        max_length=10,
        description="open (default): businesses with an active licence, the ones plans and draws can "
        "visit; closed: suspended, revoked or deregistered, to check that they stopped trading; all",
    )


class FactorOut(Schema):
    factor: str
    label: str
    kind: str = Field(
        ...,
        description="builtin, or an off-site factor's type: attribute, attribute_age, nearby, keyed "
        "(other departments' data, declared in the policy's params.offsite)",
    )
    weight: float
    points: float
    max_points: float = Field(..., description="100 * weight / sum of the weights")
    value: float | None = Field(..., description="the factor's feature in [0, 1]; null when its weight is 0")


class SignalOut(Schema):
    occurred_at: datetime
    kind: str
    value: float | None
    description: str
    source: str = Field(..., description="the data source's code")

    @staticmethod
    def resolve_source(obj) -> str:
        return obj.source.code


class NearbySignalOut(Schema):
    occurred_at: datetime
    distance_m: float = Field(..., description="from the enterprise, in metres")
    value: float | None
    description: str
    source: str = Field(..., description="the data source's code")


class NearbyOut(Schema):
    factor: str = Field(..., description="the nearby factor of the policy that counts these signals")
    kind: str
    radius_m: float
    window_days: float
    count: int = Field(..., description="signals of the kind within the radius in the window")
    newest: list[NearbySignalOut]


class RegisterFactOut(Schema):
    name: str
    value: str
    valid_from: date
    source: str = Field(..., description="the data source's code")

    @staticmethod
    def resolve_source(obj) -> str:
        return obj.source.code


class TierRuleOut(Schema):
    tier: int
    interval_days: float | None = Field(..., description="null: random draws only")
    draw_ratio: float


class CreditOut(Schema):
    rating: CreditRating
    points: int
    penalties: int
    late_orders: int
    unclosed_orders: int
    refusals: int
    dishonest: bool


class CreditEventOut(Schema):
    id: int
    kind: CreditEvent.Kind
    occurred_on: date
    ends_on: date | None
    reference: str
    note: str


class FindingFactOut(Schema):
    day: date
    severity: str
    text: str
    source: str = Field(..., description="history (imported) or inspection")


class OrderFactOut(Schema):
    number: str
    status: str
    deadline: datetime
    overdue: bool


class ComplaintFactOut(Schema):
    created_at: datetime
    status: str
    text: str


class BreakdownOut(Schema):
    score: ScoreOut | None = Field(..., description="null: not scored yet (until the next recompute)")
    factors: list[FactorOut]
    tier_rule: TierRuleOut | None
    credit: CreditOut | None
    credit_events: list[CreditEventOut]
    findings: list[FindingFactOut]
    open_orders: list[OrderFactOut]
    complaints: list[ComplaintFactOut]
    latest_self_inspection_at: datetime | None
    signals: list[SignalOut] = Field(..., description="the enterprise's own recent signals, newest first")
    register_facts: list[RegisterFactOut] = Field(
        ..., description="the value each register holds today for each attribute, by name"
    )
    nearby: list[NearbyOut] = Field(
        ...,
        description="per nearby factor, the located signals around the enterprise it counts, newest first",
    )


class PolicyOut(Schema):
    version: int
    weights: dict[str, float]
    params: dict[str, Any]
    note: str
    created_at: datetime
    created_by: str | None
    adopted_at: datetime | None
    is_current: bool
    model_card: dict[str, Any] | None = Field(
        ...,
        description="a calibrated version's model card: the weights it learnt with their uncertainty "
        "and the data they were learnt from (the page /ranking/policies/{version}/card); null for a "
        "version made by hand",
    )

    @staticmethod
    def resolve_created_by(obj) -> str | None:
        return obj.created_by.username if obj.created_by else None

    @staticmethod
    def resolve_model_card(obj) -> dict | None:
        return obj.model_card or None


class PolicyIn(Schema):
    # Loose types on purpose: validate_policy names every bad value (path -> reason) in one answer.
    weights: dict[str, Any] = Field(
        ..., description="factor -> weight (>= 0), every built-in factor and every off-site factor declared"
    )
    params: dict[str, Any] | None = Field(
        None,
        description="omitted: the current policy's parameters. params.offsite declares off-site factors "
        "(other departments' data), a list of {name, label: {zh, en}, type, ...}: type attribute "
        "{attribute, values: {value: 0..1}}, attribute_age {attribute, days}, nearby {kind, radius_m, "
        "half_life_days, window_days, saturation, distance_decay_m}, keyed {kind, half_life_days, "
        "window_days, saturation, use_value}; params.credit.signal_penalty_kinds: signal kinds that count "
        "as penalties. GET /scoring/offsite-example shows a complete example.",
    )
    note: str = Field("", max_length=300)
    adopt: bool = Field(False, description="false: saved as a candidate to compare before adopting")


class ScoreRunOut(Schema):
    id: int
    status: ScoreRun.Status
    policy_version: int
    done: int = Field(..., description="parts of the enterprise id range finished")
    total: int
    enterprises: int
    as_of: datetime | None
    seconds: float | None
    error: str
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_policy_version(obj) -> int:
        return obj.policy.version


# --- the ranking -------------------------------------------------------------------------------------


RANKING_DESCRIPTION = """Scores of the enterprises in the caller's scope, filtered and ordered as on the
regulators' ranking page.

What the risk score ranks: it adds up nine weighted factors and the policy's off-site factors
(other departments' data: registers, hotlines, devices) (``factors``, in points that sum to
``risk``). Eight estimate the risk of a serious violation (past violations, open rectification
orders, complaints, self-inspections, the scene's inherent risk, the licence). One, ``visit_gap``
(time since the last inspection against the interval of the tier), measures how due a visit is:
it drops to zero right after an inspection, so a business just inspected ranks below what its
findings alone would give; ``open_order`` shows where the follow-up of those findings is tracked.
Each policy version sets the weights (``GET /scoring/policies/{version}``).

By default only businesses with an active licence are listed (the ones plans and draws can
visit); ``licence=closed`` lists the suspended, revoked and deregistered ones, whose closure
should be checked, and ``licence=all`` both."""


# A page of the ranking, as core.pagination.NoCountPagination pages every list (and as @paginate
# documented it before the page was written here; no docstring: the document keeps its text).
class PagedScoreOut(Schema):
    items: list[ScoreOut]
    page: int
    page_size: int
    has_next: bool


@router.get("/ranking", response={200: PagedScoreOut, **READ_ERRORS}, description=RANKING_DESCRIPTION)
def list_ranking(
    request, filters: Query[RankingFilter], pagination: Query[NoCountPagination.Input]
) -> HttpResponse:
    _ranking_reader(request)
    parsed = ranking.ranking_filters_parse(**filters.dict())
    body = ranking_page(
        ranking.ranking(user=request.user, filters=parsed),
        page=pagination.page,
        page_size=pagination.page_size,
    )
    # Written as it is, not validated against PagedScoreOut again on the way out: that check of 50
    # rows of a dozen factors cost more than the rest of the request together. ranking_page builds
    # exactly PagedScoreOut (tests/supervision/risk/test_api.py validates pages against it).
    content = project_api.renderer.render(request, body, response_status=200)
    return HttpResponse(content, content_type=JSON)


def _breakdown(explanation: ranking.Explanation) -> dict:
    score = explanation.score
    credit = None
    if score is not None:
        credit = {
            "rating": score.credit,
            "points": score.credit_points,
            "penalties": score.credit_penalties,
            "late_orders": score.credit_late_orders,
            "unclosed_orders": score.credit_unclosed_orders,
            "refusals": score.credit_refusals,
            "dishonest": score.credit_dishonest,
        }
    return {
        "score": score_row(score) if score is not None else None,
        "factors": [
            {
                "factor": row.name,
                "label": row.label,
                "kind": row.kind,
                "weight": row.weight,
                "points": row.contribution,
                "max_points": row.maximum,
                "value": row.feature,
            }
            for row in explanation.factors
        ],
        "tier_rule": explanation.tier_rule,
        "credit": credit,
        "credit_events": explanation.credit_events,
        "findings": explanation.findings,
        "open_orders": [
            {"number": o.number, "status": o.status, "deadline": o.deadline, "overdue": o.is_overdue}
            for o in explanation.orders
        ],
        "complaints": [
            {"created_at": c.created_at, "status": c.status, "text": c.text[:500]}
            for c in explanation.complaints
        ],
        "latest_self_inspection_at": (
            explanation.self_inspection.submitted_at if explanation.self_inspection else None
        ),
        "signals": explanation.signals,
        "register_facts": explanation.register_facts,
        "nearby": [
            {
                "factor": group.factor,
                "kind": group.kind,
                "radius_m": group.radius_m,
                "window_days": group.window_days,
                "count": group.count,
                "newest": [
                    {
                        "occurred_at": near.signal.occurred_at,
                        "distance_m": near.distance_m,
                        "value": near.signal.value,
                        "description": near.signal.description,
                        "source": near.signal.source.code,
                    }
                    for near in group.newest
                ],
            }
            for group in explanation.nearby
        ],
    }


@router.get("/ranking/{uscc}", response={200: BreakdownOut, **READ_ERRORS})
def get_breakdown(request, uscc: str):
    _ranking_reader(request)
    enterprise = (
        permissions.ranked_enterprises_visible_to(request.user)
        .select_related("district", "scene")
        .filter(uscc=uscc.strip().upper())
        .first()
    )
    if enterprise is None:
        raise NotFound(_("No such enterprise."), code="not_found")
    explanation = ranking.score_explain(enterprise=enterprise)
    if explanation.score is not None:
        explanation.score.enterprise = enterprise
    return _breakdown(explanation)


# --- policies ----------------------------------------------------------------------------------------


def _policies():
    current = scoring.current_policy()
    return ScoringPolicy.objects.select_related("created_by").annotate(
        is_current=Case(
            When(pk=current.pk, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


@router.get("/scoring/policies", response={200: list[PolicyOut], **READ_ERRORS})
@paginate(NoCountPagination)
def list_policies(request):
    _ranking_reader(request)
    return _policies().order_by("-version")


@router.get("/scoring/policies/{version}", response={200: PolicyOut, **READ_ERRORS})
def get_policy(request, version: int):
    _ranking_reader(request)
    return get_object_or_404(_policies(), version=version)


@router.post("/scoring/policies", response={201: PolicyOut, **WRITE_ERRORS})
def create_policy(request, payload: PolicyIn):
    _scoring_manager(request)
    params = payload.params if payload.params is not None else scoring.current_policy().params
    policy = scoring.policy_create(
        actor=request.user, weights=payload.weights, params=params, note=payload.note, adopt=payload.adopt
    )
    return Status(201, _policies().get(pk=policy.pk))


class OffsiteExampleOut(Schema):
    offsite: list[dict[str, Any]] = Field(..., description="params.offsite of the example")
    weights: dict[str, float] = Field(..., description="the example's weight of each")


@router.get("/scoring/offsite-example", response={200: OffsiteExampleOut, **READ_ERRORS})
def get_offsite_example(request):
    """The example off-site factors for a city with a licence register, a health register and a
    hotline (supervision.risk.offsite.EXAMPLE_OFFSITE), to adopt as they are or to edit."""
    _ranking_reader(request)
    return {"offsite": offsite.EXAMPLE_OFFSITE, "weights": offsite.EXAMPLE_WEIGHTS}


@router.post("/scoring/offsite-example", response={201: PolicyOut, **WRITE_ERRORS})
def create_offsite_example(request):
    """A candidate version: the current policy with the example off-site factors added (those it
    already declares by the same names are kept)."""
    _scoring_manager(request)
    policy = scoring.policy_offsite_example(actor=request.user)
    return Status(201, _policies().get(pk=policy.pk))


@router.post("/scoring/policies/{version}/adopt", response={200: PolicyOut, **WRITE_ERRORS})
def adopt_policy(request, version: int):
    _scoring_manager(request)
    policy = get_object_or_404(ScoringPolicy, version=version)
    adopted = scoring.policy_adopt(actor=request.user, policy=policy)
    return _policies().get(pk=adopted.pk)


# --- recompute ---------------------------------------------------------------------------------------


@router.post("/scoring/recompute", response={202: ScoreRunOut, **WRITE_ERRORS})
def start_recompute(request):
    _scoring_manager(request)
    run = rescoring.score_run_start(actor=request.user)
    run.refresh_from_db()
    return Status(202, run)


@router.get("/scoring/runs/{run_id}", response={200: ScoreRunOut, **READ_ERRORS})
def get_run(request, run_id: int):
    _ranking_reader(request)
    return get_object_or_404(ScoreRun.objects.select_related("policy"), pk=run_id)
