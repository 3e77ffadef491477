"""Reads of the risk ranking (regulators): scores in the user's scope, filtered and ordered from
the indexed columns of EnterpriseScore, the distribution by district and tier, and the explanation
of one enterprise's score with the facts behind it.

Scores are written only by supervision.risk.scoring; nothing here computes one. Every read starts from
supervision.risk.permissions.scores_visible_to (or ranked_enterprises_visible_to), never from an id alone.
"""

import copy
import math
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core import permissions
from core.errors import DomainError
from core.models import Complaint, Department, District, Enterprise, Scene
from history.models import EnterpriseAttribute, HistoricalFinding, Signal
from supervision.models import (
    CreditEvent,
    CreditRating,
    EnterpriseScore,
    Finding,
    Inspection,
    RectificationOrder,
    RiskLevel,
    ScoringPolicy,
    SelfInspection,
)
from supervision.risk import offsite, offsite_sql
from supervision.risk.permissions import scores_visible_to
from supervision.risk.policies import factor_labels, risk_level
from supervision.risk.queries import complaints_query
from supervision.risk.scoring import FACTORS
from supervision.risk.sqltext import Scope

TIERS = (1, 2, 3, 4)
# Order name -> ORDER BY. "risk" and "tier" are served by the indexes score_ranking_risk and
# score_ranking_tier; "credit" and "overdue" sort the filtered rows (a district's, typically).
# enterprise_id, not enterprise: ordering by the relation would sort by the enterprise's USCC
# through a join instead of using the index's last column.
ORDERS = {
    "risk": ("-risk", "enterprise_id"),
    "tier": ("-tier", "-risk", "enterprise_id"),
    "credit": ("-credit", "-risk", "enterprise_id"),  # D (seriously untrustworthy) first
    "overdue": ("-overdue_orders", "-risk", "enterprise_id"),
}
# What each order ranks, in plain words (the page translates them beside the order selector; the
# API's documentation quotes them in English). Keep them true to ORDERS and SPLIT_ORDERS.
ORDER_MEANINGS = {
    "risk": gettext_noop(
        "Highest risk score first. The score adds up the risk of a serious violation and how due a "
        "visit is (the time since the last inspection against the tier's interval)."
    ),
    "tier": gettext_noop(
        "Closest supervision first (tier 4), then by risk score. The tier combines the risk level "
        "with the credit rating and sets the longest gap between inspections and the share drawn at "
        "random."
    ),
    "credit": gettext_noop(
        "Worst credit rating first (D, then C, then B), each by risk score; businesses rated A "
        "follow by risk score."
    ),
    "overdue": gettext_noop(
        "Most overdue rectification orders first, then by risk score; businesses without an "
        "overdue order follow by risk score."
    ),
}
# Which businesses a ranking lists, by licence status (core's Enterprise.visitable_q: only an
# active licence can be visited). "open" is the default: plans and draws skip closed businesses,
# so a visit ranking that led with them would rank visits nobody can make.
LICENCES = ("open", "closed", "all")
# How many facts of each kind the explanation lists (the newest first).
FACTS_LIMIT = 10
CREDIT_EVENTS_LIMIT = 20
REGISTER_ROWS = 500


class RankingError(DomainError):
    """A filter that names nothing known; ``details`` maps each bad filter to the reason."""

    status = 400


# --- filters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingFilters:
    district: District | None = None
    scene: Scene | None = None
    department: Department | None = None
    tier: int | None = None
    risk_level: str | None = None
    credit: str | None = None
    order: str = "risk"
    licence: str = "open"

    def as_data(self) -> dict:
        """The filters as codes, for the audit chain and for links."""
        return {
            "district": self.district.code if self.district else None,
            "scene": self.scene.code if self.scene else None,
            "department": self.department.code if self.department else None,
            "tier": self.tier,
            "risk_level": self.risk_level,
            "credit": self.credit,
            "order": self.order,
            "licence": self.licence,
        }


def _clean(value) -> str:
    return "" if value is None else str(value).strip()


