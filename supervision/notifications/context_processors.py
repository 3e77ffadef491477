"""The inbox bell in the header of every signed-in page (registered in settings.TEMPLATES, so core's
base template shows it without importing this feature)."""

from functools import cached_property

from django.urls import reverse

from supervision.notifications.selectors import UNREAD_CAP, unread_count


class _Bell:
    """Counted only if the template asks (a page without the header costs no query)."""

    def __init__(self, user):
        self.user = user
        self.url = reverse("notifications:inbox")

    @cached_property
    def unread(self) -> int:
        return unread_count(user=self.user)

    @cached_property
    def label(self) -> str:
        return f"{UNREAD_CAP}+" if self.unread > UNREAD_CAP else str(self.unread)


def inbox(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notification_bell": _Bell(user)}
