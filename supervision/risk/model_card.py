"""A calibrated candidate's model card: the weights it learnt with their uncertainty and the data
they were learnt from (supervision.risk.calibration builds it, ``ScoringPolicy.model_card`` keeps
it, the policy's card page and the API show it).

The uncertainty is a bootstrap over enterprises: BOOTSTRAP refits, each on the enterprises drawn
with replacement (all the rows of a drawn enterprise together: one enterprise's inspections, and
the overlapping windows of neighbouring cuts, are not independent rows), through the same fold and
weights as the fit itself. Each weight, coefficient and value mapping gets the range of its 5th to
95th percentile over the refits, each coefficient the share of refits where it is positive.
"""

from datetime import timedelta

import numpy as np

from supervision.models import ScoringPolicy
from supervision.risk import offsite
from supervision.risk.fitting import (
    CalibrationError,
    base_definition,
    fold,
    logistic_fit,
    params_values,
    weights_from_fit,
)
from supervision.risk.policies import FACTORS, factor_labels

BOOTSTRAP = 100
BOOTSTRAP_SEED = 0
INTERVAL = (5, 95)
CARD_FORMAT = 1


def _bootstrap(*, x, y, enterprises, varying, columns, base, l2, start, replicates: int):
    """Refits on enterprises drawn with replacement: per replicate, the folded coefficients, the
    weights and the value maps (None for a replicate whose draw fits no positive factor)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    unique, inverse = np.unique(enterprises, return_inverse=True)
    draws = []
    for _round in range(replicates):
        counts = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
        weight = counts[inverse]
        if not (y[weight > 0].any() and (~y[weight > 0]).any()):
            continue
        beta = logistic_fit(x[:, varying], y, l2=l2, sample_weight=weight, start=start)
        folded = fold(columns=columns, varying=varying, beta=beta[1:], base=base)
        try:
            weights = weights_from_fit(
                base_weights=base.weights, coefficients=folded.coefficients, constant=folded.constant
            )
        except CalibrationError:
            weights = None
        draws.append((folded, weights))
    return draws


def _interval(samples: list[float]) -> tuple[float | None, float | None]:
    if not samples:
        return None, None
    low, high = np.percentile(samples, INTERVAL)
    return round(float(low), 4), round(float(high), 4)


def build(
    *,
    base,
    before,
    cuts,
    window_days,
    l2,
    x,
    y,
    enterprises,
    days,
    columns,
    varying,
    beta,
    folded,
    weights,
    params,
    replicates,
) -> dict:
    """What the fit learnt and from which data, for the card page (labels are added when shown)."""
    draws = _bootstrap(
        x=x,
        y=y,
        enterprises=enterprises,
        varying=varying,
        columns=columns,
        base=base,
        l2=l2,
        start=beta,
        replicates=replicates,
    )
    kinds = {d["name"]: d["type"] for d in offsite.definitions(base.params)}
    factors = []
    for factor in [*FACTORS, *kinds]:
        indices = [i for i, column in enumerate(columns) if column.factor == factor]
        block = x[:, indices]
        coefficient = folded.coefficients.get(factor)
        weight_draws = [w[factor] for _f, w in draws if w is not None]
        coefficient_draws = [f.coefficients[factor] for f, _w in draws if factor in f.coefficients]
        entry = {
            "name": factor,
            "kind": kinds.get(factor, "builtin"),
            "base_weight": float(base.weights.get(factor, 0)),
            "weight": weights[factor],
            "weight_interval": _interval(weight_draws),
            "coefficient": None if coefficient is None else round(coefficient, 4),
            "coefficient_interval": _interval(coefficient_draws),
            "positive_share": (
                round(float(np.mean([c > 0 for c in coefficient_draws])), 3) if coefficient_draws else None
            ),
            "constant": factor in folded.constant,
            "nonzero_share": round(float(np.mean(np.any(block != 0, axis=1))), 4) if len(y) else 0.0,
            "mean": round(float(block.max(axis=1).mean()), 4) if len(y) else 0.0,
        }
        if kinds.get(factor) == "attribute":
            mapping = params_values(params, factor)
            base_mapping = params_values(base.params, factor)
            fitted = folded.by_value.get(factor, {})
            entry["missing"] = {
                "base": base_definition(base.params, factor).get("missing", 0),
                "mapped": base_definition(params, factor).get("missing", 0),
                "share": round(float(np.mean(~np.any(block != 0, axis=1))), 4) if len(y) else 0.0,
            }
            entry["values"] = [
                {
                    "value": columns[i].value,
                    "base": base_mapping.get(columns[i].value),
                    "mapped": mapping.get(columns[i].value),
                    "mapped_interval": _interval(
                        [f.values[factor][columns[i].value] for f, _w in draws if factor in f.values]
                    ),
                    "coefficient": (
                        round(fitted[columns[i].value], 4) if columns[i].value in fitted else None
                    ),
                    "nonzero_share": round(float(np.mean(x[:, i] != 0)), 4) if len(y) else 0.0,
                    "fitted": i in varying,
                }
                for i in indices
            ]
        factors.append(entry)
    first, last = (cuts[0] + timedelta(days=int(days.min())), cuts[0] + timedelta(days=int(days.max())))
    return {
        "format": CARD_FORMAT,
        "method": "logistic regression, L2 penalty on the coefficients, fitted by Newton's method",
        "l2": l2,
        "base_version": base.version,
        "before": before.isoformat(),
        "window_days": window_days,
        "cuts": {"count": len(cuts), "first": cuts[0].isoformat(), "last": cuts[-1].isoformat()},
        "data": {
            "rows": len(y),
            "critical": int(y.sum()),
            "enterprises": len(np.unique(enterprises)),
            "first_inspection": first.isoformat(),
            "last_inspection": last.isoformat(),
        },
        "bootstrap": {
            "replicates": len(draws),
            "resampled": "enterprises",
            "seed": BOOTSTRAP_SEED,
            "percentiles": list(INTERVAL),
        },
        "intercept": round(float(beta[0]), 4),
        "factors": factors,
    }


def view(policy: ScoringPolicy) -> dict | None:
    """The card as its page shows it: each factor with its label in the reader's language and the
    name of its type; None for a version made by hand."""
    card = policy.model_card
    if not card:
        return None
    labels = factor_labels(policy)
    return {
        **card,
        "factors": [
            {
                **factor,
                "label": labels.get(factor["name"], factor["name"]),
                "kind_label": offsite.TYPES.get(factor["kind"], ""),
            }
            for factor in card.get("factors", [])
        ],
    }