def _by_code(model, code: str):
    # PostgreSQL refuses a NUL character in a query parameter (an error, not "no match"): a code
    # holding one names nothing, so it is not looked up at all.
    return None if "\x00" in code else model.objects.filter(code=code).first()


def _shown(code: str) -> str:
    return code.replace("\x00", "\\x00")


def ranking_filters_parse(
    *,
    district: str | None = None,
    scene: str | None = None,
    department: str | None = None,
    tier: str | int | None = None,
    risk_level: str | None = None,
    credit: str | None = None,
    order: str | None = None,
    licence: str | None = None,
) -> RankingFilters:
    """Filter values as given in a query string. An unknown value is an error (every bad one is
    named), never an empty ranking, so a typo is not mistaken for "no risky enterprises there"."""
    values = {
        "district": _clean(district),
        "scene": _clean(scene),
        "department": _clean(department),
        "tier": _clean(tier),
        "risk_level": _clean(risk_level),
        "credit": _clean(credit),
        "order": _clean(order),
        "licence": _clean(licence),
    }
    problems: dict[str, str] = {}
    parsed: dict = {}
    if values["district"]:
        parsed["district"] = _by_code(District, values["district"])
        if parsed["district"] is None:
            problems["district"] = _("Unknown district code %(code)s.") % {"code": _shown(values["district"])}
    if values["scene"]:
        parsed["scene"] = _by_code(Scene, values["scene"])
        if parsed["scene"] is None:
            problems["scene"] = _("Unknown scene %(code)s.") % {"code": _shown(values["scene"])}
    if values["department"]:
        parsed["department"] = _by_code(Department, values["department"])
        if parsed["department"] is None:
            problems["department"] = _("Unknown department %(code)s.") % {
                "code": _shown(values["department"])
            }
    if values["tier"]:
        if values["tier"] in {str(t) for t in TIERS}:
            parsed["tier"] = int(values["tier"])
        else:
            problems["tier"] = _("A tier is 1, 2, 3 or 4.")
    if values["risk_level"]:
        if values["risk_level"] in RiskLevel.values:
            parsed["risk_level"] = values["risk_level"]
        else:
            problems["risk_level"] = _("A risk level is low, medium or high.")
    if values["credit"]:
        rating = values["credit"].upper()
        if rating in CreditRating.values:
            parsed["credit"] = rating
        else:
            problems["credit"] = _("A credit rating is A, B, C or D.")
    if values["order"]:
        if values["order"] in ORDERS:
            parsed["order"] = values["order"]
        else:
            problems["order"] = _("Order by risk, tier, credit or overdue.")
    if values["licence"]:
        if values["licence"] in LICENCES:
            parsed["licence"] = values["licence"]
        else:
            problems["licence"] = _("List open, closed or all businesses.")
    if problems:
        raise RankingError(_("Some filters are not valid."), code="invalid_filter", details=problems)
    return RankingFilters(**parsed)


# --- the ranking ---------------------------------------------------------------------------------------


def ranking(*, user, filters: RankingFilters) -> QuerySet[EnterpriseScore]:
    """Scores of the enterprises in the user's ranking scope, filtered, in the chosen order.

    Unevaluated and uncounted: pages take a slice (core.pagination.Page), exports iterate.
    """
    # The policy by prefetch, not by join: a page's scores share one or two policies, and a join
    # would decode the policy's weights and parameters (JSON) again for every row.
    qs = (
        scores_visible_to(user)
        .select_related("enterprise__district", "enterprise__scene")
        .prefetch_related("policy")
    )
    if filters.district:
        qs = qs.filter(enterprise__district__path__startswith=filters.district.path)
    if filters.scene:
        qs = qs.filter(enterprise__scene=filters.scene)
    if filters.department:
        # Scenes the department supervises (Scene.departments); a subquery, so rows never repeat.
        qs = qs.filter(enterprise__scene__in=Scene.objects.filter(departments=filters.department))
    if filters.tier:
        qs = qs.filter(tier=filters.tier)
    if filters.risk_level:
        qs = qs.filter(risk_level=filters.risk_level)
    if filters.credit:
        qs = qs.filter(credit=filters.credit)
    # The licence status is read through the join to the enterprise the ranking makes anyway
    # (select_related, on its primary key), with no index or score column of its own: the first
    # page walks score_ranking_risk (or the order's index) in order and drops the rows of the other
    # list. Closed businesses crowd the top (their licence factor is maxed: 39 of the first 50 in
    # a 200,000-enterprise bench), so the default's first page reads ~140 index entries instead of
    # 51, and the closed list's ~70: a millisecond or two. The licence status copied onto the
    # score row (and into a partial index's condition) would cost every full recompute a column
    # write and a second copy of the status to keep in step, for no page that needs it.
    if filters.licence == "open":
        qs = qs.filter(Enterprise.visitable_q("enterprise__"))
    elif filters.licence == "closed":
        qs = qs.exclude(Enterprise.visitable_q("enterprise__"))
    if filters.order in SPLIT_ORDERS:
        head = SPLIT_ORDERS[filters.order]
        return Ranked(
            head=qs.filter(head).order_by(*ORDERS[filters.order]),
            tail=qs.exclude(head).order_by(*ORDERS["risk"]),
        )
    return qs.order_by(*ORDERS[filters.order])


