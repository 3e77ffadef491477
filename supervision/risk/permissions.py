"""Whose scores a user ranks (the rules of ranking and scoring that need no score rows stay in
core.permissions: may_see_ranking, can_manage_scoring, can_record_credit_event, may_see_own_score)."""

from core.models import Enterprise
from core.permissions import ranking_q, roles_of
from supervision.models import EnterpriseScore


def scores_visible_to(user):
    """EnterpriseScore rows of the enterprises in the user's ranking scope (none for other roles)."""
    q = ranking_q(roles_of(user))
    if q is None:
        return EnterpriseScore.objects.all()
    return EnterpriseScore.objects.filter(enterprise__in=Enterprise.objects.filter(q))
