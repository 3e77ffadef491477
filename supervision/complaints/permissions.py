"""Co-governance: who reads and who triages the complaints the public sends from the card."""

from django.db.models import Q

from core.models import Complaint, ComplaintFlood, Enterprise
from core.permissions import can_plan_tasks, plannable_enterprises, regulator_q, roles_of
from supervision.models import InspectionTask


def complaints_triageable_by(user):
    """Complaints a user triages (dismiss, merge, task) and whose reporter's contact they read:
    those about enterprises a regulator has in scope (the rule of can_plan_tasks); all for an admin."""
    return Complaint.objects.filter(enterprise__in=plannable_enterprises(user))


def floods_visible_to(user):
    """Possible floods of reports (supervision.complaints.floods): for those who triage the
    enterprise's complaints, like the contact."""
    return ComplaintFlood.objects.filter(enterprise__in=plannable_enterprises(user))


def complaints_visible_to(user):
    """Regulators see the complaints they triage; inspectors the complaints their own tasks check
    (what to look for, the contact masked). Businesses never see complaints about themselves."""
    roles = roles_of(user)
    if roles.is_admin:
        return Complaint.objects.all()
    q = Q(pk__in=[])
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(regulator_q(roles.regulator)))
    if roles.inspector:
        q |= Q(
            pk__in=InspectionTask.objects.filter(inspectors=roles.inspector, complaint__isnull=False).values(
                "complaint_id"
            )
        )
    return Complaint.objects.filter(q)


def may_see_complaints(user) -> bool:
    """The complaint pages: officials (each sees what complaints_visible_to gives them)."""
    roles = roles_of(user)
    return roles.is_admin or roles.regulator is not None or roles.inspector is not None


def can_triage_complaint(user, complaint) -> bool:
    return can_plan_tasks(user, complaint.enterprise)
