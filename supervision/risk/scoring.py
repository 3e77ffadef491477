"""Risk scores, credit ratings and tiers, computed set-based in the database.

One SQL query (``score_query``) computes, for a range of enterprise ids and an "as of" moment,
every factor of the risk score, the credit rating and the tier. Three things use it:

- the full recompute: ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` over chunks of ids, run as a
  background task with progress (``recompute_all``);
- one enterprise right after an inspection, an order change or a complaint (``recompute_enterprise``);
- the back-test and the calibration, which score history as of a past date without writing.

Only facts dated before "as of" count, so a score as of 2015-09-01 reads exactly what a regulator
could have known that morning. Facts come from the loop (findings, orders, complaints,
self-inspections, credit events) and from imported history (history.HistoricalInspection).

The factors, each a feature in [0, 1] whose contribution is ``100 * weight / sum(weights) * feature``
(so the contributions add up to the score, 0-100):

- scene: the scene's inherent risk, (1..4 -> 0..1);
- violations: findings weighted by severity, halving every ``half_life_days``, saturating;
- orders: open rectification orders, overdue ones weighted more, saturating;
- complaints: complaints not dismissed, verified ones weighted more, decaying, saturating;
- self_missing: no submitted self-inspection within ``self_inspection_max_age_days``;
- self_noncompliant: share of items the latest self-inspection declared non-compliant;
- self_discrepancy: inspector findings, after that self-inspection, on items it declared compliant;
- visit_gap: days since the last inspection against the interval the enterprise's tier requires;
- licence: a licence that is not active, or a young one (risk fades over ``new_licence_days``).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from checklists.models import ChecklistItem
from core.audit import audit_record
from core.errors import DomainError
from core.models import Complaint, Enterprise, Scene
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import (
    CreditEvent,
    EnterpriseScore,
    Finding,
    Inspection,
    RectificationOrder,
    ScoringPolicy,
    SelfInspection,
    SelfInspectionAnswer,
)

FACTORS = {
    "scene": _("scene inherent risk"),
    "violations": _("violation history"),
    "orders": _("open and overdue rectification orders"),
    "complaints": _("complaints"),
    "self_missing": _("no recent self-inspection"),
    "self_noncompliant": _("self-declared non-compliance"),
    "self_discrepancy": _("declared compliant, found otherwise"),
    "visit_gap": _("time since the last inspection"),
    "licence": _("licence status and age"),
}
CREDIT_COUNTS = ("penalties", "late_orders", "unclosed_orders", "refusals")
RISK_LEVELS = ("low", "medium", "high")
RATINGS = ("A", "B", "C", "D")

# Version 1's values: a starting point regulators edit (every edit is a new version), not a constant
# the code reads. Chosen from the supervision practice described in the background articles, not
# fitted to any back-test window.
DEFAULT_WEIGHTS = {
    "scene": 10,
    "violations": 35,
    "orders": 10,
    "complaints": 10,
    "self_missing": 4,
    "self_noncompliant": 4,
    "self_discrepancy": 7,
    "visit_gap": 15,
    "licence": 5,
}
DEFAULT_PARAMS = {
    "half_life_days": 365,
    "severity_points": {"minor": 1, "major": 3, "critical": 8},
    "violations_saturation": 12,
    "orders_saturation": 2,
    "overdue_order_weight": 2,
    "complaints_saturation": 3,
    "complaint_half_life_days": 180,
    "verified_complaint_weight": 3,
    "self_inspection_max_age_days": 365,
    "discrepancy_saturation": 2,
    "new_licence_days": 730,
    # The interval visit_gap measures against when a tier sets none (draw-only tiers) and before
    # an enterprise has a tier.
    "default_interval_days": 365,
    "risk_thresholds": {"medium": 30, "high": 60},
    "credit": {
        "repair_days": 365,
        "points": {"penalty": 10, "late_order": 3, "unclosed_order": 5, "refusal": 10},
        "thresholds": {"B": 1, "C": 10, "D": 25},
    },
    # Tier 1 is the lightest supervision, 4 the closest. interval_days: the longest a tier may
    # go without an inspection (null: only random draws); draw_ratio: share drawn per year.
    "tiers": {
        "1": {"interval_days": None, "draw_ratio": 0.03},
        "2": {"interval_days": 730, "draw_ratio": 0.10},
        "3": {"interval_days": 365, "draw_ratio": 0.30},
        "4": {"interval_days": 91, "draw_ratio": 1.0},
    },
    "matrix": {
        "low": {"A": 1, "B": 2, "C": 3, "D": 4},
        "medium": {"A": 2, "B": 2, "C": 3, "D": 4},
        "high": {"A": 4, "B": 4, "C": 4, "D": 4},
    },
}
CHUNK = 100_000


class PolicyError(DomainError):
    """A scoring policy that cannot be used; ``details`` lists every problem (field -> reason)."""


# -- policy -------------------------------------------------------------------------------------


def _number(value, path: str, problems: dict, *, minimum: float = 0.0, maximum: float | None = None):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems[path] = "must be a number"
    elif value < minimum:
        problems[path] = f"must be at least {minimum:g}"
    elif maximum is not None and value > maximum:
        problems[path] = f"must be at most {maximum:g}"


def validate_policy(*, weights, params) -> None:
    """Refuse a policy with missing, negative or unknown weights or malformed parameters.

    Collects every problem before raising, so a regulator fixes the form in one go.
    """
    problems: dict[str, str] = {}
    if not isinstance(weights, dict):
        raise PolicyError(
            "weights must be an object", code="policy_invalid", details={"weights": "not an object"}
        )
    for factor in FACTORS:
        if factor not in weights:
            problems[f"weights.{factor}"] = "missing"
        else:
            _number(weights[factor], f"weights.{factor}", problems)
    for extra in sorted(set(weights) - set(FACTORS)):
        problems[f"weights.{extra}"] = "unknown factor"
    if not problems and sum(weights.values()) <= 0:
        problems["weights"] = "at least one weight must be above zero"
    if not isinstance(params, dict):
        problems["params"] = "not an object"
        raise PolicyError(_("The scoring policy is not valid."), code="policy_invalid", details=problems)

    def get(path: str):
        node = params
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                problems[f"params.{path}"] = "missing"
                return None
            node = node[part]
        return node

    for path in (
        "half_life_days",
        "violations_saturation",
        "orders_saturation",
        "complaints_saturation",
        "complaint_half_life_days",
        "self_inspection_max_age_days",
        "discrepancy_saturation",
        "new_licence_days",
        "default_interval_days",
        "credit.repair_days",
    ):
        value = get(path)
        if value is not None:
            _number(value, f"params.{path}", problems, minimum=1)
    for path in (
        "overdue_order_weight",
        "verified_complaint_weight",
        "severity_points.minor",
        "severity_points.major",
        "severity_points.critical",
        "credit.points.penalty",
        "credit.points.late_order",
        "credit.points.unclosed_order",
        "credit.points.refusal",
    ):
        value = get(path)
        if value is not None:
            _number(value, f"params.{path}", problems)
    medium, high = get("risk_thresholds.medium"), get("risk_thresholds.high")
    for path, value in (("risk_thresholds.medium", medium), ("risk_thresholds.high", high)):
        if value is not None:
            _number(value, f"params.{path}", problems, maximum=100)
    if isinstance(medium, int | float) and isinstance(high, int | float) and not medium < high:
        problems["params.risk_thresholds"] = "medium must be below high"
    credit = [get(f"credit.thresholds.{r}") for r in ("B", "C", "D")]
    for rating, value in zip(("B", "C", "D"), credit, strict=True):
        if value is not None:
            _number(value, f"params.credit.thresholds.{rating}", problems, minimum=1)
    if all(isinstance(v, int | float) for v in credit) and not credit[0] < credit[1] < credit[2]:
        problems["params.credit.thresholds"] = "B < C < D required"
    tiers = get("tiers")
    if isinstance(tiers, dict):
        if sorted(tiers) != ["1", "2", "3", "4"]:
            problems["params.tiers"] = "tiers 1, 2, 3 and 4 are required"
        for tier, rule in tiers.items():
            if not isinstance(rule, dict):
                problems[f"params.tiers.{tier}"] = "not an object"
                continue
            interval = rule.get("interval_days")
            if interval is not None:
                _number(interval, f"params.tiers.{tier}.interval_days", problems, minimum=1)
            if "draw_ratio" not in rule:
                problems[f"params.tiers.{tier}.draw_ratio"] = "missing"
            else:
                _number(rule["draw_ratio"], f"params.tiers.{tier}.draw_ratio", problems, maximum=1)
    matrix = get("matrix")
    if isinstance(matrix, dict):
        for level in RISK_LEVELS:
            row = matrix.get(level)
            for rating in RATINGS:
                cell = row.get(rating) if isinstance(row, dict) else None
                if cell not in (1, 2, 3, 4):
                    problems[f"params.matrix.{level}.{rating}"] = "must be a tier 1-4"
    if problems:
        raise PolicyError(_("The scoring policy is not valid."), code="policy_invalid", details=problems)


def current_policy() -> ScoringPolicy:
    """The adopted policy with the highest version; version 1 from the defaults on first use."""
    policy = ScoringPolicy.objects.filter(adopted_at__isnull=False).order_by("-version").first()
    if policy is None:
        with transaction.atomic():
            policy, _created = ScoringPolicy.objects.get_or_create(
                version=1,
                defaults={
                    "weights": DEFAULT_WEIGHTS,
                    "params": DEFAULT_PARAMS,
                    "note": "initial policy",
                    "adopted_at": timezone.now(),
                },
            )
    return policy


@transaction.atomic
def policy_create(*, actor, weights, params, note: str = "", adopt: bool = True) -> ScoringPolicy:
    """A new policy version (validated, audited); adopted at once unless it is a candidate."""
    validate_policy(weights=weights, params=params)
    current_policy()  # version 1 is always the defaults, adopted: a candidate is never the first
    # Lock the newest row so two regulators saving at once get consecutive versions.
    last = ScoringPolicy.objects.select_for_update().order_by("-version").first()
    now = timezone.now()
    policy = ScoringPolicy.objects.create(
        version=(last.version if last else 0) + 1,
        weights={factor: weights[factor] for factor in FACTORS},
        params=params,
        note=note[:300],
        created_by=actor,
        adopted_at=now if adopt else None,
        adopted_by=actor if adopt else None,
    )
    audit_record(
        actor=actor,
        action="scoring.policy_create",
        target=policy,
        data={"version": policy.version, "weights": policy.weights, "params": params, "adopted": adopt},
    )
    return policy


@transaction.atomic
def policy_adopt(*, actor, policy: ScoringPolicy) -> ScoringPolicy:
    policy = ScoringPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.adopted_at is not None and policy == current_policy():
        raise DomainError(_("This version is already the current policy."), code="already_current")
    validate_policy(weights=policy.weights, params=policy.params)
    # Adopting an older version again makes it current: re-issue it as the newest version, so
    # "current = highest adopted version" stays the one rule.
    newest = ScoringPolicy.objects.order_by("-version").first()
    if policy.adopted_at is not None or policy.version != newest.version:
        return policy_create(
            actor=actor,
            weights=policy.weights,
            params=policy.params,
            note=f"re-adopted v{policy.version}",
        )
    policy.adopted_at, policy.adopted_by = timezone.now(), actor
    policy.save(update_fields=["adopted_at", "adopted_by"])
    audit_record(actor=actor, action="scoring.policy_adopt", target=policy, data={"version": policy.version})
    return policy


# -- the query ----------------------------------------------------------------------------------


def _lit(value) -> str:
    """A policy number as an SQL float literal. Policies are validated numbers, never user text.

    PostgreSQL reads a bare ``0.5`` as numeric, and numeric arithmetic is several times slower
    than double precision (and comes back as Decimal): say float8.
    """
    number = repr(float(value))
    return f"{number}::float8" if connection.vendor == "postgresql" else number


def _day(column: str, *, timestamp: bool = False) -> str:
    """Days since 1970-01-01 of a date (or timestamp) column, as a number, in this database."""
    if connection.vendor == "postgresql":
        return (
            f"(EXTRACT(EPOCH FROM {column})::float8 / 86400)"
            if timestamp
            else f"({column} - DATE '1970-01-01')::float8"
        )
    return f"(julianday({column}) - 2440587.5)"


def _to_date(column: str, moment: datetime) -> str:
    """The local date of a UTC timestamp column (the project's time zone, at ``moment``'s offset)."""
    if connection.vendor == "postgresql":
        zone = str(timezone.get_current_timezone()).replace("'", "")
        return f"CAST({column} AT TIME ZONE '{zone}' AS date)"
    minutes = round(_local_offset_days(moment) * 1440)
    return f"date({column}, '{minutes:+d} minutes')"


def _epoch_days(moment: datetime) -> float:
    """Days since 1970-01-01 on the local wall clock, the scale dates are on (a date is its local
    midnight). Timestamps in the database are UTC: ``_day(..., timestamp=True)`` plus the local
    offset puts them on the same scale."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return (local.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds() / 86400.0