def ranking_values(rows, fields):
    """A ranking (a QuerySet or Ranked) read as dicts of ``fields`` instead of scores with their
    enterprise, district, scene and policy objects: the API's page (supervision.risk.api), where
    building four objects per row cost more than its query."""
    if isinstance(rows, Ranked):
        return rows.values(*fields)
    return rows.prefetch_related(None).values(*fields)


# Orders whose first key is the same for almost every enterprise (credit A, no overdue order):
# sorting 2.5M rows by it would take seconds. The rows that differ come first from small partial
# indexes (EnterpriseScore.Meta.indexes), then everyone else in risk order, which is the same
# order "-credit, -risk" / "-overdue_orders, -risk" gives.
SPLIT_ORDERS = {"credit": ~Q(credit="A"), "overdue": Q(overdue_orders__gt=0)}


class Ranked:
    """Two ordered querysets read as one: slices (pages) and iteration (exports)."""

    def __init__(self, *, head: QuerySet, tail: QuerySet):
        self.head, self.tail = head, tail
        self._head_count = None

    def _count_head(self) -> int:
        if self._head_count is None:
            self._head_count = self.head.count()
        return self._head_count

    def __getitem__(self, item):
        if not isinstance(item, slice) or item.step is not None:
            raise TypeError("a ranking is read in slices")
        start, stop = item.start or 0, item.stop
        rows = list(self.head[start:stop])
        if stop is not None and len(rows) == stop - start:
            return rows
        skip = max(0, start - self._count_head())
        rest = None if stop is None else stop - start - len(rows)
        return rows + list(self.tail[skip : None if rest is None else skip + rest])

    def count(self) -> int:
        return self._count_head() + self.tail.count()

    def values(self, *fields):
        """The same ranking as dicts of ``fields`` (ranking_values)."""
        ranked = Ranked(head=ranking_values(self.head, fields), tail=ranking_values(self.tail, fields))
        ranked._head_count = self._head_count
        return ranked

    def iterator(self, chunk_size: int = 2000):
        yield from self.head.iterator(chunk_size=chunk_size)
        yield from self.tail.iterator(chunk_size=chunk_size)

    def __iter__(self):
        return self.iterator()


# --- what a page of the ranking shows beside the scores -------------------------------------------------


def open_orders_attach(scores: list[EnterpriseScore]) -> list[EnterpriseScore]:
    """Give each score ``open_order`` (its enterprise's order not closed yet with the earliest
    deadline, or None) and ``more_open_orders`` (how many others it has): one query for all rows.

    Open in the score's sense, as score_explain lists them (closed_at unset: answered and escalated
    orders too). The order is where the follow-up of a visit's findings is tracked, so a business
    whose fresh inspection emptied its visit-gap factor still shows what is pending. Live facts,
    not the score's open_orders count, which is as of the last rescore.

    Every ranker may open these orders' pages: the ranking's scope (core.permissions.ranking_q, a
    regulator's scope or an admin's everything) lies inside what
    supervision.inspections.permissions.orders_visible_to grants officials and admins. Risk may
    not import inspections (features of one layer stay independent), so the rule is not asked
    here; tests/supervision/risk/test_ranking_visitable.py checks every linked order against it.
    """
    by_enterprise = open_orders_of({score.enterprise_id for score in scores})
    for score in scores:
        orders = by_enterprise.get(score.enterprise_id, [])
        score.open_order = orders[0] if orders else None
        score.more_open_orders = max(0, len(orders) - 1)
    return scores


