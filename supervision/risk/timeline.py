"""An enterprise's timeline (core.timeline): its credit events (penalties, dishonesty listings,
refused inspections), for the business itself (its own score shows them, core.permissions
.may_see_own_score) and the regulators who rank it (ranked_enterprises_visible_to).

Changes of tier or credit rating are not on the timeline: EnterpriseScore keeps one row per
enterprise, overwritten by each set-based recompute, and nothing records the previous tier or
rating (the audit chain records one event per recompute, not per enterprise). They could only be
shown once the recompute keeps them.
"""

from datetime import datetime

from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise
from core.permissions import may_see_own_score, may_see_ranking, ranked_enterprises_visible_to
from core.timeline import Entry, day_start, joined, say
from supervision.models import CreditEvent


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    ranked = ranked_enterprises_visible_to(viewer)
    events = CreditEvent.objects.filter(enterprise=enterprise)
    if not may_see_own_score(viewer, enterprise):
        events = events.filter(enterprise__in=ranked)
    events = list(events.order_by("-occurred_on", "-pk")[:limit])
    if not events:
        return []
    # The ranking's page of the enterprise, with every credit event: for the regulators who rank it.
    url = None
    if may_see_ranking(viewer) and ranked.filter(pk=enterprise.pk).exists():
        url = reverse("ranking:detail", args=[enterprise.uscc])
    found = []
    for event in events:
        detail = joined(
            say(_("decision number %(reference)s"), reference=event.reference) if event.reference else "",
            say(_("listed until %(day)s"), day=event.ends_on.isoformat()) if event.ends_on else "",
            # The regulator's note stays with the regulators.
            event.note if url else "",
        )
        found.append(
            Entry(
                day_start(event.occurred_on),
                "credit_event",
                capfirst(CreditEvent.Kind(event.kind).label),
                detail,
                url,
                event.pk,
                all_day=True,
            )
        )
    return found
