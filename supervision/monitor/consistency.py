"""Inspectors' consistency: how often each inspector's inspections record a serious finding, against
how often other inspectors' inspections did at comparable visits in the same period (issue 14).

It serves fair enforcement, not ranking: it describes recording practice so that regulators can ask
why an inspector differs. It never feeds an enterprise's score: nothing in supervision.risk (or
anywhere outside this package and the composition root) imports it, which
tests/supervision/monitor/test_consistency.py checks on the source.

The method (the page says the same in plain words):

- The unit is a submitted inspection of the platform (``Inspection``) in the period, by local date
  of submission. Its outcome is 1 when it recorded at least one ``Finding`` of the chosen severity:
  "critical", or "major" meaning major or critical. A joint inspection (two or more inspectors on
  its task) counts in full for each of its inspectors.
- Risk adjustment is indirect standardisation by strata. An inspection's stratum is what was known
  before the visit, never after it: the task's lead department (whose checklist items were checked),
  the enterprise's scene, the reason for the visit (planned, complaint, re-inspection: task.source)
  and the enterprise's record before the period began, from our own submitted inspections and the
  imported history (``history.HistoricalInspection`` / ``HistoricalFinding``): no earlier inspection
  at all; earlier inspections but none with a finding of the chosen severity; at least one earlier
  finding of that severity. Before the period, not before each visit: a finding made during the
  period is an outcome being judged (perhaps the same inspector's), and must not also move that
  inspector's later visits into a riskier stratum. The current ``EnterpriseScore`` is not used: it
  is computed from what happened after many of the visits (look-ahead), the findings judged included.
- Leave one inspector out: the expected rate of a stratum for inspector *i* is the share of
  inspections with the outcome among the period's inspections in that stratum that *i* did not take
  part in, city-wide, whoever views the report. Expected count E = the sum over *i*'s inspections of
  that rate. An inspection in a stratum nobody else inspected has no comparison: it is counted as
  "not compared" and left out of n, O and E. Imported history has no inspector, so it enters only as
  the history of the enterprises, never as a subject or in the rates.
- Observed O = *i*'s inspections with the outcome; ratio = O / E; its 95% interval is the exact
  (Garwood) Poisson interval for O divided by E (E taken as fixed). Flagged "stricter than expected"
  when the interval's lower bound is above 1, "more lenient than expected" when its upper bound is
  below 1, but only with at least ``minimum`` compared inspections; below that, "too few inspections".

Set-based: one statement whatever the number of inspections (each visit's stratum and outcome
computed once; the stratum totals, and one row per inspector and stratum with the inspector's own
counts), then arithmetic on those few rows in Python.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from statistics import NormalDist

from django.db import connection
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import permissions
from core.models import Department, District, Inspector
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import Finding, Inspection, InspectionTask

CONFIDENCE = 0.95
DEFAULT_MINIMUM = 20
MINIMUM_RANGE = (5, 1000)

# The severity filter: which findings make an inspection's outcome 1.
SEVERITIES = {
    "critical": ("critical",),
    "major": ("major", "critical"),
}
SEVERITY_LABELS = {
    "critical": _("Critical findings"),
    "major": _("Major or critical findings"),
}

# The reason for the visit, from the task's source: a complaint or a re-inspection goes where a
# problem is suspected; every other source (manual, risk, random draw, joint) is a planned visit.
_REASONS = {
    InspectionTask.Source.COMPLAINT: "complaint",
    InspectionTask.Source.REINSPECTION: "reinspection",
}
PLANNED = "planned"

# The enterprise's record before the period (see the module's docstring).
HISTORY_NONE, HISTORY_CLEAN, HISTORY_FOUND = 0, 1, 2

STRICTER, LENIENT, AS_EXPECTED, TOO_FEW = "stricter", "lenient", "as_expected", "too_few"
FLAG_LABELS = {
    STRICTER: _("Stricter than expected"),
    LENIENT: _("More lenient than expected"),
    AS_EXPECTED: _("Within the expected range"),
    TOO_FEW: _("Too few inspections to say"),
}

SORTS = ("-ratio", "ratio", "-n", "n")


# --- the statistics --------------------------------------------------------------------------------


def _poisson_at_least(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), k >= 1: the regularised lower incomplete gamma P(k, mean),
    by its series below k + 1 and its continued fraction above (Numerical Recipes, 6.2)."""
    if mean <= 0:
        return 0.0
    log_front = k * math.log(mean) - mean - math.lgamma(k)
    if mean < k + 1:
        term = total = 1.0 / k
        denominator = k
        while term > total * 1e-16:
            denominator += 1
            term *= mean / denominator
            total += term
        return min(1.0, math.exp(log_front) * total)
    tiny = 1e-300
    b = mean + 1 - k
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - k)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return max(0.0, 1 - math.exp(log_front) * h)