def _local_offset_days(moment: datetime) -> float:
    offset = timezone.localtime(moment).utcoffset() if timezone.is_aware(moment) else None
    return offset.total_seconds() / 86400.0 if offset else 0.0


def _decay(age_days_sql: str, half_life) -> str:
    return f"EXP(-({age_days_sql}) * {_lit(math.log(2) / float(half_life))})"


def _saturate(x_sql: str, saturation) -> str:
    return f"({_lit(1)} - EXP(-({x_sql}) / {_lit(saturation)}))"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _adapt(params: list) -> list:
    """Raw SQL gets no field conversion: store datetimes the way the ORM does (SQLite keeps UTC
    text, and an aware +08:00 value would compare as text against it, hours off)."""
    return [
        connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
        for value in params
    ]


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@dataclass(frozen=True)
class Scope:
    """Which enterprises a query covers: an id range [lo, hi), or an explicit list."""

    lo: int | None = None
    hi: int | None = None
    ids: tuple[int, ...] | None = None

    def sql(self, column: str) -> str:
        if self.ids is not None:
            return f"{column} IN ({', '.join(str(int(i)) for i in self.ids) or 'NULL'})"
        parts = []
        if self.lo is not None:
            parts.append(f"{column} >= {int(self.lo)}")
        if self.hi is not None:
            parts.append(f"{column} < {int(self.hi)}")
        return " AND ".join(parts) or "1 = 1"