# The page of an order a ranking row links to (the page's and the API's), by name: risk may not import
# the inspections feature (independent of it in the features layer).
ORDER_PAGE = "loop:order"


def open_orders_of(enterprise_ids) -> dict[int, list[RectificationOrder]]:
    """The orders not closed yet of these enterprises, earliest deadline first: one query."""
    by_enterprise: dict[int, list[RectificationOrder]] = {}
    if enterprise_ids:
        orders = (
            RectificationOrder.objects.filter(enterprise_id__in=enterprise_ids, closed_at__isnull=True)
            .only("number", "status", "deadline", "enterprise")
            .order_by("enterprise_id", "deadline", "pk")
        )
        for order in orders:
            by_enterprise.setdefault(order.enterprise_id, []).append(order)
    return by_enterprise


class WithOpenOrders:
    """A ranking read in slices (core.pagination.Page), each slice's rows with their open orders
    (open_orders_attach): one query more per page, never one per row. Exports iterate the ranking
    itself and carry no order facts."""

    def __init__(self, rows):
        self.rows = rows

    def __getitem__(self, item):
        return open_orders_attach(list(self.rows[item]))


def due_points(policy: ScoringPolicy) -> float:
    """The most points of the 0-100 risk score that measure how due a visit is (the visit_gap
    factor: 100 * its weight / the sum of the weights, off-site factors' included, as
    supervision.risk.queries scores it)."""
    total = sum(float(w) for w in policy.weights.values())
    return 100.0 * float(policy.weights.get("visit_gap", 0)) / total if total else 0.0


def contributions(score: EnterpriseScore) -> dict[str, float]:
    """Factor -> points of the risk score: the built-in factors in FACTORS order, then the off-site
    factors in the order of the policy that computed the score; they add up to ``score.risk``."""
    return contributions_of(
        {f"risk_{factor}": getattr(score, f"risk_{factor}") for factor in FACTORS}
        | {"offsite": score.offsite},
        score.policy,
    )


def contributions_of(row: dict, policy: ScoringPolicy) -> dict[str, float]:
    """contributions() of a score read as a dict (its ``risk_<factor>`` and ``offsite`` columns)."""
    points = {factor: row[f"risk_{factor}"] for factor in FACTORS}
    stored = row["offsite"] or {}  # only the factors that gave points are stored
    for name in [*offsite.names(policy.params), *sorted(stored)]:
        points.setdefault(name, float(stored.get(name, 0.0)))
    return points


# --- the distribution ----------------------------------------------------------------------------------

# Path segment lengths: "110000/" (city), "110105/" (district), "110105001/" (street).
_CHILD_SEGMENT = {District.Level.CITY: 7, District.Level.DISTRICT: 10}


@dataclass(frozen=True)
class DistributionRow:
    label: str
    counts: tuple[int, ...]  # per tier, 1..4
    total: int


@dataclass(frozen=True)
class Distribution:
    base: District | None
    rows: list[DistributionRow]
    totals: tuple[int, ...]
    total: int

    @property
    def largest(self) -> int:
        return max((row.total for row in self.rows), default=0)


def _distribution_base(user, filters: RankingFilters) -> District | None:
    if filters.district:
        return filters.district
    regulator = permissions.roles_of(user).regulator
    return regulator.district if regulator and regulator.district_id else None


