"""Who sees which self-inspections and the issues the business found itself."""

from django.db.models import Q

from core.models import Enterprise
from core.permissions import inspector_q, regulator_q, roles_of
from supervision.models import SelfIdentifiedIssue, SelfInspection


def self_inspections_visible_to(user):
    """Members see their enterprise's self-inspections, drafts included; officials with the
    enterprise in scope see the submitted ones (the entity card shows the latest)."""
    roles = roles_of(user)
    own = Q(enterprise_id__in=roles.enterprise_ids)
    if roles.is_admin:
        return SelfInspection.objects.filter(own | Q(status=SelfInspection.Status.SUBMITTED))
    official = Q(pk__in=[])
    if roles.regulator or roles.inspector:
        scope = Q(pk__in=[])
        if roles.regulator:
            scope |= regulator_q(roles.regulator)
        if roles.inspector:
            scope |= inspector_q(roles.inspector)
        official = Q(status=SelfInspection.Status.SUBMITTED, enterprise__in=Enterprise.objects.filter(scope))
    return SelfInspection.objects.filter(own | official)


def self_issues_visible_to(user):
    """Issues follow the visibility of the self-inspection they came from."""
    return SelfIdentifiedIssue.objects.filter(answer__self_inspection__in=self_inspections_visible_to(user))
