"""Fit a scoring policy's weights from history, as a candidate version a regulator can back-test.

The training set mirrors the back-test, so the fit optimises what the back-test measures:

- cut dates: the last is ``before - window_days``, the others one calendar month apart before it
  (``months`` cuts in all), so every cut's following window ends before ``before``;
- one row per inspection in a cut's following window [cut, cut + window_days), by the back-test's
  own definition (supervision.risk.backtest.window_inspections): features are the enterprise's
  ``x_<factor>`` as of midnight at the cut (supervision.risk.scoring.feature_rows, facts strictly before
  the cut, today's tiers ignored), the label is whether that inspection found a critical violation.
  Windows of neighbouring cuts overlap, so an inspection can appear twice, each time with the
  features of a different cut (a different distance ahead, as in a back-test);
- nothing dated on or after ``before`` is read: the last window ends there and every feature is
  older than its cut.

Every factor is fitted: the nine built-in ones and the policy's off-site factors. A categorical
off-site factor (type attribute: a register value mapped through ``values``) is fitted one-hot,
one column per value of its map, so each value gets its own coefficient against the enterprises
with none of them, and is folded back into the policy's form (supervision.risk.fitting.fold): a
flag's one coefficient is the factor's; a factor of several values gets the spread of its
values' coefficients as its coefficient, each value its place in that spread (0 the lowest, 1 the
highest) and ``missing`` the place of an enterprise with no value, so the policy ranks exactly as
the fit does; a value never seen in the training data maps like a missing one.

The model is a logistic regression with an L2 penalty (intercept not penalised), fitted by Newton's
method (IRLS) in numpy. Since the score is ``sum(weight * x) / sum(weights)``, weights proportional to
the coefficients rank enterprises exactly as the fitted model does. Then:

- a factor constant in the training data (every business a restaurant, no complaints ever) carries
  no information: it keeps its share of the base policy's total weight;
- a negative coefficient becomes 0: a factor may not lower risk;
- the remaining share is split in proportion to the other coefficients, so the weights add up to
  the base policy's total.

How sure the fit is comes from a bootstrap over enterprises (``BOOTSTRAP`` refits, each on the
enterprises drawn with replacement, all the rows of a drawn enterprise together, since one
enterprise's inspections and the overlapping windows are not independent): each weight, coefficient
and value mapping gets its 5th-95th percentile range over the refits, and each coefficient the
share of refits where it is positive. Standard errors from the penalised likelihood would assume
independent rows, which these are not.

The result is a candidate (not adopted) version through ``scoring.policy_create``, with the fit in
its note, its model card (``ScoringPolicy.model_card``: what it learnt and from which data, shown on
the policy's card page) and the audit chain.
"""

import calendar
import copy
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from supervision.models import ScoringPolicy
from supervision.risk import model_card, offsite
from supervision.risk.backtest import SCOPE_CHUNK, history_exists_before, window_inspections
from supervision.risk.fitting import (
    L2,
    CalibrationError,
    Column,
    calibrated_params,
    categorical,
    fold,
    logistic_fit,
    weights_from_fit,
)
from supervision.risk.model_card import BOOTSTRAP
from supervision.risk.scoring import FACTORS, Scope, as_of_start, current_policy, feature_rows, policy_create

WINDOW_DAYS = 61
MAX_MONTHS = 60
# Below this spread a factor counts as constant in the training data.
CONSTANT_SPREAD = 1e-9


@dataclass
class CalibrationReport:
    policy: ScoringPolicy
    base: ScoringPolicy
    before: date
    cuts: list[date]
    n: int
    n_critical: int
    intercept: float
    coefficients: dict[str, float]  # fitted factors only, before clamping (categorical: folded)
    constant: list[str]  # factors kept at the base policy's share
    weights: dict[str, float] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)  # categorical factors' maps
    model_card: dict = field(default_factory=dict)


def months_back(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def cut_dates(*, before: date, months: int, window_days: int = WINDOW_DAYS) -> list[date]:
    """The cuts, oldest first; each one's window [cut, cut + window_days) ends before ``before``."""
    last = before - timedelta(days=window_days)
    return sorted(months_back(last, k) for k in range(months))


def design(policy: ScoringPolicy) -> tuple[ScoringPolicy, list[Column]]:
    """The columns to fit, and a copy of ``policy`` (never saved) whose features are those columns:
    each categorical factor replaced by one flag per value of its map."""
    columns = [Column(factor, factor) for factor in FACTORS]
    expanded = []
    for d in offsite.definitions(policy.params):
        if categorical(d):
            for index, value in enumerate(d["values"]):
                feature = f"{d['name']}__{index}"
                expanded.append({**d, "name": feature, "values": {value: 1.0}, "missing": 0.0})
                columns.append(Column(d["name"], feature, value))
        else:
            expanded.append(d)
            columns.append(Column(d["name"], d["name"]))
    params = copy.deepcopy(policy.params)
    if expanded:
        params["offsite"] = expanded
    return ScoringPolicy(version=policy.version, weights=policy.weights, params=params), columns


def training_set(
    *, policy: ScoringPolicy, before: date, months: int, window_days: int = WINDOW_DAYS
) -> tuple[np.ndarray, np.ndarray, list[date]]:
    """(X: one row per inspection, one column per factor of FACTORS; y: critical; the cuts)."""
    x, y, cuts, _columns, _enterprises, _days = training_data(
        policy=policy, before=before, months=months, window_days=window_days
    )
    return x[:, : len(FACTORS)], y, cuts


def training_data(*, policy: ScoringPolicy, before: date, months: int, window_days: int = WINDOW_DAYS):
    """(X: one row per inspection, one column per ``design`` column; y: critical; the cuts; the
    columns; each row's enterprise; each row's inspection date)."""
    cuts = cut_dates(before=before, months=months, window_days=window_days)
    features_policy, columns = design(policy)
    # One read of every inspection the windows cover; each window is a slice of it.
    span = window_inspections(start=cuts[0], end=cuts[-1] + timedelta(days=window_days))
    blocks_x, blocks_y, blocks_e, blocks_d = [], [], [], []
    for cut in cuts:
        offset = (cut - cuts[0]).days
        inside = (span.days >= offset) & (span.days < offset + window_days)
        if not inside.any():
            continue
        eids = span.enterprise_ids[inside]
        unique = np.unique(eids)
        features = _features(policy=features_policy, columns=columns, as_of_day=cut, enterprise_ids=unique)
        blocks_x.append(features[np.searchsorted(unique, eids)])
        blocks_y.append(span.critical[inside])
        blocks_e.append(eids)
        blocks_d.append(span.days[inside])
    if not blocks_x:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, len(columns))), np.zeros(0, dtype=bool), cuts, columns, empty, empty
    days = np.concatenate(blocks_d)
    return (
        np.vstack(blocks_x),
        np.concatenate(blocks_y),
        cuts,
        columns,
        np.concatenate(blocks_e),
        days,
    )