def distribution(*, user, filters: RankingFilters) -> Distribution:
    """How many enterprises of the (filtered) ranking fall in each tier, per district one level
    below the selected district (the city's districts, a district's streets). One grouped query;
    enterprises registered at the selected level itself form their own row."""
    base = _distribution_base(user, filters)
    # No base: the city's districts ("110000/110105/"); a street has no level below it.
    length = 14 if base is None else len(base.path) + _CHILD_SEGMENT.get(base.level, 0)
    grouped = (
        ranking(user=user, filters=replace(filters, order="risk"))  # order is irrelevant here
        .order_by()
        .values_list(Substr("enterprise__district__path", 1, length), "tier")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, list[int]] = {}
    for key, tier, n in grouped:
        counts.setdefault(key, [0, 0, 0, 0])[tier - 1] += n
    labels = {d.path: (d.code, d.display_name) for d in District.objects.filter(path__in=list(counts))}
    rows = [
        DistributionRow(label=labels.get(key, ("", key))[1], counts=tuple(row), total=sum(row))
        for key, row in sorted(counts.items(), key=lambda item: labels.get(item[0], (item[0],))[0])
    ]
    totals = tuple(sum(row.counts[i] for row in rows) for i in range(len(TIERS)))
    return Distribution(base=base, rows=rows, totals=totals, total=sum(totals))


# --- one enterprise's explanation ----------------------------------------------------------------------


@dataclass(frozen=True)
class FactorRow:
    name: str
    label: str
    weight: float
    contribution: float  # points of the 0-100 risk score
    maximum: float  # the most this factor can contribute: 100 * weight / sum(weights)
    feature: float | None  # the factor's value in [0, 1]; None when its weight is zero
    kind: str = "builtin"  # or the off-site factor's type (supervision.risk.offsite.TYPES)

    @property
    def offsite(self) -> bool:
        return self.kind != "builtin"

    @property
    def percent(self) -> float:
        """How far the enterprise fills this factor's share, for the bar (0-100)."""
        return round(100 * (self.feature or 0.0), 1)


@dataclass(frozen=True)
class FindingFact:
    day: object  # date
    severity: str
    severity_label: str
    text: str
    source: str  # "history" (imported) or "inspection" (ours)


@dataclass
class Explanation:
    enterprise: Enterprise
    score: EnterpriseScore | None
    policy: ScoringPolicy | None = None
    factors: list[FactorRow] = field(default_factory=list)
    tier_rule: dict | None = None
    credit_events: list[CreditEvent] = field(default_factory=list)
    findings: list[FindingFact] = field(default_factory=list)
    orders: list[RectificationOrder] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    self_inspection: SelfInspection | None = None
    # Other departments' data: the enterprise's own recent signals and its register facts (the
    # latest value of each attribute per source).
    signals: list[Signal] = field(default_factory=list)
    register_facts: list[EnterpriseAttribute] = field(default_factory=list)
    # Signals located near it that its nearby factors count (hotline complaints about the street).
    nearby: list["NearbySignals"] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(row.contribution for row in self.factors)

    @property
    def widest(self) -> float:
        return max((row.maximum for row in self.factors), default=0.0)


@dataclass
class NearbySignal:
    signal: Signal
    distance_m: float


@dataclass
class NearbySignals:
    """One nearby factor's signals around an enterprise: how many lie within its radius in its
    window, and the newest of them with their distance."""

    factor: str
    label: str
    kind: str
    radius_m: float
    window_days: float
    count: int
    newest: list[NearbySignal]


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * offsite_sql.EARTH_RADIUS_M * math.asin(math.sqrt(a))