def features_query(*, policy: ScoringPolicy, as_of: datetime, scope: Scope) -> tuple[str, list]:
    """SQL for one row per enterprise in scope: every factor's feature (x_*, in [0, 1]) and the
    raw counts behind the credit rating, from facts strictly before ``as_of``.

    ``x_visit_gap`` here is measured against the policy's default interval (calibration reads it);
    the score measures ``gap_days`` against the interval of the enterprise's tier (score_query).
    Nothing stored is read (no earlier score, no stored tier), so a past "as of" scores exactly as
    it would have then.
    """
    p = policy.params
    sev = p["severity_points"]
    credit = p["credit"]
    as_of_day = _epoch_days(as_of)
    # Timestamps (UTC in the database) as local days: the age is as_of_day - ts_day.
    ts_day = _epoch_days(as_of) - _local_offset_days(as_of)
    local = timezone.localtime(as_of) if timezone.is_aware(as_of) else as_of
    as_of_date = local.date()
    # A dated fact (an imported inspection, a credit event) counts once its day has begun: as of
    # midnight (the back-test's START) that day is not yet known, as of 15:00 it is.
    begun = as_of_date if local.time() == datetime.min.time() else as_of_date + timedelta(days=1)
    repair_from = as_of - timedelta(days=float(credit["repair_days"]))
    si_from = as_of - timedelta(days=float(p["self_inspection_max_age_days"]))
    severity_case = (
        f"CASE {{col}} WHEN 'critical' THEN {_lit(sev['critical'])} "
        f"WHEN 'major' THEN {_lit(sev['major'])} ELSE {_lit(sev['minor'])} END"
    )
    params: list = []
    one, zero = _lit(1), _lit(0)
    half_life, c_half_life = p["half_life_days"], p["complaint_half_life_days"]

    # Violation points: imported history and our own submitted inspections, decayed to as_of.
    hist_violations = f"""
        SELECT hi.enterprise_id AS eid,
               SUM({severity_case.format(col="hf.severity")}
                   * {_decay(f"{_lit(as_of_day)} - {_day('hi.inspected_on')}", p["half_life_days"])}) AS pts
        FROM {_t(HistoricalFinding)} hf JOIN {_t(HistoricalInspection)} hi ON hi.id = hf.inspection_id
        WHERE hi.inspected_on < %s AND {scope.sql("hi.enterprise_id")}
        GROUP BY hi.enterprise_id"""
    params.append(begun)
    own_violations = f"""
        SELECT i.enterprise_id AS eid,
               SUM({severity_case.format(col="f.severity")}
                   * {_decay(f"{_lit(ts_day)} - {_day('i.submitted_at', timestamp=True)}", half_life)})
                   AS pts
        FROM {_t(Finding)} f JOIN {_t(Inspection)} i ON i.id = f.inspection_id
        WHERE i.status = 'submitted' AND i.submitted_at < %s AND {scope.sql("i.enterprise_id")}
        GROUP BY i.enterprise_id"""
    params.append(as_of)
    last_visit = f"""
        SELECT eid, MAX(d) AS d FROM (
            SELECT hi.enterprise_id AS eid, MAX(hi.inspected_on) AS d
            FROM {_t(HistoricalInspection)} hi
            WHERE hi.inspected_on < %s AND {scope.sql("hi.enterprise_id")}
            GROUP BY hi.enterprise_id
            UNION ALL
            SELECT i.enterprise_id, MAX({_to_date("i.submitted_at", as_of)})
            FROM {_t(Inspection)} i
            WHERE i.status = 'submitted' AND i.submitted_at < %s AND {scope.sql("i.enterprise_id")}
            GROUP BY i.enterprise_id
        ) visits GROUP BY eid"""
    params += [begun, as_of]
    # An order is open at as_of if it was issued before and not closed by then; overdue if its
    # deadline had passed while the business still owed an answer (inspections.selectors.overdue_q).
    orders = f"""
        SELECT o.enterprise_id AS eid,
               SUM(CASE WHEN o.closed_at IS NULL OR o.closed_at >= %s THEN 1 ELSE 0 END) AS open_n,
               SUM(CASE WHEN (o.closed_at IS NULL OR o.closed_at >= %s) AND o.deadline < %s
                         AND o.status IN ('issued', 'returned', 'escalated', 'closed') THEN 1 ELSE 0 END)
                   AS overdue_n,
               SUM(CASE WHEN o.closed_at >= %s AND o.closed_at < %s AND o.closed_at > o.deadline
                        THEN 1 ELSE 0 END) AS late_n
        FROM {_t(RectificationOrder)} o
        WHERE o.issued_at < %s AND {scope.sql("o.enterprise_id")}
        GROUP BY o.enterprise_id"""
    params += [as_of, as_of, as_of, repair_from, as_of, as_of]
    not_counted = ", ".join(f"'{s}'" for s in Complaint.NOT_COUNTED)
    complaints = f"""
        SELECT c.enterprise_id AS eid,
               SUM(CASE WHEN c.status = 'verified' THEN {_lit(p["verified_complaint_weight"])} ELSE {one} END
                   * {_decay(f"{_lit(ts_day)} - {_day('c.created_at', timestamp=True)}", c_half_life)})
                   AS pts
        FROM {_t(Complaint)} c
        WHERE c.created_at < %s AND c.status NOT IN ({not_counted}) AND {scope.sql("c.enterprise_id")}
        GROUP BY c.enterprise_id"""
    params.append(as_of)
    # The latest self-inspection submitted before as_of, its non-compliant share, and the findings
    # inspectors made afterwards on items it declared compliant (matched by the items' stable codes,
    # which survive new checklist versions).
    latest_si = f"""
        SELECT s.enterprise_id AS eid, MAX(s.submitted_at) AS at
        FROM {_t(SelfInspection)} s
        WHERE s.status = 'submitted' AND s.submitted_at < %s AND {scope.sql("s.enterprise_id")}
        GROUP BY s.enterprise_id"""
    params.append(as_of)
    self_inspection = f"""
        SELECT ls.eid, ls.at,
               SUM(CASE WHEN a.result = 'non_compliant' THEN 1 ELSE 0 END) AS bad,
               SUM(CASE WHEN a.result IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END) AS answered
        FROM ({latest_si}) ls
        JOIN {_t(SelfInspection)} s ON s.enterprise_id = ls.eid AND s.submitted_at = ls.at
        LEFT JOIN {_t(SelfInspectionAnswer)} a ON a.self_inspection_id = s.id
        GROUP BY ls.eid, ls.at"""
    discrepancy = f"""
        SELECT ls.eid, COUNT(DISTINCT f.id) AS n
        FROM ({latest_si}) ls
        JOIN {_t(SelfInspection)} s ON s.enterprise_id = ls.eid AND s.submitted_at = ls.at
        JOIN {_t(SelfInspectionAnswer)} a ON a.self_inspection_id = s.id AND a.result = 'compliant'
        JOIN {_t(ChecklistItem)} sit ON sit.id = a.item_id
        JOIN {_t(Inspection)} i ON i.enterprise_id = ls.eid AND i.status = 'submitted'
             AND i.submitted_at > ls.at AND i.submitted_at < %s
        JOIN {_t(Finding)} f ON f.inspection_id = i.id
        JOIN {_t(ChecklistItem)} fit ON fit.id = f.item_id AND fit.code = sit.code
        GROUP BY ls.eid"""
    params += [as_of, as_of]
    credit_events = f"""
        SELECT ce.enterprise_id AS eid,
               SUM(CASE WHEN ce.kind = 'penalty' AND ce.occurred_on >= %s THEN 1 ELSE 0 END) AS penalties,
               SUM(CASE WHEN ce.kind = 'refusal' AND ce.occurred_on >= %s THEN 1 ELSE 0 END) AS refusals,
               MAX(CASE WHEN ce.kind = 'dishonesty' AND (ce.ends_on IS NULL OR ce.ends_on > %s)
                        THEN 1 ELSE 0 END) AS dishonest
        FROM {_t(CreditEvent)} ce
        WHERE ce.occurred_on < %s AND {scope.sql("ce.enterprise_id")}
        GROUP BY ce.enterprise_id"""
    repair_from_date = (as_of_date - timedelta(days=float(credit["repair_days"]))).isoformat()
    params += [repair_from_date, repair_from_date, as_of_date, begun]

    order_load = (
        f"COALESCE(o.open_n, 0) + {_lit(float(p['overdue_order_weight']) - 1)} * COALESCE(o.overdue_n, 0)"
    )
    default_interval = _lit(p["default_interval_days"])
    sql = f"""
    SELECT e.id AS enterprise_id,
        (s.inherent_risk - 1) / {_lit(3)} AS x_scene,
        {_saturate("COALESCE(hv.pts, 0) + COALESCE(ov.pts, 0)", p["violations_saturation"])} AS x_violations,
        {_saturate(order_load, p["orders_saturation"])} AS x_orders,
        {_saturate("COALESCE(c.pts, 0)", p["complaints_saturation"])} AS x_complaints,
        CASE WHEN si.at IS NULL OR si.at < %s THEN {one} ELSE {zero} END AS x_self_missing,
        CASE WHEN si.answered > 0 THEN {one} * si.bad / si.answered ELSE {zero} END AS x_self_noncompliant,
        {_saturate("COALESCE(dc.n, 0)", p["discrepancy_saturation"])} AS x_self_discrepancy,
        CASE WHEN lv.d IS NULL THEN {one}
             WHEN ({_lit(as_of_day)} - {_day("lv.d")}) >= {default_interval} THEN {one}
             ELSE ({_lit(as_of_day)} - {_day("lv.d")}) / {default_interval} END AS x_visit_gap,
        {_lit(as_of_day)} - {_day("lv.d")} AS gap_days,
        CASE WHEN e.licence_status <> 'active' THEN {one}
             WHEN e.opened_on IS NULL OR e.opened_on >= %s THEN {zero}
             WHEN ({_lit(as_of_day)} - {_day("e.opened_on")}) >= {_lit(p["new_licence_days"])} THEN {zero}
             ELSE {one} - ({_lit(as_of_day)} - {_day("e.opened_on")}) / {_lit(p["new_licence_days"])} END
            AS x_licence,
        COALESCE(o.open_n, 0) AS open_orders,
        COALESCE(o.overdue_n, 0) AS overdue_orders,
        lv.d AS last_inspected_on,
        COALESCE(ce.penalties, 0) AS penalties,
        COALESCE(o.late_n, 0) AS late_orders,
        COALESCE(o.overdue_n, 0) AS unclosed_orders,
        COALESCE(ce.refusals, 0) AS refusals,
        COALESCE(ce.dishonest, 0) AS dishonest
    FROM {_t(Enterprise)} e
    JOIN {_t(Scene)} s ON s.id = e.scene_id
    LEFT JOIN ({hist_violations}) hv ON hv.eid = e.id
    LEFT JOIN ({own_violations}) ov ON ov.eid = e.id
    LEFT JOIN ({last_visit}) lv ON lv.eid = e.id
    LEFT JOIN ({orders}) o ON o.eid = e.id
    LEFT JOIN ({complaints}) c ON c.eid = e.id
    LEFT JOIN ({self_inspection}) si ON si.eid = e.id
    LEFT JOIN ({discrepancy}) dc ON dc.eid = e.id
    LEFT JOIN ({credit_events}) ce ON ce.eid = e.id
    WHERE {scope.sql("e.id")}"""
    # The outer placeholders come first in the text: self-inspection age, licence opened_on.
    return sql, _adapt([si_from, begun, *params])


