"""The SQL that scores: one query (``score_query``) computes, for a range of enterprise ids and an
"as of" moment, every factor of the risk score, the credit rating and the tier; ``upsert_query``
writes its rows into EnterpriseScore. Both are plain text with placeholders, for SQLite and
PostgreSQL alike; supervision.risk.scoring runs them.

Policy numbers go into the text as literals (validated numbers, never user text); moments and
dates go in as parameters.
"""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from checklists.models import ChecklistItem
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
from supervision.risk.offsite import names as offsite_names
from supervision.risk.offsite_sql import Prepared, offsite_features
from supervision.risk.policies import FACTORS, RATINGS, RISK_LEVELS
from supervision.risk.sqltext import (
    Scope,
    _adapt,
    _day,
    _decay,
    _epoch_days,
    _least,
    _lit,
    _local_offset_days,
    _saturate,
    _t,
    _to_date,
    begun_day,
)


def _complaints(p: dict, *, ts_day: float, scope: Scope, statuses: tuple[str, ...] | None = None) -> str:
    """The complaints factor's points per enterprise, before saturation (one placeholder: as_of):
    per complaint, its weight (verified_complaint_weight or 1) halved every complaint_half_life_days
    of its age. ``statuses``: the complaints counted; the score counts all but Complaint.NOT_COUNTED.
    """
    if statuses is None:
        counted = "c.status NOT IN ({})".format(", ".join(f"'{status}'" for status in Complaint.NOT_COUNTED))
    else:
        counted = "c.status IN ({})".format(", ".join(f"'{status}'" for status in statuses))
    age = f"{_lit(ts_day)} - {_day('c.created_at', timestamp=True)}"
    weight = _lit(p["verified_complaint_weight"])
    return f"""
        SELECT c.enterprise_id AS eid,
               SUM(CASE WHEN c.status = 'verified' THEN {weight} ELSE {_lit(1)} END
                   * {_decay(age, p["complaint_half_life_days"])}) AS pts
        FROM {_t(Complaint)} c
        WHERE c.created_at < %s AND {counted} AND {scope.sql("c.enterprise_id")}
        GROUP BY c.enterprise_id"""


def complaints_query(
    *, policy: ScoringPolicy, as_of: datetime, scope: Scope, statuses: tuple[str, ...]
) -> tuple[str, list]:
    """SQL for the complaints factor's points (``risk_complaints``) of the enterprises in scope that
    have any, counting only complaints in ``statuses``: exactly the score's arithmetic
    (score_query) on another set of complaints. The business's own view uses it
    (supervision.risk.selectors.score_explain_for_business)."""
    p, weights = policy.params, policy.weights
    total = sum(float(v) for v in weights.values())
    scale = _lit(100.0 * float(weights.get("complaints", 0)) / total) if total else _lit(0)
    ts_day = _epoch_days(as_of) - _local_offset_days(as_of)
    points = _complaints(p, ts_day=ts_day, scope=scope, statuses=statuses)
    feature = _saturate("c.pts", p["complaints_saturation"])
    sql = f"""
    SELECT c.eid AS enterprise_id, {scale} * {feature} AS risk_complaints
    FROM ({points}) c"""
    return sql, _adapt([as_of])


def features_query(
    *, policy: ScoringPolicy, as_of: datetime, scope: Scope, prepared: Prepared | None = None
) -> tuple[str, list]:
    """SQL for one row per enterprise in scope: every factor's feature (x_*, in [0, 1]; the off-site
    factors' under their names, supervision.risk.offsite_sql) and the raw counts behind the credit
    rating, from facts strictly before ``as_of``. ``prepared``: the nearby factors' grid (read from
    the enterprises when not given) and, in a full recompute, what was computed once for the city
    (supervision.risk.offsite_sql.prepare).

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
    begun = begun_day(as_of)
    repair_from = as_of - timedelta(days=float(credit["repair_days"]))
    si_from = as_of - timedelta(days=float(p["self_inspection_max_age_days"]))
    severity_case = (
        f"CASE {{col}} WHEN 'critical' THEN {_lit(sev['critical'])} "
        f"WHEN 'major' THEN {_lit(sev['major'])} ELSE {_lit(sev['minor'])} END"
    )
    params: list = []
    one, zero = _lit(1), _lit(0)
    half_life = p["half_life_days"]

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
    complaints = _complaints(p, ts_day=ts_day, scope=scope)
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

    off = offsite_features(policy=policy, as_of=as_of, begun=begun, scope=scope, prepared=prepared)

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
            AS x_licence,{"".join(f"{chr(10)}        {column}," for column in off.columns)}
        COALESCE(o.open_n, 0) AS open_orders,
        COALESCE(o.overdue_n, 0) AS overdue_orders,
        lv.d AS last_inspected_on,
        COALESCE(ce.penalties, 0) + {off.penalties} AS penalties,
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
    LEFT JOIN ({credit_events}) ce ON ce.eid = e.id{"".join(f"{chr(10)}    {join}" for join in off.joins)}
    WHERE {scope.sql("e.id")}"""
    # The outer placeholders come first in the text: self-inspection age, licence opened_on; the
    # off-site joins come last.
    return sql, _adapt([si_from, begun, *params, *off.params])


