"""Scoring policies: the factors, version 1's defaults, and the versions regulators make.

A policy is a version of weights (one per factor) and parameters (half-lives, saturations,
thresholds, tiers, the risk x credit matrix). Every change is a new version, validated in full and
audited; the current policy is the adopted version with the highest number. The queries that
apply a policy are in supervision.risk.queries.
"""

import math

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import DomainError
from supervision.models import ScoringPolicy
from supervision.risk import offsite

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


def risk_level(risk: float, params: dict) -> str:
    """The level a risk score falls in under a policy's thresholds, as the score query sets
    ``risk_level`` (supervision.risk.queries.score_query)."""
    thresholds = params["risk_thresholds"]
    if risk >= float(thresholds["high"]):
        return "high"
    if risk >= float(thresholds["medium"]):
        return "medium"
    return "low"


def factor_labels(policy: ScoringPolicy) -> dict[str, str]:
    """Every factor of ``policy`` -> its label in the reader's language (built-in, then off-site)."""
    labels = {factor: str(label) for factor, label in FACTORS.items()}
    labels.update({d["name"]: offsite.label(d) for d in offsite.definitions(policy.params)})
    return labels


class PolicyError(DomainError):
    """A scoring policy that cannot be used; ``details`` lists every problem (field -> reason)."""


# The ranges of a policy's numbers. The scoring SQL computes with them in double precision, where
# a weight of 1e308 was once adopted: the sum of the weights overflowed and every recompute failed
# from then on. Each range is far wider than any sensible policy (version 1's values are tens).
MAX_TOTAL_WEIGHT = 10_000  # weights are shares: the score divides each by their sum
MAX_DAYS = 36_500  # half-lives, ages and intervals: a century
MAX_POINTS = 1_000  # severity and credit points, the extra weight of overdue orders, verified complaints
MAX_NUMBER = 1_000_000  # any other number of the parameters (saturations, thresholds, off-site factors)


def _number(value, path: str, problems: dict, *, minimum: float = 0.0, maximum: float | None = None):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems[path] = "must be a number"
    elif value < minimum:
        problems[path] = f"must be at least {minimum:g}"
    elif maximum is not None and value > maximum:
        problems[path] = f"must be at most {maximum:g}"