def score_query(*, policy: ScoringPolicy, as_of: datetime, scope: Scope) -> tuple[str, list]:
    """SQL for one row per enterprise in scope with every column of EnterpriseScore.

    The visit gap is measured against the interval of the tier that the *other* factors and the
    credit rating give: reading the stored tier instead would feed each recompute's result into
    the next one (a tier that lowers the risk that sets the tier can oscillate), and a score must
    be the same however often it is recomputed.
    """
    features, params = features_query(policy=policy, as_of=as_of, scope=scope)
    p, w = policy.params, policy.weights
    total = sum(float(v) for v in w.values())
    scale = {factor: _lit(100.0 * float(w[factor]) / total) for factor in FACTORS}
    base_factors = [factor for factor in FACTORS if factor != "visit_gap"]
    contributions = ",\n            ".join(
        f"{scale[factor]} * f.x_{factor} AS risk_{factor}" for factor in base_factors
    )
    base_sum = " + ".join(f"c.risk_{factor}" for factor in base_factors)
    points = p["credit"]["points"]
    thresholds = p["credit"]["thresholds"]
    risk_t = p["risk_thresholds"]
    matrix = p["matrix"]
    credit_points = " + ".join(
        f"f.{count} * {_lit(points[point])}"
        for count, point in (
            ("penalties", "penalty"),
            ("late_orders", "late_order"),
            ("unclosed_orders", "unclosed_order"),
            ("refusals", "refusal"),
        )
    )

    # Simple CASE forms ("CASE x WHEN ...") evaluate x once. PostgreSQL flattens the nested SELECTs
    # below into one expression tree, so a searched CASE repeating its operand in every branch
    # would multiply the whole base-risk expression (dozens of copies: slow to evaluate and, with
    # JIT on, minutes to compile).
    def level(column: str) -> str:
        return (
            f"CASE WHEN {column} >= {_lit(risk_t['high'])} THEN 'high' "
            f"WHEN {column} >= {_lit(risk_t['medium'])} THEN 'medium' ELSE 'low' END"
        )

    def tier(level_sql: str, credit_sql: str) -> str:
        cells = " ".join(
            f"WHEN '{lvl}{rating}' THEN {int(matrix[lvl][rating])}"
            for lvl in RISK_LEVELS
            for rating in RATINGS
        )
        return f"CASE ({level_sql}) || ({credit_sql}) {cells} ELSE 4 END"

    # A fence keeps a subquery from being flattened into its parent, so each layer's columns are
    # computed once per row instead of being re-expanded wherever the next layer uses them.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else " LIMIT -1 OFFSET 0"
    intervals = " ".join(
        f"WHEN {int(t)} THEN {_lit(rule['interval_days'] or p['default_interval_days'])}"
        for t, rule in sorted(p["tiers"].items())
    )
    gap = f"COALESCE({_least(f'b.gap_days / (CASE b.base_tier {intervals} END)', _lit(1))}, {_lit(1)})"
    sql = f"""
    SELECT v.*, {level("v.risk")} AS risk_level, {tier(level("v.risk"), "v.credit")} AS tier FROM (
      SELECT b.*, {scale["visit_gap"]} * ({gap}) AS risk_visit_gap,
             b.base_risk + {scale["visit_gap"]} * ({gap}) AS risk
      FROM (
        SELECT r.*, {tier(level("r.base_risk"), "r.credit")} AS base_tier FROM (
          SELECT c.*, {base_sum} AS base_risk,
            CASE WHEN c.credit_dishonest = 1 OR c.credit_points >= {_lit(thresholds["D"])} THEN 'D'
                 WHEN c.credit_points >= {_lit(thresholds["C"])} THEN 'C'
                 WHEN c.credit_points >= {_lit(thresholds["B"])} THEN 'B' ELSE 'A' END AS credit
          FROM (
            SELECT f.enterprise_id,
            {contributions},
            f.gap_days, f.open_orders, f.overdue_orders, f.last_inspected_on,
            f.penalties AS credit_penalties, f.late_orders AS credit_late_orders,
            f.unclosed_orders AS credit_unclosed_orders, f.refusals AS credit_refusals,
            f.dishonest AS credit_dishonest,
            CAST(ROUND({credit_points}) AS INTEGER) AS credit_points
            FROM ({features}) f{fence}
          ) c{fence}
        ) r
      ) b{fence}
    ) v"""
    return sql, params


