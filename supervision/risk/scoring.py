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
(so the contributions add up to the score, 0-100), nine built in:

- scene: the scene's inherent risk, (1..4 -> 0..1);
- violations: findings weighted by severity, halving every ``half_life_days``, saturating;
- orders: open rectification orders, overdue ones weighted more, saturating;
- complaints: complaints not dismissed, verified ones weighted more, decaying, saturating;
- self_missing: no submitted self-inspection within ``self_inspection_max_age_days``;
- self_noncompliant: share of items the latest self-inspection declared non-compliant;
- self_discrepancy: inspector findings, after that self-inspection, on items it declared compliant;
- visit_gap: days since the last inspection against the interval the enterprise's tier requires;
- licence: a licence that is not active, or a young one (risk fades over ``new_licence_days``);

and the off-site factors a policy declares by name (supervision.risk.offsite, other departments'
data in history.EnterpriseAttribute and history.Signal), stored as ``offsite`` (points by name) and
``risk_offsite`` (their sum):

- attribute: a register value as of the moment (risk class, facility type, a licensed activity),
  mapped to [0, 1] by the policy's ``values``;
- attribute_age: the age of a date a register holds (licence first issued): young is risky;
- nearby: signals located near the enterprise (hotline complaints about the street), decaying with
  time and distance, saturating; measured on a grid (supervision.risk.offsite_sql);
- keyed: the enterprise's own signals (camera alerts, sensor excursions), decaying, saturating.

Signals of the kinds ``params["credit"]["signal_penalty_kinds"]`` names (another bureau's
penalties) count as penalties of the credit rating. Register values count once their
``valid_from`` day has begun, signals once they occurred: nothing dated after "as of" is read.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from core.models import Enterprise
from supervision.models import EnterpriseScore, ScoringPolicy
from supervision.risk import offsite_sql, parallel, rebuild

# The policy and the query live in their own modules; callers (pages, the API, planning, the
# back-test, tests, bench/) keep reading them from here.
from supervision.risk.policies import (  # noqa: F401
    CREDIT_COUNTS,
    DEFAULT_PARAMS,
    DEFAULT_WEIGHTS,
    FACTORS,
    RATINGS,
    RISK_LEVELS,
    PolicyError,
    current_policy,
    policy_adopt,
    policy_create,
    policy_offsite_example,
    validate_policy,
)
from supervision.risk.queries import (  # noqa: F401
    SCORE_COLUMNS,
    Scope,
    _epoch_days,
    _local_offset_days,
    features_query,
    score_query,
    upsert_query,
)

CHUNK = 100_000

# -- recompute ----------------------------------------------------------------------------------


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
    parallel.run(sql, params)


def rescore_on_commit(enterprise_id: int) -> None:
    """Rescore an enterprise once the caller's transaction commits (after an inspection, an order
    change, a complaint). After, not inside: a scoring failure must never undo the business
    action that caused it (robust: it is logged), and the next full recompute repairs the row."""
    transaction.on_commit(partial(recompute_enterprise, enterprise_id=enterprise_id), robust=True)


def recompute_workers() -> int:
    """How many chunks run at once: SCORE_RECOMPUTE_WORKERS connections on PostgreSQL, whose
    INSERT ... SELECT runs on one core (version 15 plans no parallel workers for it), so chunks
    side by side use the others. One inside a transaction: other connections would neither see
    its uncommitted rows nor be undone with it. One on SQLite, which has one writer."""
    return settings.SCORE_RECOMPUTE_WORKERS if _way().shared else 1


@dataclass(frozen=True)
class _Way:
    """How a full recompute runs here. ``shared``: its chunks side by side on connections of their
    own, reading tables it prepared in the schema (PostgreSQL, outside a transaction, the role
    allowed to create tables). ``rebuild``: besides, the scores are written into a new table
    swapped in at the end (supervision.risk.rebuild), which takes a role that owns the score
    table (docs/DEPLOY.md). Otherwise the score table's rows are updated in place."""

    shared: bool = False
    rebuild: bool = False


def _way() -> _Way:
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return _Way()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_schema_privilege(current_schema(), 'CREATE'),"
            " pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = %s::regclass",
            [EnterpriseScore._meta.db_table],
        )
        may_create, owns_scores = cursor.fetchone()
    return _Way(shared=may_create, rebuild=may_create and owns_scores)


def recompute_all(
    *,
    policy: ScoringPolicy | None = None,
    as_of: datetime | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> RecomputeReport:
    """Rescore every enterprise, one set-based statement per chunk of ids, ``workers`` chunks at
    once (default: recompute_workers()). On PostgreSQL the scores go to a new table that replaces
    the score table when every chunk is done (supervision.risk.rebuild, _Way): a failure leaves
    the old scores as they were. Otherwise each chunk updates the score table in its own
    transaction (or the caller's), so a crash loses at most one chunk, which the next run redoes."""
    started = time.perf_counter()
    policy = policy or current_policy()
    as_of = as_of or timezone.now()
    way = _way()
    # Side by side only where the chunks can share what was prepared (and see each other's rows).
    workers = (workers or settings.SCORE_RECOMPUTE_WORKERS) if way.shared else 1
    bounds = Enterprise.objects.aggregate(lo=Min("id"), hi=Max("id"))
    lo, hi = bounds["lo"], bounds["hi"]
    count = 0
    if lo is not None:
        starts = list(range(lo, hi + 1, chunk))
        # Off-site factors: the signals around every enterprise's cell, computed once for all
        # chunks (in tables every worker can read). Shared, the recomputes also take turns (an
        # advisory lock, released by drop).
        prepared = offsite_sql.prepared_for(policy, fresh=True)
        try:
            prepared = offsite_sql.prepare(
                policy=policy, as_of=as_of, prepared=prepared, shared=way.shared, workers=workers
            )
            plan = rebuild.create_table() if way.rebuild else None
            try:
                statements = [
                    upsert_query(
                        policy=policy,
                        as_of=as_of,
                        scope=Scope(lo=start, hi=start + chunk),
                        prepared=prepared,
                        into=plan and plan.table,
                    )
                    for start in starts
                ]
                parallel.run_all(statements, workers=workers, progress=progress)
                if plan is not None:
                    rebuild.build_indexes(plan, workers=workers)
                    rebuild.swap(plan, as_of=as_of)
                    plan = None
            finally:
                if plan is not None:
                    rebuild.drop(plan)
        finally:
            offsite_sql.drop(prepared)
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
    ``last_inspected_on`` is a local date (SQLite hands raw SQL dates back as text), ``offsite`` a
    dict of points by factor name."""
    sql, params = score_query(policy=policy, as_of=as_of, scope=scope)
    rows = parallel.run(sql, params, fetch=True)
    for row in rows:
        if isinstance(row["last_inspected_on"], str):
            row["last_inspected_on"] = date.fromisoformat(row["last_inspected_on"])
        if isinstance(row["offsite"], str):  # SQLite's json_object is text
            row["offsite"] = json.loads(row["offsite"])
    return rows


def feature_rows(*, policy: ScoringPolicy, as_of: datetime, scope: Scope) -> list[dict]:
    sql, params = features_query(policy=policy, as_of=as_of, scope=scope)
    return parallel.run(sql, params, fetch=True)


def as_of_start(day: date) -> datetime:
    """Midnight at the start of a day in the project's time zone: "before START" means before this."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
