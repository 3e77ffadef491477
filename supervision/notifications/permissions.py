"""Who may be told about what, by the features' own permission rules, and whose inbox is whose.

A notification names the record it is about (``record_type``, ``record_id``). Before it is written
and again before it is sent, the recipient must be able to open that record by the rules of the
feature that owns it (``RECORDS``): the business members and officials of an order by
orders_visible_to, an inspector's task by tasks_visible_to, and so on. A user who lost the scope
in between (moved to another district, left the business) gets nothing more about it, and the
inbox hides what is about an enterprise they no longer have in scope.

Complainants are told only what the public card shows (record_type "" and no enterprise): they
need no scope.
"""

from django.db.models import Q, QuerySet

from core.permissions import enterprises_visible_to, plannable_enterprises, roles_of
from history.permissions import sources_managed_by
from supervision.inspections.permissions import inspections_visible_to, orders_visible_to, tasks_visible_to
from supervision.models import Notification

# record_type -> the rows of that kind the user may open.
RECORDS = {
    "order": orders_visible_to,
    "task": tasks_visible_to,
    "inspection": inspections_visible_to,
    "enterprise": enterprises_visible_to,
    # The complaint desk of one enterprise: those who triage its complaints (the rule of
    # supervision.complaints.permissions.complaints_triageable_by).
    "complaint_desk": plannable_enterprises,
    "source": sources_managed_by,
}


def may_receive(user, *, record_type: str, record_id: int | None) -> bool:
    """May ``user`` be told about this record now? Inactive users are told nothing."""
    if user is None or not user.is_active:
        return False
    if not record_type:
        return True
    visible = RECORDS[record_type]
    return visible(user).filter(pk=record_id).exists()


def notifications_visible_to(user) -> QuerySet[Notification]:
    """A user's own notifications, less those about an enterprise they no longer have in scope."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    mine = Notification.objects.filter(user=user)
    if roles_of(user).is_admin:
        return mine
    return mine.filter(
        Q(enterprise__isnull=True) | Q(enterprise__in=enterprises_visible_to(user).values("pk"))
    )
