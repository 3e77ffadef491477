"""What a business sees of its own risk score, without what would tell it who reported it.

The score (supervision.risk) counts a complaint from the moment it is received, weighted more once
verified: that is right for planning inspections. But a business shown its own breakdown would see
its "complaints" factor move the moment a report arrives, and could tell which customer sent it.
So the business's view counts only complaints a regulator has triaged into a task (then verified or
not): the factor moves later, at triage, detached from the report. Dismissed, duplicate and unfounded
complaints count in neither.

Only the business's view is changed, here and not in the scores: the risk engine's own figures,
the ranking and the regulators' breakdown keep counting every complaint. The risk engine recounts
the factor from the triaged complaints only, with the score's own SQL
(supervision.risk.selectors.score_counting_complaints); the total and the risk level follow. The
tier is left as scored: it is public (the code's card shows it) and set by the engine.
"""

from core.models import Complaint, Enterprise
from supervision.risk.selectors import Explanation, factor_rows, score_counting_complaints, score_explain

# What the business's view counts: complaints a regulator triaged into a task, and its outcome.
SHOWN_TO_BUSINESS = (Complaint.Status.TASKED, Complaint.Status.VERIFIED)


def own_score_explain(*, enterprise: Enterprise) -> Explanation:
    """score_explain(facts=False) as the business itself may see it (the caller has checked that
    the user is one of its members: core.permissions.may_see_own_score)."""
    explanation = score_explain(enterprise=enterprise, facts=False)
    score = explanation.score
    if score is None:
        return explanation
    seen = score_counting_complaints(score=score, statuses=SHOWN_TO_BUSINESS)
    if seen is not score:
        explanation.score = seen
        explanation.factors = factor_rows(seen, score.policy)
    return explanation