def validate_policy(*, weights, params) -> None:
    """Refuse a policy with missing, negative, unknown or too large weights or malformed parameters.

    The ranges: each weight from 0, all of them together at most MAX_TOTAL_WEIGHT; days from 1 to
    MAX_DAYS; points from 0 to MAX_POINTS; saturations and credit thresholds from 1 to MAX_NUMBER;
    every other number finite, within MAX_NUMBER of zero. Collects every problem before raising,
    so a regulator fixes the form in one go.
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
            _number(weights[factor], f"weights.{factor}", problems, maximum=MAX_TOTAL_WEIGHT)
    declared = set(offsite.names(params)) - set(FACTORS) if isinstance(params, dict) else set()
    for name in sorted(declared & set(weights)):
        _number(weights[name], f"weights.{name}", problems, maximum=MAX_TOTAL_WEIGHT)
    for extra in sorted(set(weights) - set(FACTORS) - declared):
        problems[f"weights.{extra}"] = "unknown factor"
    if not problems and sum(weights.values()) <= 0:
        problems["weights"] = "at least one weight must be above zero"
    elif not problems and sum(weights.values()) > MAX_TOTAL_WEIGHT:
        problems["weights"] = f"must add up to at most {MAX_TOTAL_WEIGHT:g}"
    if not isinstance(params, dict):
        problems["params"] = "not an object"
        raise PolicyError(_("The scoring policy is not valid."), code="policy_invalid", details=problems)
    # Off-site factors (other departments' data), declared by name in params["offsite"].
    problems.update(offsite.offsite_problems(weights=weights, params=params, builtin=FACTORS))

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
        "complaint_half_life_days",
        "self_inspection_max_age_days",
        "new_licence_days",
        "default_interval_days",
        "credit.repair_days",
    ):
        value = get(path)
        if value is not None:
            _number(value, f"params.{path}", problems, minimum=1, maximum=MAX_DAYS)
    for path in (
        "violations_saturation",
        "orders_saturation",
        "complaints_saturation",
        "discrepancy_saturation",
    ):
        value = get(path)
        if value is not None:
            _number(value, f"params.{path}", problems, minimum=1, maximum=MAX_NUMBER)
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
            _number(value, f"params.{path}", problems, maximum=MAX_POINTS)
    medium, high = get("risk_thresholds.medium"), get("risk_thresholds.high")
    for path, value in (("risk_thresholds.medium", medium), ("risk_thresholds.high", high)):
        if value is not None:
            _number(value, f"params.{path}", problems, maximum=100)
    if isinstance(medium, int | float) and isinstance(high, int | float) and not medium < high:
        problems["params.risk_thresholds"] = "medium must be below high"
    credit = [get(f"credit.thresholds.{r}") for r in ("B", "C", "D")]
    for rating, value in zip(("B", "C", "D"), credit, strict=True):
        if value is not None:
            _number(value, f"params.credit.thresholds.{rating}", problems, minimum=1, maximum=MAX_NUMBER)
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
                _number(interval, f"params.tiers.{tier}.interval_days", problems, minimum=1, maximum=MAX_DAYS)
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
    # Whatever the rules above (and the off-site ones) did not bound, anywhere in the parameters.
    _bound_every_number(params, "params", problems)
    if not problems:
        problems.update(_derived_problems(weights=weights, params=params))
    if problems:
        raise PolicyError(_("The scoring policy is not valid."), code="policy_invalid", details=problems)


def _bound_every_number(node, path: str, problems: dict) -> None:
    """Every number of the parameters is finite and within MAX_NUMBER either side of zero (a path
    with a problem already keeps its own)."""
    stack = [(path, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{where}.{key}", child) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}.{index}", child) for index, child in enumerate(value))
        elif isinstance(value, int | float) and not isinstance(value, bool) and where not in problems:
            if not math.isfinite(value):
                problems[where] = "must be a number"
            elif abs(value) > MAX_NUMBER:
                problems[where] = f"must be between {-MAX_NUMBER:g} and {MAX_NUMBER:g}"


def _derived_problems(*, weights: dict, params: dict) -> dict[str, str]:
    """The numbers the scoring SQL derives from a valid policy are finite too: each factor's share
    of 100 points, the decay rates, an overdue order's extra weight. (Within the ranges above they
    always are; this keeps it so should a range be widened.)"""
    problems = {}
    total = sum(float(value) for value in weights.values())
    for factor, weight in weights.items():
        if not math.isfinite(100.0 * float(weight) / total):
            problems[f"weights.{factor}"] = "gives a share that is not a finite number"
    half_lives = {
        "params.half_life_days": params["half_life_days"],
        "params.complaint_half_life_days": params["complaint_half_life_days"],
    }
    for index, definition in enumerate(offsite.definitions(params)):
        if "half_life_days" in definition:
            half_lives[f"params.offsite.{index}.half_life_days"] = definition["half_life_days"]
    for where, half_life in half_lives.items():
        if not math.isfinite(math.log(2) / float(half_life)):
            problems[where] = "gives a decay rate that is not a finite number"
    if not math.isfinite(float(params["overdue_order_weight"]) - 1):
        problems["params.overdue_order_weight"] = "is not a finite number"
    return problems


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
def policy_create(
    *, actor, weights, params, note: str = "", adopt: bool = True, model_card: dict | None = None
) -> ScoringPolicy:
    """A new policy version (validated, audited); adopted at once unless it is a candidate.
    ``model_card``: what a calibration learnt and from which data (supervision.risk.calibration)."""
    validate_policy(weights=weights, params=params)
    current_policy()  # version 1 is always the defaults, adopted: a candidate is never the first
    # Lock the newest row so two regulators saving at once get consecutive versions.
    last = ScoringPolicy.objects.select_for_update().order_by("-version").first()
    now = timezone.now()
    policy = ScoringPolicy.objects.create(
        version=(last.version if last else 0) + 1,
        weights={factor: weights[factor] for factor in [*FACTORS, *offsite.names(params)]},
        params=params,
        note=note[:300],
        created_by=actor,
        adopted_at=now if adopt else None,
        adopted_by=actor if adopt else None,
        model_card=model_card or {},
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
            model_card=policy.model_card,
        )
    policy.adopted_at, policy.adopted_by = timezone.now(), actor
    policy.save(update_fields=["adopted_at", "adopted_by"])
    audit_record(actor=actor, action="scoring.policy_adopt", target=policy, data={"version": policy.version})
    return policy


def policy_offsite_example(*, actor, base: ScoringPolicy | None = None, adopt: bool = False) -> ScoringPolicy:
    """A new version: ``base`` (the current policy) with the example off-site factors
    (supervision.risk.offsite.EXAMPLE_OFFSITE) added, as a candidate unless ``adopt``. Factors the
    base already declares under the same names are kept as they are."""
    base = base or current_policy()
    weights, params = offsite.example_policy(weights=base.weights, params=base.params)
    return policy_create(
        actor=actor,
        weights=weights,
        params=params,
        note=f"v{base.version} with the example off-site factors",
        adopt=adopt,
    )
