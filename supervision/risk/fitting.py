"""The fit behind a calibration (supervision.risk.calibration) and its model card
(supervision.risk.model_card): a penalised logistic regression, and the rules that turn its
coefficients into a policy's weights and its categorical factors' value maps."""

import copy
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from core.errors import DomainError
from supervision.models import ScoringPolicy
from supervision.risk import offsite
from supervision.risk.policies import FACTORS

L2 = 1.0


class CalibrationError(DomainError):
    """History that cannot support a fit; ``code`` says why."""

    status = 422


@dataclass(frozen=True)
class Column:
    """One column of the training data: a factor's feature, or one value of a categorical factor."""

    factor: str
    feature: str  # the x_<feature> column of feature_rows
    value: str | None = None  # the register value of a one-hot column


def categorical(definition: dict) -> bool:
    return definition.get("type") == "attribute"


def logistic_fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = L2,
    iterations: int = 100,
    sample_weight: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Coefficients (intercept first) of an L2-penalised logistic regression, by Newton's method.

    The penalty is ``l2 / 2 * |beta|^2`` on the log-likelihood summed over rows (not the intercept);
    it keeps the fit finite when a feature separates the classes and is negligible otherwise.
    ``sample_weight``: how many times each row counts (a bootstrap draw); ``start``: where Newton's
    method begins (the full fit, for the bootstrap's refits).
    """
    design_ = np.column_stack([np.ones(len(x)), x])
    penalty = np.full(design_.shape[1], float(l2))
    penalty[0] = 0.0
    beta = np.zeros(design_.shape[1]) if start is None else start.astype(float).copy()
    target = y.astype(float)
    weight = np.ones(len(x)) if sample_weight is None else sample_weight.astype(float)
    for _round in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design_ @ beta)))
        gradient = design_.T @ (weight * (target - p)) - penalty * beta
        hessian = (design_ * (weight * p * (1.0 - p))[:, None]).T @ design_ + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def weights_from_fit(
    *, base_weights: dict, coefficients: dict[str, float], constant: list[str]
) -> dict[str, float]:
    """Constant factors keep their weight; the rest of the base total goes by clamped coefficient.
    Every factor of ``base_weights`` gets a weight (built-in ones first, as FACTORS orders them)."""
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
    factors = [*FACTORS, *(name for name in base_weights if name not in FACTORS)]
    weights = {
        factor: round(kept[factor] if factor in kept else share * clamped.get(factor, 0.0) / spread, 2)
        for factor in factors
    }
    # Rounding may leave the total a cent off: the largest weight absorbs it.
    largest = max(weights, key=weights.get)
    weights[largest] = round(weights[largest] + total - sum(weights.values()), 2)
    return weights


@dataclass
class Fold:
    """A fit in the policy's terms: one coefficient per factor, the maps of the categorical ones
    (and, for those with several values, the level of an enterprise with none of them)."""

    coefficients: dict[str, float]
    constant: list[str]
    values: dict[str, dict[str, float]]
    missing: dict[str, float]
    by_value: dict[str, dict[str, float]]  # each fitted value's own coefficient, as fitted


def fold(*, columns: list[Column], varying: list[int], beta: np.ndarray, base: ScoringPolicy) -> Fold:
    """Coefficients per column (``beta`` without the intercept, for the ``varying`` columns) folded
    into one per factor and a value map per categorical factor.

    A flag (a map of one value) is one column: its coefficient is the factor's, a negative one
    clamped to 0 like any factor's. A factor of several values is fitted one column per value
    against the enterprises that have none of them (coefficient 0), and folded exactly: with lo
    and hi the least and greatest of 0 and the values' coefficients, the factor's coefficient is
    ``hi - lo``, each value maps to ``(c - lo) / (hi - lo)`` and an enterprise without a value (or
    with one never seen in the training data) to ``(0 - lo) / (hi - lo)`` ("missing"). That keeps
    what the fit learnt about the values against each other: clamping each value's coefficient
    at 0 would throw it away whenever the enterprises without a value (a few, so a noisy
    reference) happened to come out riskier than all of them.
    """
    by_column = dict(zip(varying, beta, strict=True))
    coefficients, constant, values, missing, by_value = {}, [], {}, {}, {}
    bases = {d["name"]: d for d in offsite.definitions(base.params)}
    for factor in [*FACTORS, *bases]:
        indices = [i for i, column in enumerate(columns) if column.factor == factor]
        fitted = {i: float(by_column[i]) for i in indices if i in by_column}
        if not fitted:
            constant.append(factor)
            continue
        if factor not in bases or not categorical(bases[factor]):
            coefficients[factor] = fitted[indices[0]]
            continue
        by_value[factor] = {columns[i].value: c for i, c in fitted.items()}
        mapping = dict(bases[factor]["values"])
        if len(mapping) == 1:
            coefficients[factor] = next(iter(fitted.values()))
            continue
        low, high = min(0.0, *fitted.values()), max(0.0, *fitted.values())
        coefficients[factor] = high - low
        if high - low <= 0:
            continue
        level = round(-low / (high - low), 4)
        for i in indices:
            coefficient = fitted.get(i)
            mapping[columns[i].value] = (
                level if coefficient is None else round((coefficient - low) / (high - low), 4)
            )
        values[factor], missing[factor] = mapping, level
    return Fold(coefficients, constant, values, missing, by_value)


def calibrated_params(base: ScoringPolicy, folded: Fold) -> dict:
    params = copy.deepcopy(base.params)
    for d in offsite.definitions(params):
        if d["name"] in folded.values:
            d["values"] = folded.values[d["name"]]
            d["missing"] = folded.missing[d["name"]]
    return params


def base_definition(params: dict, factor: str) -> dict:
    return next((d for d in offsite.definitions(params) if d["name"] == factor), {})


def params_values(params: dict, factor: str) -> dict:
    for d in offsite.definitions(params):
        if d["name"] == factor:
            return dict(d.get("values") or {})
    return {}