def nearby_signals(
    *, enterprise: Enterprise, policy: ScoringPolicy, now=None, limit: int = FACTS_LIMIT
) -> list[NearbySignals]:
    """For each nearby factor of ``policy``: the located signals of its kind within its radius of
    the enterprise, in its window before ``now``, counted, and the ``limit`` newest listed. Exact
    distances (the score measures them on a grid: supervision.risk.offsite_sql, within a cell's
    diagonal), read through the (kind, latitude, longitude, occurred_at) index by a box."""
    if enterprise.latitude is None or enterprise.longitude is None:
        return []
    now = now or timezone.now()
    lat, lon = float(enterprise.latitude), float(enterprise.longitude)
    found = []
    for definition in offsite.definitions(policy.params):
        if definition.get("type") != "nearby":
            continue
        radius = float(definition["radius_m"])
        dlat = radius / offsite_sql.METRES_PER_DEGREE
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        window = float(definition["window_days"])
        candidates = Signal.objects.filter(
            kind=definition["kind"],
            latitude__range=(lat - dlat, lat + dlat),
            longitude__range=(lon - dlon, lon + dlon),
            occurred_at__gte=now - timedelta(days=window),
            occurred_at__lt=now,
        ).values_list("pk", "latitude", "longitude", "occurred_at")
        inside = []
        for pk, s_lat, s_lon, occurred_at in candidates:
            distance = _distance_m(lat, lon, s_lat, s_lon)
            if distance <= radius:
                inside.append((occurred_at, pk, distance))
        inside.sort(reverse=True)
        newest = inside[:limit]
        rows = Signal.objects.select_related("source").in_bulk([pk for _, pk, _ in newest])
        found.append(
            NearbySignals(
                factor=definition["name"],
                label=offsite.label(definition),
                kind=definition["kind"],
                radius_m=radius,
                window_days=window,
                count=len(inside),
                newest=[NearbySignal(rows[pk], round(distance)) for _, pk, distance in newest],
            )
        )
    return found


def factor_rows(score: EnterpriseScore, policy: ScoringPolicy) -> list[FactorRow]:
    """Each factor, built-in and off-site, with its weight and its feature, read back from the
    stored contribution: contribution = 100 * weight / sum(weights) * feature
    (supervision.risk.scoring)."""
    weights = {factor: float(weight) for factor, weight in policy.weights.items()}
    total = sum(weights.values())
    labels = factor_labels(policy)
    kinds = {d["name"]: d["type"] for d in offsite.definitions(policy.params)}
    rows = []
    for factor, points in contributions(score).items():
        weight = weights.get(factor, 0.0)
        maximum = 100.0 * weight / total if total else 0.0
        rows.append(
            FactorRow(
                name=factor,
                label=labels.get(factor, factor),
                weight=weight,
                contribution=points,
                maximum=maximum,
                # Off-site points go through JSON: keep the read-back inside [0, 1].
                feature=min(1.0, points * total / (100.0 * weight)) if weight else None,
                kind=kinds.get(factor, "builtin"),
            )
        )
    return rows


def tier_rule(policy: ScoringPolicy, tier: int) -> dict | None:
    """What a tier implies under the policy: the longest gap between inspections (None: random
    draws only) and the share of the tier drawn per year."""
    rule = policy.params.get("tiers", {}).get(str(tier))
    if not isinstance(rule, dict):
        return None
    ratio = rule.get("draw_ratio")
    return {
        "tier": tier,
        "interval_days": rule.get("interval_days"),
        "draw_ratio": ratio,
        "draw_percent": round(100 * float(ratio), 1) if ratio is not None else None,
    }


def _recent_findings(enterprise: Enterprise) -> list[FindingFact]:
    severities = dict(HistoricalFinding.Severity.choices)
    imported = (
        HistoricalFinding.objects.filter(inspection__enterprise=enterprise)
        .select_related("inspection")
        .order_by("-inspection__inspected_on", "-pk")[:FACTS_LIMIT]
    )
    ours = (
        Finding.objects.filter(
            inspection__enterprise=enterprise, inspection__status=Inspection.Status.SUBMITTED
        )
        .select_related("inspection", "item")
        .order_by("-inspection__submitted_at", "-pk")[:FACTS_LIMIT]
    )
    facts = [
        FindingFact(
            day=f.inspection.inspected_on,
            severity=f.severity,
            severity_label=str(severities.get(f.severity, f.severity)),
            text=f.description[:200] or f.violation_type,
            source="history",
        )
        for f in imported
    ]
    facts += [
        FindingFact(
            day=timezone.localdate(f.inspection.submitted_at),  # the local day, like every date shown
            severity=f.severity,
            severity_label=str(severities.get(f.severity, f.severity)),
            text=f.item.display_question[:200],
            source="inspection",
        )
        for f in ours
    ]
    facts.sort(key=lambda fact: fact.day, reverse=True)
    return facts[:FACTS_LIMIT]


