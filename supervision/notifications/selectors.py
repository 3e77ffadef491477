"""Reads of the inbox: a user's notifications newest first, and how many are unread."""

from django.db.models import QuerySet

from supervision.models import Notification
from supervision.notifications.permissions import notifications_visible_to

# The bell shows "99+" beyond this: counting further costs more than it tells.
UNREAD_CAP = 99


def inbox(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = notifications_visible_to(user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-pk")


def unread_count(*, user) -> int:
    """Unread notifications, counted up to UNREAD_CAP + 1 (a bounded count, on every page)."""
    return inbox(user=user, unread_only=True)[: UNREAD_CAP + 1].count()
