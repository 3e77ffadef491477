"""一公开: who reads and who decides the objections businesses raise against published results."""

from django.db.models import Q

from core.models import Enterprise
from core.permissions import landing_view_for, regulator_q, roles_of
from supervision.models import Objection


def objections_visible_to(user):
    """Objections to published results: the objecting business's members, regulators in scope."""
    roles = roles_of(user)
    if roles.is_admin:
        return Objection.objects.all()
    q = Q(enterprise_id__in=roles.enterprise_ids)
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(regulator_q(roles.regulator)))
    return Objection.objects.filter(q)


def can_decide_objection(user, enterprise: Enterprise) -> bool:
    """Upholding or rejecting a business's objection: a regulator with the enterprise in scope, or
    an admin."""
    return landing_view_for(user, enterprise) == "regulator"