SCORE_COLUMNS = (
    "enterprise_id",
    *(f"risk_{factor}" for factor in FACTORS),
    "open_orders",
    "overdue_orders",
    "last_inspected_on",
    "credit_penalties",
    "credit_late_orders",
    "credit_unclosed_orders",
    "credit_refusals",
    "credit_dishonest",
    "credit_points",
    "risk",
    "risk_level",
    "credit",
    "tier",
)


def upsert_query(*, policy: ScoringPolicy, as_of: datetime, scope: Scope) -> tuple[str, list]:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE: the scores of every enterprise in scope."""
    select, params = score_query(policy=policy, as_of=as_of, scope=scope)
    columns = [*SCORE_COLUMNS, "policy_id", "as_of"]
    table = _t(EnterpriseScore)
    dishonest = "q.credit_dishonest = 1" if connection.vendor == "postgresql" else "q.credit_dishonest"
    select_list = ", ".join(
        f"({dishonest})" if column == "credit_dishonest" else f"q.{column}" for column in SCORE_COLUMNS
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "enterprise_id")
    # "WHERE 1 = 1" keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    sql = f"""
    INSERT INTO {table} ({", ".join(columns)})
    SELECT {select_list}, {int(policy.pk)}, %s FROM ({select}) q WHERE 1 = 1
    ON CONFLICT (enterprise_id) DO UPDATE SET {updates}"""
    # The as_of placeholder in the select list comes before the subquery's placeholders.
    return sql, [*_adapt([as_of]), *params]


# -- recompute ----------------------------------------------------------------------------------


def _run(sql: str, params: list, *, fetch: bool = False) -> list[dict] | None:
    """Execute a scoring statement in its own transaction (or the caller's).

    PostgreSQL's JIT stays off for it through the connection options (config/settings.py):
    compiling the score's long expression costs more than it saves, and LLVM's compiler does not
    answer cancel requests.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not fetch:
            return None
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class RecomputeReport:
    policy_version: int
    as_of: datetime
    enterprises: int
    chunks: int
    seconds: float


def recompute_enterprise(*, enterprise_id: int, policy: ScoringPolicy | None = None) -> None:
    """Rescore one enterprise now (after an inspection, an order change, a complaint)."""
    policy = policy or current_policy()
    sql, params = upsert_query(policy=policy, as_of=timezone.now(), scope=Scope(ids=(enterprise_id,)))
    _run(sql, params)


def rescore_on_commit(enterprise_id: int) -> None:
    """Rescore an enterprise once the caller's transaction commits (after an inspection, an order
    change, a complaint). After, not inside: a scoring failure must never undo the business
    action that caused it (robust: it is logged), and the next full recompute repairs the row."""
    transaction.on_commit(partial(recompute_enterprise, enterprise_id=enterprise_id), robust=True)


def recompute_all(
    *,
    policy: ScoringPolicy | None = None,
    as_of: datetime | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> RecomputeReport:
    """Rescore every enterprise, one set-based statement per chunk of ids (each its own transaction,
    so locks stay short and a crash loses at most one chunk, which the next run redoes)."""
    started = time.perf_counter()
    policy = policy or current_policy()
    as_of = as_of or timezone.now()
    bounds = Enterprise.objects.aggregate(lo=Min("id"), hi=Max("id"))
    lo, hi = bounds["lo"], bounds["hi"]
    count = 0
    if lo is not None:
        starts = list(range(lo, hi + 1, chunk))
        for done, start in enumerate(starts, 1):
            sql, params = upsert_query(policy=policy, as_of=as_of, scope=Scope(lo=start, hi=start + chunk))
            _run(sql, params)
            if progress:
                progress(done, len(starts))
        count = len(starts)
    # Scores of a superseded run that no enterprise id range reached any more (ids only grow,
    # deleted enterprises cascade) cannot exist, so nothing needs deleting here.
    return RecomputeReport(
        policy_version=policy.version,
        as_of=as_of,
        enterprises=EnterpriseScore.objects.count(),
        chunks=count,
        seconds=time.perf_counter() - started,
    )


def score_rows(*, policy: ScoringPolicy, as_of: datetime, scope: Scope) -> list[dict]:
    """Scores as dictionaries without writing them (back-test, calibration, explanations).
    ``last_inspected_on`` is a local date (SQLite hands raw SQL dates back as text)."""
    sql, params = score_query(policy=policy, as_of=as_of, scope=scope)
    rows = _run(sql, params, fetch=True)
    for row in rows:
        if isinstance(row["last_inspected_on"], str):
            row["last_inspected_on"] = date.fromisoformat(row["last_inspected_on"])
    return rows


def feature_rows(*, policy: ScoringPolicy, as_of: datetime, scope: Scope) -> list[dict]:
    sql, params = features_query(policy=policy, as_of=as_of, scope=scope)
    return _run(sql, params, fetch=True)


def as_of_start(day: date) -> datetime:
    """Midnight at the start of a day in the project's time zone: "before START" means before this."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