def _mean_where(k: int, probability: float) -> float:
    """The Poisson mean at which P(X >= k) equals ``probability`` (it rises with the mean; its
    derivative is the Gamma(k) density): Newton's steps from the Wilson-Hilferty approximation,
    to a relative 1e-12."""
    z = NormalDist().inv_cdf(probability)
    mean = max(k * (1 - 1 / (9 * k) + z / (3 * math.sqrt(k))) ** 3, 1e-6)
    for _step in range(100):
        density = math.exp((k - 1) * math.log(mean) - mean - math.lgamma(k))
        step = (_poisson_at_least(k, mean) - probability) / density
        following = mean - step if mean - step > 0 else mean / 2
        if abs(following - mean) <= 1e-12 * mean:
            return following
        mean = following
    return mean


@lru_cache(maxsize=4096)
def poisson_interval(observed: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Garwood) interval for the mean of a Poisson count: the means under which seeing
    ``observed`` or more (the lower bound), or ``observed`` or fewer (the upper), has probability
    (1 - confidence) / 2. For 95%: 0 -> (0, 3.689), 10 -> (4.795, 18.390). It depends on the count
    alone, so it is cached: a report of thousands of inspectors has few distinct counts."""
    tail = (1 - confidence) / 2
    lower = 0.0 if observed == 0 else _mean_where(observed, tail)
    upper = _mean_where(observed + 1, 1 - tail)
    return lower, upper


@dataclass
class Judgement:
    ratio: float | None
    lower: float | None
    upper: float | None
    flag: str


def judge(*, observed: int, expected: float, inspections: int, minimum: int) -> Judgement:
    """Ratio O/E, its interval, and the flag (only when the interval excludes 1 and n >= minimum).
    With E = 0 (nobody else recorded anything in the strata) the ratio is undefined; any O > 0 is
    then above what was expected."""
    low, high = poisson_interval(observed)
    if expected > 0:
        ratio, lower, upper = observed / expected, low / expected, high / expected
    else:
        ratio = lower = upper = None
    if inspections < minimum:
        flag = TOO_FEW
    elif (lower is not None and lower > 1) or (expected == 0 and observed > 0):
        flag = STRICTER
    elif upper is not None and upper < 1:
        flag = LENIENT
    else:
        flag = AS_EXPECTED
    return Judgement(ratio=ratio, lower=lower, upper=upper, flag=flag)


# --- the period ---------------------------------------------------------------------------------------


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months, both ends included: the day after the same date a year ago, to today."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- the data -----------------------------------------------------------------------------------------


@dataclass
class ConsistencyRow:
    inspector_id: int
    inspections: int
    observed: int
    expected: float
    not_compared: int
    judgement: Judgement
    label: str = ""
    department: str = ""

    @property
    def ratio(self) -> float | None:
        return self.judgement.ratio

    @property
    def flag(self) -> str:
        return self.judgement.flag

    @property
    def flag_label(self) -> str:
        return FLAG_LABELS[self.judgement.flag]


def _flag(condition) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def _window_q(first: date, last: date) -> Q:
    # The period is in local days: its bounds are local midnights.
    return Q(
        status=Inspection.Status.SUBMITTED,
        submitted_at__gte=_day_start(first),
        submitted_at__lt=_day_start(last + timedelta(days=1)),
    )


def _through(q: Q, prefix: str) -> Q:
    """``q`` (lookups on Enterprise) re-rooted at ``prefix`` (lookups on a row that reaches the
    enterprise). ``enterprise IN (the enterprises in scope)`` in a CASE cannot become a join, and
    PostgreSQL hashes it only while a whole jurisdiction's ids fit in work_mem; through the join,
    the scope's subqueries are on the small scene and district tables."""
    copy = Q(_connector=q.connector, _negated=q.negated)
    for child in q.children:
        if isinstance(child, Q):
            copy.children.append(_through(child, prefix))
        else:
            lookup, value = child
            copy.children.append((f"{prefix}{lookup}", value))
    return copy