def complaint_points(*, score: EnterpriseScore, statuses: tuple[str, ...]) -> float:
    """The complaints factor's points of ``score`` had it counted only the complaints in
    ``statuses``: the score's own SQL (supervision.risk.queries.complaints_query) under its policy
    and as of its moment. One query."""
    sql, params = complaints_query(
        policy=score.policy, as_of=score.as_of, scope=Scope(ids=(score.enterprise_id,)), statuses=statuses
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return float(row[1]) if row else 0.0


def score_counting_complaints(*, score: EnterpriseScore, statuses: tuple[str, ...]) -> EnterpriseScore:
    """A copy of ``score`` (never saved) whose complaints factor counts only the complaints in
    ``statuses``; the total and the risk level follow, the tier stays as scored. ``score`` itself
    when the factor comes out the same."""
    shown = complaint_points(score=score, statuses=statuses)
    if math.isclose(shown, score.risk_complaints, abs_tol=1e-9):
        return score
    seen = copy.copy(score)
    seen.risk_complaints = shown
    seen.risk = score.risk - score.risk_complaints + shown
    seen.risk_level = risk_level(seen.risk, score.policy.params)
    return seen


def score_explain(*, enterprise: Enterprise, facts: bool = True) -> Explanation:
    """The score of one enterprise (the caller has checked it may be seen) and why: each factor's
    contribution under the policy that computed it, what the tier implies, and — with ``facts`` —
    the newest findings, the orders still open, complaints that count, the latest self-inspection
    and the credit events, each list limited in size."""
    score = EnterpriseScore.objects.select_related("policy").filter(enterprise=enterprise).first()
    explanation = Explanation(enterprise=enterprise, score=score)
    if score is not None:
        explanation.policy = score.policy
        explanation.factors = factor_rows(score, score.policy)
        explanation.tier_rule = tier_rule(score.policy, score.tier)
    explanation.credit_events = list(
        CreditEvent.objects.filter(enterprise=enterprise)
        .select_related("recorded_by")
        .order_by("-occurred_on", "-pk")[:CREDIT_EVENTS_LIMIT]
    )
    if not facts:
        return explanation
    explanation.findings = _recent_findings(enterprise)
    # Open in the score's sense: not closed (answered and escalated ones too); overdue is shown
    # per order by RectificationOrder.is_overdue, the same rule as inspections.selectors.overdue_q.
    explanation.orders = list(
        RectificationOrder.objects.filter(enterprise=enterprise, closed_at__isnull=True).order_by(
            "deadline", "pk"
        )[:FACTS_LIMIT]
    )
    explanation.complaints = list(
        Complaint.objects.filter(enterprise=enterprise)
        .exclude(status__in=Complaint.NOT_COUNTED)
        .order_by("-created_at", "-pk")[:FACTS_LIMIT]
    )
    explanation.self_inspection = (
        SelfInspection.objects.filter(enterprise=enterprise, status=SelfInspection.Status.SUBMITTED)
        .order_by("-submitted_at")
        .first()
    )
    explanation.signals = list(
        Signal.objects.filter(enterprise=enterprise)
        .select_related("source")
        .order_by("-occurred_at", "-pk")[:FACTS_LIMIT]
    )
    explanation.register_facts = register_facts(enterprise)
    if score is not None:
        explanation.nearby = nearby_signals(enterprise=enterprise, policy=score.policy)
    return explanation


def register_facts(enterprise: Enterprise) -> list[EnterpriseAttribute]:
    """The value each register holds today for each attribute of the enterprise (the latest
    ``valid_from`` not after today, per source and name), by name. One query; a register keeps
    a few dozen rows per enterprise, at most REGISTER_ROWS are read."""
    today = timezone.localdate()
    rows = (
        EnterpriseAttribute.objects.filter(enterprise=enterprise, valid_from__lte=today)
        .select_related("source")
        .order_by("name", "source__code", "-valid_from", "-pk")[:REGISTER_ROWS]
    )
    latest: dict[tuple, EnterpriseAttribute] = {}
    for row in rows:
        latest.setdefault((row.name, row.source_id), row)
    return list(latest.values())
