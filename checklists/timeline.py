"""An enterprise's timeline (core.timeline): the compliance manuals its members acknowledged."""

from datetime import datetime

from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from checklists.models import Manual, ManualAcknowledgement, VersionStatus
from core.models import Enterprise
from core.permissions import enterprises_visible_to
from core.timeline import Entry, say


def _title(manual: Manual) -> str:
    return manual.display_title


_manual_title = lazy(_title, str)


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    """Acknowledgements (告知 read): for whoever sees the enterprise (its members, officials in
    scope), with a link to the manual page when it is still the current version."""
    acknowledgements = (
        ManualAcknowledgement.objects.filter(
            enterprise=enterprise, enterprise__in=enterprises_visible_to(viewer)
        )
        .select_related("manual")
        .order_by("-at", "-pk")[:limit]
    )
    found = []
    for acknowledgement in acknowledgements:
        manual = acknowledgement.manual
        current = manual.status == VersionStatus.PUBLISHED
        found.append(
            Entry(
                acknowledgement.at,
                "manual_acknowledged",
                _("Compliance manual acknowledged"),
                say(_("%(title)s, version %(version)d"), title=_manual_title(manual), version=manual.version),
                reverse("checklists:enterprise-manual", args=[enterprise.uscc]) if current else None,
                acknowledgement.pk,
            )
        )
    return found
