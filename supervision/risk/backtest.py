"""Back-test a scoring policy on history: had we visited in score order, how much sooner would the
critical violations have been found?

The window is [start, start + days). Its inspections are, by one definition shared with the
calibration (``window_inspections``):

- every imported historical inspection (history.HistoricalInspection) with ``inspected_on`` in the
  window, whatever its kind: routine, follow-up, complaint, new ownership, site visit. Kinds are the
  source's verbatim words, so filtering on them would make the result depend on one feed's
  vocabulary; the cost is that follow-ups and site visits (rarely critical) stay in the pool;
- every submitted inspection of our own (supervision.Inspection) whose ``submitted_at``, in the
  project's time zone, falls on a day of the window.

An inspection is *critical* when it recorded at least one critical finding.

Every enterprise inspected in the window is scored as of midnight at the start of ``start``
(supervision.risk.scoring reads only facts strictly before that moment, and nothing stored). The
inspections are ordered by score, highest first (ties: lower enterprise id first, then the
earlier real date), and the k-th in that order gets the k-th earliest of the real dates: the
same visits on the same days, only in the policy's order. Then:

- ``days_earlier``: mean over the critical inspections of (real date - simulated date), in days;
- ``first_half_share_actual`` / ``_ranked``: share of the critical inspections whose real /
  simulated date falls in the first half of the window, a day counting as first-half when
  ``(day - start) < days / 2`` (so with an odd number of days the middle day is first-half);
- ``auc``: ROC AUC of the score for "critical", one inspection one observation, tied scores
  counting one half (the Mann-Whitney form);
- ``random_days_earlier``: mean of ``days_earlier`` over ``random_orders`` (at least 50) random
  orders drawn with ``random.Random(seed)``, so the same seed gives the same number.

The database side is a fixed handful of queries whatever the window's size (two for the window's
inspections, one scoring query per 5,000 enterprises); the rest is numpy.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import BacktestRun, Finding, Inspection, ScoringPolicy
from supervision.risk.scoring import Scope, as_of_start, score_rows, validate_policy

MAX_DAYS = 366
MIN_RANDOM_ORDERS = 50
# Enterprise ids per scoring query: the ids are inlined in the SQL (Scope.sql), so keep it bounded.
SCOPE_CHUNK = 5000
# The keys the command's --json prints, in this order (the spec's list, nothing else).
METRICS = (
    "n_inspections",
    "n_critical",
    "days_earlier",
    "first_half_share_actual",
    "first_half_share_ranked",
    "auc",
    "random_days_earlier",
)


class BacktestError(DomainError):
    """A back-test that cannot give a meaningful answer; ``code`` says why."""

    status = 422


@dataclass(frozen=True)
class WindowInspections:
    """The inspections of a window as parallel arrays, one element per inspection."""

    enterprise_ids: np.ndarray  # int64
    days: np.ndarray  # int64, days since the window's start
    critical: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.days)


def window_inspections(*, start: date, end: date) -> WindowInspections:
    """Historical and own submitted inspections dated in [start, end), with their critical flag."""
    critical_history = HistoricalFinding.objects.filter(
        inspection=OuterRef("pk"), severity=HistoricalFinding.Severity.CRITICAL
    )
    history = (
        HistoricalInspection.objects.filter(inspected_on__gte=start, inspected_on__lt=end)
        .annotate(critical=Exists(critical_history))
        .values_list("enterprise_id", "inspected_on", "critical")
    )
    rows = [(eid, (day - start).days, critical) for eid, day, critical in history.iterator(chunk_size=10_000)]
    own = (
        Inspection.objects.filter(
            status=Inspection.Status.SUBMITTED,
            submitted_at__gte=as_of_start(start),
            submitted_at__lt=as_of_start(end),
        )
        .annotate(critical=Exists(Finding.objects.filter(inspection=OuterRef("pk"), severity="critical")))
        .values_list("enterprise_id", "submitted_at", "critical")
    )
    rows += [
        (eid, (timezone.localdate(at) - start).days, critical)
        for eid, at, critical in own.iterator(chunk_size=10_000)
    ]
    if not rows:
        return WindowInspections(
            np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        )
    eids, days, critical = zip(*rows, strict=True)
    return WindowInspections(
        np.asarray(eids, dtype=np.int64), np.asarray(days, dtype=np.int64), np.asarray(critical, dtype=bool)
    )


def history_exists_before(day: date) -> bool:
    """Whether any inspection, imported or our own, predates ``day``: without one, every score is
    the same guess and the back-test would measure nothing."""
    return (
        HistoricalInspection.objects.filter(inspected_on__lt=day).exists()
        or Inspection.objects.filter(
            status=Inspection.Status.SUBMITTED, submitted_at__lt=as_of_start(day)
        ).exists()
    )


def risk_of(*, policy: ScoringPolicy, start: date, enterprise_ids: np.ndarray) -> np.ndarray:
    """Each given enterprise's risk score as of midnight at ``start`` (aligned with the input)."""
    unique = np.unique(enterprise_ids)
    risk = np.zeros(len(unique))
    as_of = as_of_start(start)
    for lo in range(0, len(unique), SCOPE_CHUNK):
        chunk = unique[lo : lo + SCOPE_CHUNK]
        rows = score_rows(
            policy=policy,
            as_of=as_of,
            scope=Scope(ids=tuple(int(i) for i in chunk)),
        )
        ids = np.fromiter((row["enterprise_id"] for row in rows), dtype=np.int64, count=len(rows))
        values = np.fromiter((row["risk"] for row in rows), dtype=float, count=len(rows))
        risk[np.searchsorted(unique, ids)] = values
    # Rounded so that enterprises with the same facts tie exactly on any database.
    return np.round(risk, 9)[np.searchsorted(unique, enterprise_ids)]


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their positions."""
    _unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    return (below + (counts + 1) / 2.0)[inverse]


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counting 1/2."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    ranks = average_ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def cumulative_share(days_found: np.ndarray, *, days: int, total: int) -> np.ndarray:
    """Share of ``total`` critical inspections found by the end of each day of the window."""
    return np.cumsum(np.bincount(days_found.ravel(), minlength=days)[:days]) / total


def backtest(
    *, start: date, days: int, policy: ScoringPolicy, seed: int = 0, random_orders: int = 100
) -> dict:
    """Back-test ``policy`` on [start, start + days); see the module docstring for the definitions.

    Returns the metrics (``METRICS``), the counts behind them and ``series`` for the chart:
    per day of the window, the cumulative share of critical inspections found in the real order,
    in score order and (mean) in random order.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise BacktestError(
            _("The window must be 1 to %(max)d days long.") % {"max": MAX_DAYS}, code="invalid_days"
        )
    if random_orders < MIN_RANDOM_ORDERS:
        raise BacktestError(
            _("At least %(min)d random orders are needed for the baseline.") % {"min": MIN_RANDOM_ORDERS},
            code="invalid_random_orders",
        )
    validate_policy(weights=policy.weights, params=policy.params)
    end = start + timedelta(days=days)
    last = end - timedelta(days=1)
    window = window_inspections(start=start, end=end)
    n = len(window)
    if n == 0:
        raise BacktestError(
            _("No inspections between %(start)s and %(last)s: there is nothing to back-test.")
            % {"start": start, "last": last},
            code="no_inspections",
        )
    critical = window.critical
    n_critical = int(critical.sum())
    if n_critical == 0:
        raise BacktestError(
            _(
                "None of the %(n)d inspections between %(start)s and %(last)s found a critical violation: "
                "how much earlier they would have been found, and the AUC, are undefined."
            )
            % {"n": n, "start": start, "last": last},
            code="no_critical",
        )
    if n_critical == n:
        raise BacktestError(
            _(
                "Every inspection between %(start)s and %(last)s found a critical violation: "
                "no order can do better than another, and the AUC is undefined."
            )
            % {"start": start, "last": last},
            code="all_critical",
        )
    if not history_exists_before(start):
        raise BacktestError(
            _("No inspection history before %(start)s: every score would be the same guess.")
            % {"start": start},
            code="no_history",
        )

    risk = risk_of(policy=policy, start=start, enterprise_ids=window.enterprise_ids)
    actual = window.days
    slots = np.sort(actual)
    # lexsort: the last key is the primary one.
    order = np.lexsort((actual, window.enterprise_ids, -risk))
    ranked = np.empty(n, dtype=np.int64)
    ranked[order] = slots

    rng = random.Random(seed)
    permutation = list(range(n))
    orders = np.empty((random_orders, n), dtype=np.int64)
    for row in range(random_orders):
        rng.shuffle(permutation)
        orders[row] = permutation
    shuffled = np.empty((random_orders, n), dtype=np.int64)
    np.put_along_axis(shuffled, orders, np.broadcast_to(slots, (random_orders, n)), axis=1)
    random_found = shuffled[:, critical]

    half = days / 2.0
    found_actual, found_ranked = actual[critical], ranked[critical]
    random_earlier = (found_actual[None, :] - random_found).mean(axis=1)
    return {
        "n_inspections": n,
        "n_critical": n_critical,
        "days_earlier": float((found_actual - found_ranked).mean()),
        "first_half_share_actual": float((found_actual < half).mean()),
        "first_half_share_ranked": float((found_ranked < half).mean()),
        "auc": roc_auc(risk, critical),
        "random_days_earlier": float(random_earlier.mean()),
        "random_days_earlier_sd": float(random_earlier.std()),
        "first_half_share_random": float((random_found < half).mean()),
        "random_orders": random_orders,
        "seed": seed,
        "start": start.isoformat(),
        "days": days,
        "policy_version": policy.version,
        "n_enterprises": len(np.unique(window.enterprise_ids)),
        "series": {
            "actual": _rounded(cumulative_share(found_actual, days=days, total=n_critical)),
            "ranked": _rounded(cumulative_share(found_ranked, days=days, total=n_critical)),
            "random": _rounded(cumulative_share(random_found, days=days, total=n_critical * random_orders)),
        },
    }


@transaction.atomic
def backtest_run(*, actor, start: date, days: int, policy: ScoringPolicy, seed: int = 0) -> BacktestRun:
    """Back-test and keep the result (the regulator's page lists and compares kept runs)."""
    result = backtest(start=start, days=days, policy=policy, seed=seed)
    run = BacktestRun.objects.create(policy=policy, start=start, days=days, result=result, created_by=actor)
    audit_record(
        actor=actor,
        action="scoring.backtest",
        target=run,
        data={"version": policy.version, "start": start.isoformat(), "days": days, "seed": seed}
        | {key: result[key] for key in METRICS},
    )
    return run


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]