def _scope(user, department: Department | None, district: District | None) -> tuple[Q, Q] | None:
    """(which inspectors, which of their visits, as lookups on Enterprise), or None for a user who
    may see no one. A regulator sees the inspectors of their department (if they have one) for
    their visits to enterprises in the regulator's scope (core.permissions.regulator_q); an admin
    sees everyone."""
    roles = permissions.roles_of(user)
    inspectors, visits = Q(), Q()
    if not roles.is_admin:
        if roles.regulator is None:
            return None
        visits &= permissions.regulator_q(roles.regulator)
        if roles.regulator.department_id:
            inspectors &= Q(department=roles.regulator.department_id)
    if department is not None:
        inspectors &= Q(department=department.pk)
    if district is not None:
        visits &= Q(district__in=District.objects.filter(path__startswith=district.path))
    return inspectors, visits


def _sql(queryset) -> tuple[str, tuple]:
    sql, params = queryset.order_by().query.sql_with_params()
    return sql, tuple(params)


def _aggregates(*, first: date, last: date, severities: tuple[str, ...], inspectors: Q, visits: Q):
    """One statement: the period's visits with their stratum and outcome, computed once; then the
    stratum totals (rows with no inspector) and, per inspector and stratum, all their visits and
    those in the user's scope (HAVING: inspectors with any). Its parts are the ORM's own SQL (so
    the scope is core.permissions' Q); only the joining CTEs are written here, in SQL both
    databases read. Rows: (inspector or None, department, scene, source, history, n_all, o_all,
    n, o)."""
    found = Finding.objects.filter(inspection=OuterRef("pk"), severity__in=severities)
    period = Inspection.objects.filter(_window_q(first, last)).values(
        visit_task=F("task"),
        visit_enterprise=F("enterprise"),
        department=F("task__department"),
        scene=F("enterprise__scene"),
        source=F("task__source"),
        outcome=_flag(Exists(found)),
        in_scope=_flag(_through(visits, "enterprise__")) if visits else Value(1),
    )
    # The enterprises' record before the period (see the module's docstring): own and imported.
    own = Inspection.objects.filter(
        status=Inspection.Status.SUBMITTED, submitted_at__lt=_day_start(first)
    ).values(prior_enterprise=F("enterprise"), found=_flag(Exists(found)))
    imported = HistoricalInspection.objects.filter(inspected_on__lt=first).values(
        prior_enterprise=F("enterprise"),
        found=_flag(
            Exists(HistoricalFinding.objects.filter(inspection=OuterRef("pk"), severity__in=severities))
        ),
    )
    link = InspectionTask.inspectors.through._meta
    quote = connection.ops.quote_name
    parts = [_sql(period), _sql(own), _sql(imported)]
    chosen = ""
    if inspectors:
        parts.append(_sql(Inspector.objects.filter(inspectors).values("pk")))
        chosen = f"WHERE l.{quote(link.get_field('inspector').column)} IN ({parts[-1][0]})"
    statement = f"""
        WITH visits AS ({parts[0][0]}),
        prior AS (
            SELECT prior_enterprise, MAX(found) AS found
            FROM ({parts[1][0]} UNION ALL {parts[2][0]}) records
            GROUP BY prior_enterprise
        ),
        strata AS (
            SELECT v.visit_task, v.department, v.scene, v.source, v.outcome, v.in_scope,
                   CASE WHEN p.found = 1 THEN {HISTORY_FOUND}
                        WHEN p.prior_enterprise IS NOT NULL THEN {HISTORY_CLEAN}
                        ELSE {HISTORY_NONE} END AS history
            FROM visits v LEFT JOIN prior p ON p.prior_enterprise = v.visit_enterprise
        )
        SELECT NULL, department, scene, source, history, COUNT(*), SUM(outcome), 0, 0
        FROM strata
        GROUP BY department, scene, source, history
        UNION ALL
        SELECT l.{quote(link.get_field("inspector").column)}, s.department, s.scene, s.source, s.history,
               COUNT(*), SUM(s.outcome), SUM(s.in_scope), SUM(s.in_scope * s.outcome)
        FROM strata s
        JOIN {quote(link.db_table)} l ON l.{quote(link.get_field("inspectiontask").column)} = s.visit_task
        {chosen}
        GROUP BY l.{quote(link.get_field("inspector").column)}, s.department, s.scene, s.source, s.history
        HAVING SUM(s.in_scope) > 0
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, [param for _sql_text, params in parts for param in params])
        return cursor.fetchall()


def consistency_report(
    *,
    user,
    first: date,
    last: date,
    severity: str = "critical",
    department: Department | None = None,
    district: District | None = None,
    minimum: int = DEFAULT_MINIMUM,
) -> list[ConsistencyRow]:
    """One row per inspector the user may see with at least one visit in the period (and the
    district, if given), by inspector id; see the module's docstring for the method."""
    scope = _scope(user, department, district)
    if scope is None:
        return []
    inspectors, visits = scope
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    own: dict[int, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    aggregates = _aggregates(
        first=first, last=last, severities=SEVERITIES[severity], inspectors=inspectors, visits=visits
    )
    for inspector_id, department_id, scene_id, source, history, *counts in aggregates:
        # The task's source, grouped on as it is, becomes the reason for the visit here.
        stratum = (department_id, scene_id, _REASONS.get(source, PLANNED), history)
        if inspector_id is None:
            totals[stratum][0] += counts[0]
            totals[stratum][1] += counts[1]
        else:
            mine = own[inspector_id][stratum]
            for index, count in enumerate(counts):
                mine[index] += count

    rows = []
    for inspector_id, strata in sorted(own.items()):
        inspections = observed = not_compared = 0
        expected = 0.0
        for stratum, (n_all, o_all, n, o) in strata.items():
            everyone_n, everyone_o = totals[stratum]
            others_n, others_o = everyone_n - n_all, everyone_o - o_all
            if others_n <= 0:
                not_compared += n
                continue
            inspections += n
            observed += o
            expected += n * others_o / others_n
        rows.append(
            ConsistencyRow(
                inspector_id=inspector_id,
                inspections=inspections,
                observed=observed,
                expected=expected,
                not_compared=not_compared,
                judgement=judge(
                    observed=observed, expected=expected, inspections=inspections, minimum=minimum
                ),
            )
        )
    return rows


def sort_rows(rows: list[ConsistencyRow], sort: str) -> list[ConsistencyRow]:
    """By ratio or by n, either way; an undefined ratio last; ties by n, then inspector."""
    descending = sort.startswith("-")
    sign = -1 if descending else 1
    if sort.lstrip("-") == "n":
        return sorted(rows, key=lambda row: (sign * row.inspections, row.inspector_id))
    return sorted(
        rows,
        key=lambda row: (
            row.ratio is None,
            sign * (row.ratio or 0),
            -row.inspections,
            row.inspector_id,
        ),
    )


def name_rows(rows: list[ConsistencyRow]) -> list[ConsistencyRow]:
    """Put the inspectors' names and departments on rows (one query; in place)."""
    inspectors = Inspector.objects.select_related("user", "department").in_bulk(
        [row.inspector_id for row in rows]
    )
    for row in rows:
        inspector = inspectors.get(row.inspector_id)
        row.label = str(inspector) if inspector else str(row.inspector_id)
        row.department = inspector.department.display_name if inspector else ""
    return rows


def departments_for(user):
    """The departments a user may filter by: their own for a department's regulator."""
    roles = permissions.roles_of(user)
    if not roles.is_admin and roles.regulator and roles.regulator.department_id:
        return Department.objects.filter(pk=roles.regulator.department_id)
    return Department.objects.order_by("code")


def districts_for(user):
    """The districts a user may filter by: their district's subtree for a district's regulator."""
    roles = permissions.roles_of(user)
    if not roles.is_admin and roles.regulator and roles.regulator.district_id:
        return District.objects.filter(path__startswith=roles.regulator.district.path).order_by("path")
    return District.objects.order_by("path")