def score_query(
    *, policy: ScoringPolicy, as_of: datetime, scope: Scope, prepared: Prepared | None = None
) -> tuple[str, list]:
    """SQL for one row per enterprise in scope with every column of EnterpriseScore (and each
    off-site factor's points as ``o_<name>``, gathered in ``offsite`` and ``risk_offsite``).

    The visit gap is measured against the interval of the tier that the *other* factors and the
    credit rating give: reading the stored tier instead would feed each recompute's result into
    the next one (a tier that lowers the risk that sets the tier can oscillate), and a score must
    be the same however often it is recomputed.
    """
    features, params = features_query(policy=policy, as_of=as_of, scope=scope, prepared=prepared)
    p, w = policy.params, policy.weights
    names = offsite_names(p)
    total = sum(float(v) for v in w.values())
    scale = {factor: _lit(100.0 * float(w[factor]) / total) for factor in [*FACTORS, *names]}
    base_factors = [factor for factor in FACTORS if factor != "visit_gap"]
    # Off-site points are o_<name>: a name is any identifier, and risk_<name> could meet a column
    # of the score ("risk_level").
    contributions = ",\n            ".join(
        [f"{scale[factor]} * f.x_{factor} AS risk_{factor}" for factor in base_factors]
        + [f"{scale[name]} * f.x_{name} AS o_{name}" for name in names]
    )
    base_sum = " + ".join([f"c.risk_{factor}" for factor in base_factors] + [f"c.o_{name}" for name in names])
    offsite_sum = " + ".join(f"c.o_{name}" for name in names) or _lit(0)
    # Points by name, of the factors that gave some only: the column is written for every
    # enterprise at every recompute, so its bytes are the recompute's (at 2.5 million, a full
    # object costs a third more time than this; rounding to numeric, another sixth). Merging an
    # object into {} drops its null members on SQLite.
    if connection.vendor == "postgresql":
        pairs = ", ".join(f"'{name}', NULLIF(c.o_{name}, 0)" for name in names)
        offsite_json = f"jsonb_strip_nulls(jsonb_build_object({pairs}))"
    else:
        pairs = ", ".join(f"'{name}', NULLIF(c.o_{name}, 0)" for name in names)
        offsite_json = f"json_patch('{{}}', json_object({pairs}))"
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
          SELECT c.*, {base_sum} AS base_risk, {offsite_sum} AS risk_offsite, {offsite_json} AS offsite,
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
    "risk_offsite",
    "offsite",
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


def upsert_query(
    *,
    policy: ScoringPolicy,
    as_of: datetime,
    scope: Scope,
    prepared: Prepared | None = None,
    into: str | None = None,
) -> tuple[str, list]:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE: the scores of every enterprise in scope. ``into``:
    a table of the score table's shape that holds none of these enterprises yet (the full recompute's
    new table, supervision.risk.rebuild), written by a plain INSERT."""
    select, params = score_query(policy=policy, as_of=as_of, scope=scope, prepared=prepared)
    columns = [*SCORE_COLUMNS, "policy_id", "as_of"]
    dishonest = "q.credit_dishonest = 1" if connection.vendor == "postgresql" else "q.credit_dishonest"
    select_list = ", ".join(
        f"({dishonest})" if column == "credit_dishonest" else f"q.{column}" for column in SCORE_COLUMNS
    )
    if into is not None:
        conflict = ""
    else:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "enterprise_id")
        conflict = f"ON CONFLICT (enterprise_id) DO UPDATE SET {updates}"
    # "WHERE 1 = 1" keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    sql = f"""
    INSERT INTO {into or _t(EnterpriseScore)} ({", ".join(columns)})
    SELECT {select_list}, {int(policy.pk)}, %s FROM ({select}) q WHERE 1 = 1
    {conflict}"""
    # The as_of placeholder in the select list comes before the subquery's placeholders.
    return sql, [*_adapt([as_of]), *params]