def _features(
    *, policy: ScoringPolicy, columns: list[Column], as_of_day: date, enterprise_ids: np.ndarray
) -> np.ndarray:
    """The columns' features of the (sorted, unique) enterprises as of midnight at the day."""
    out = np.zeros((len(enterprise_ids), len(columns)))
    as_of = as_of_start(as_of_day)
    for lo in range(0, len(enterprise_ids), SCOPE_CHUNK):
        chunk = tuple(int(i) for i in enterprise_ids[lo : lo + SCOPE_CHUNK])
        rows = feature_rows(policy=policy, as_of=as_of, scope=Scope(ids=chunk))
        for row in rows:
            index = np.searchsorted(enterprise_ids, row["enterprise_id"])
            out[index] = [float(row[f"x_{column.feature}"]) for column in columns]
    return out


@transaction.atomic
def policy_calibrate(
    *,
    actor,
    before: date,
    months: int = 12,
    note: str = "",
    base: ScoringPolicy | None = None,
    window_days: int = WINDOW_DAYS,
    l2: float = L2,
    replicates: int = BOOTSTRAP,
) -> CalibrationReport:
    """Fit weights (and categorical factors' values) on history before ``before`` and save them as
    a candidate policy version with its model card."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise CalibrationError(
            _("Calibrate on 1 to %(max)d months.") % {"max": MAX_MONTHS}, code="invalid_months"
        )
    base = base or current_policy()
    cuts = cut_dates(before=before, months=months, window_days=window_days)
    if not history_exists_before(cuts[0]):
        raise CalibrationError(
            _("No inspection history before %(day)s, the first cut: nothing to learn from.")
            % {"day": cuts[0]},
            code="no_history",
        )
    x, y, cuts, columns, enterprises, days = training_data(
        policy=base, before=before, months=months, window_days=window_days
    )
    n, n_critical = len(y), int(y.sum())
    if n_critical == 0 or n_critical == n:
        raise CalibrationError(
            _(
                "Between %(first)s and %(before)s, %(critical)d of %(n)d inspections found a critical "
                "violation: a fit needs both kinds."
            )
            % {"first": cuts[0], "before": before, "critical": n_critical, "n": n},
            code="calibration_one_class",
        )
    varying = [i for i in range(len(columns)) if np.ptp(x[:, i]) > CONSTANT_SPREAD]
    beta = logistic_fit(x[:, varying], y, l2=l2)
    folded = fold(columns=columns, varying=varying, beta=beta[1:], base=base)
    coefficients, constant = folded.coefficients, folded.constant
    weights = weights_from_fit(base_weights=base.weights, coefficients=coefficients, constant=constant)
    params = calibrated_params(base, folded)
    card = model_card.build(
        base=base,
        before=before,
        cuts=cuts,
        window_days=window_days,
        l2=l2,
        x=x,
        y=y,
        enterprises=enterprises,
        days=days,
        columns=columns,
        varying=varying,
        beta=beta,
        folded=folded,
        weights=weights,
        params=params,
        replicates=replicates,
    )

    fitted = " ".join(f"{factor} {value:+.2f}" for factor, value in coefficients.items())
    described = (
        f"calibrated on history before {before}: logistic L2={l2:g}, n={n} ({n_critical} critical), "
        f"{len(cuts)} cuts {cuts[0]}..{cuts[-1]} +{window_days}d; coef {fitted}; "
        f"constant, v{base.version} share kept: {' '.join(constant) or '-'}"
    )
    full_note = f"{note.strip()} | {described}" if note.strip() else described
    policy = policy_create(
        actor=actor, weights=weights, params=params, note=full_note, adopt=False, model_card=card
    )
    report = CalibrationReport(
        policy=policy,
        base=base,
        before=before,
        cuts=cuts,
        n=n,
        n_critical=n_critical,
        intercept=float(beta[0]),
        coefficients=coefficients,
        constant=constant,
        weights=weights,
        values=folded.values,
        model_card=card,
    )
    # The note holds 300 characters; the chain keeps the whole fit.
    audit_record(
        actor=actor,
        action="scoring.policy_calibrate",
        target=policy,
        data={
            "base_version": base.version,
            "before": before.isoformat(),
            "cuts": [cut.isoformat() for cut in cuts],
            "window_days": window_days,
            "l2": l2,
            "n": n,
            "n_critical": n_critical,
            "intercept": report.intercept,
            "coefficients": coefficients,
            "constant": constant,
            "weights": weights,
            "values": folded.values,
            "missing": folded.missing,
        },
    )
    return report
