"""What a business sees of its own risk score, without what would tell it who reported it.

The score (supervision.risk) counts a complaint from the moment it is received, weighted more once
verified: that is right for planning inspections. But a business shown its own breakdown would see
its "complaints" factor move the moment a report arrives, and could tell which customer sent it.
So the business's view counts only complaints a regulator has triaged into a task (then verified or
not): the factor moves later, at triage, detached from the report. Dismissed, duplicate and unfounded
complaints count in neither.

Only the business's view is changed, here and not in the scores: the risk engine's own figures,
the ranking and the regulators' breakdown keep counting every complaint. The complaints factor is
computed again for the business the way supervision.risk.queries computes it (per complaint, its
weight decayed by its age at the score's "as of", summed, then saturated), from the triaged
complaints only; the total and the risk level follow. The tier is left as scored: it is public
(the code's card shows it) and set by the engine.
"""

import copy
import math

from core.models import Complaint, Enterprise
from supervision.models import EnterpriseScore
from supervision.risk.selectors import Explanation, factor_rows, score_explain

# What the business's view counts: complaints a regulator triaged into a task, and its outcome.
SHOWN_TO_BUSINESS = (Complaint.Status.TASKED, Complaint.Status.VERIFIED)


def own_score_explain(*, enterprise: Enterprise) -> Explanation:
    """score_explain(facts=False) as the business itself may see it (the caller has checked that
    the user is one of its members: core.permissions.may_see_own_score)."""
    explanation = score_explain(enterprise=enterprise, facts=False)
    score = explanation.score
    if score is None:
        return explanation
    shown = complaint_points(score=score, statuses=SHOWN_TO_BUSINESS)
    if math.isclose(shown, score.risk_complaints, abs_tol=1e-9):
        return explanation
    seen = copy.copy(score)
    seen.risk_complaints = shown
    seen.risk = score.risk - score.risk_complaints + shown
    seen.risk_level = risk_level(seen.risk, score.policy.params)
    explanation.score = seen
    explanation.factors = factor_rows(seen, score.policy)
    return explanation


def complaint_points(*, score: EnterpriseScore, statuses) -> float:
    """The complaints factor's points of ``score``, counting only complaints in ``statuses``, as of
    the score: 100 * weight / sum(weights) * (1 - exp(-points / saturation)), a complaint's points
    being its weight (verified_complaint_weight or 1) halved every complaint_half_life_days."""
    policy = score.policy
    params = policy.params
    weights = {factor: float(weight) for factor, weight in policy.weights.items()}
    total = sum(weights.values())
    if not total or not weights.get("complaints"):
        return 0.0
    rate = math.log(2) / float(params["complaint_half_life_days"])
    verified_weight = float(params["verified_complaint_weight"])
    points = 0.0
    for status, created_at in Complaint.objects.filter(
        enterprise_id=score.enterprise_id, created_at__lt=score.as_of, status__in=statuses
    ).values_list("status", "created_at"):
        age_days = (score.as_of - created_at).total_seconds() / 86400.0
        weight = verified_weight if status == Complaint.Status.VERIFIED else 1.0
        points += weight * math.exp(-age_days * rate)
    feature = 1.0 - math.exp(-points / float(params["complaints_saturation"]))
    return 100.0 * weights["complaints"] / total * feature


def risk_level(risk: float, params: dict) -> str:
    """The level a risk score falls in under the policy's thresholds (supervision.risk.queries)."""
    thresholds = params["risk_thresholds"]
    if risk >= float(thresholds["high"]):
        return "high"
    if risk >= float(thresholds["medium"]):
        return "medium"
    return "low"
