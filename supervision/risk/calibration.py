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

The model is a logistic regression with an L2 penalty (intercept not penalised), fitted by Newton's
method (IRLS) in numpy. Since the score is ``sum(weight * x) / sum(weights)``, weights proportional to
the coefficients rank enterprises exactly as the fitted model does. Then:

- a factor constant in the training data (every business a restaurant, no complaints ever) carries
  no information: it keeps its share of the base policy's total weight;
- a negative coefficient becomes 0: a factor may not lower risk;
- the remaining share is split in proportion to the other coefficients, so the weights add up to
  the base policy's total.

The result is a candidate (not adopted) version through ``scoring.policy_create``, with the fit in
its note and in the audit chain.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError
from supervision.models import ScoringPolicy
from supervision.risk.backtest import SCOPE_CHUNK, history_exists_before, window_inspections
from supervision.risk.scoring import FACTORS, Scope, as_of_start, current_policy, feature_rows, policy_create

WINDOW_DAYS = 61
MAX_MONTHS = 60
L2 = 1.0
# Below this spread a factor counts as constant in the training data.
CONSTANT_SPREAD = 1e-9


class CalibrationError(DomainError):
    """History that cannot support a fit; ``code`` says why."""

    status = 422


@dataclass
class CalibrationReport:
    policy: ScoringPolicy
    base: ScoringPolicy
    before: date
    cuts: list[date]
    n: int
    n_critical: int
    intercept: float
    coefficients: dict[str, float]  # fitted factors only, before clamping
    constant: list[str]  # factors kept at the base policy's share
    weights: dict[str, float] = field(default_factory=dict)


def months_back(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def cut_dates(*, before: date, months: int, window_days: int = WINDOW_DAYS) -> list[date]:
    """The cuts, oldest first; each one's window [cut, cut + window_days) ends before ``before``."""
    last = before - timedelta(days=window_days)
    return sorted(months_back(last, k) for k in range(months))


def training_set(
    *, policy: ScoringPolicy, before: date, months: int, window_days: int = WINDOW_DAYS
) -> tuple[np.ndarray, np.ndarray, list[date]]:
    """(X: one row per inspection, one column per factor of FACTORS; y: critical; the cuts)."""
    cuts = cut_dates(before=before, months=months, window_days=window_days)
    # One read of every inspection the windows cover; each window is a slice of it.
    span = window_inspections(start=cuts[0], end=cuts[-1] + timedelta(days=window_days))
    blocks_x, blocks_y = [], []
    for cut in cuts:
        offset = (cut - cuts[0]).days
        inside = (span.days >= offset) & (span.days < offset + window_days)
        if not inside.any():
            continue
        eids = span.enterprise_ids[inside]
        features = _features(policy=policy, as_of_day=cut, enterprise_ids=np.unique(eids))
        blocks_x.append(features[np.searchsorted(np.unique(eids), eids)])
        blocks_y.append(span.critical[inside])
    if not blocks_x:
        return np.zeros((0, len(FACTORS))), np.zeros(0, dtype=bool), cuts
    return np.vstack(blocks_x), np.concatenate(blocks_y), cuts


def _features(*, policy: ScoringPolicy, as_of_day: date, enterprise_ids: np.ndarray) -> np.ndarray:
    """The x_<factor> features of the (sorted, unique) enterprises as of midnight at the day."""
    out = np.zeros((len(enterprise_ids), len(FACTORS)))
    as_of = as_of_start(as_of_day)
    for lo in range(0, len(enterprise_ids), SCOPE_CHUNK):
        chunk = tuple(int(i) for i in enterprise_ids[lo : lo + SCOPE_CHUNK])
        rows = feature_rows(policy=policy, as_of=as_of, scope=Scope(ids=chunk))
        for row in rows:
            index = np.searchsorted(enterprise_ids, row["enterprise_id"])
            out[index] = [float(row[f"x_{factor}"]) for factor in FACTORS]
    return out


def logistic_fit(x: np.ndarray, y: np.ndarray, *, l2: float = L2, iterations: int = 100) -> np.ndarray:
    """Coefficients (intercept first) of an L2-penalised logistic regression, by Newton's method.

    The penalty is ``l2 / 2 * |beta|^2`` on the log-likelihood summed over rows (not the intercept);
    it keeps the fit finite when a feature separates the classes and is negligible otherwise.
    """
    design = np.column_stack([np.ones(len(x)), x])
    penalty = np.full(design.shape[1], float(l2))
    penalty[0] = 0.0
    beta = np.zeros(design.shape[1])
    target = y.astype(float)
    for _round in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (target - p) - penalty * beta
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def weights_from_fit(
    *, base_weights: dict, coefficients: dict[str, float], constant: list[str]
) -> dict[str, float]:
    """Constant factors keep their weight; the rest of the base total goes by clamped coefficient."""
    total = sum(float(v) for v in base_weights.values())
    kept = {factor: float(base_weights[factor]) for factor in constant}
    clamped = {factor: max(0.0, value) for factor, value in coefficients.items()}
    spread = sum(clamped.values())
    if spread <= 0:
        raise CalibrationError(
            _("No factor predicts a critical violation in this history: nothing to calibrate."),
            code="calibration_no_signal",
        )
    share = total - sum(kept.values())
    weights = {
        factor: round(kept[factor] if factor in kept else share * clamped[factor] / spread, 2)
        for factor in FACTORS
    }
    # Rounding may leave the total a cent off: the largest weight absorbs it.
    largest = max(weights, key=weights.get)
    weights[largest] = round(weights[largest] + total - sum(weights.values()), 2)
    return weights


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
) -> CalibrationReport:
    """Fit weights on history before ``before`` and save them as a candidate policy version."""
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
    x, y, cuts = training_set(policy=base, before=before, months=months, window_days=window_days)
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
    factors = list(FACTORS)
    varying = [i for i, factor in enumerate(factors) if np.ptp(x[:, i]) > CONSTANT_SPREAD]
    constant = [factors[i] for i in range(len(factors)) if i not in varying]
    beta = logistic_fit(x[:, varying], y, l2=l2)
    coefficients = {factors[i]: float(b) for i, b in zip(varying, beta[1:], strict=True)}
    weights = weights_from_fit(base_weights=base.weights, coefficients=coefficients, constant=constant)

    fitted = " ".join(f"{factor} {value:+.2f}" for factor, value in coefficients.items())
    described = (
        f"calibrated on history before {before}: logistic L2={l2:g}, n={n} ({n_critical} critical), "
        f"{len(cuts)} cuts {cuts[0]}..{cuts[-1]} +{window_days}d; coef {fitted}; "
        f"constant, v{base.version} share kept: {' '.join(constant) or '-'}"
    )
    full_note = f"{note.strip()} | {described}" if note.strip() else described
    policy = policy_create(actor=actor, weights=weights, params=base.params, note=full_note, adopt=False)
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
        },
    )
    return report
