"""Possible floods of reports about one enterprise: flagged for the regulators, never refused.

A per-enterprise daily cap would let fifty junk reports from ten addresses silence a business's
complaint channel for the day, genuine reports included. Instead, when the reports about one
enterprise reach COMPLAINT_FLOOD_PER_DAY in 24 hours, the enterprise's day is flagged
(core.models.ComplaintFlood): those reports and the rest of that day's point at the flag, the
regulators' triage list shows it, the flag is audited, and ``complaint_flood_suspected`` tells
the features that observe the desk (notifications). The client's own hourly limit still applies
(supervision.complaints.intake).
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core.audit import audit_record
from core.models import Complaint, ComplaintFlood
from supervision.complaints.permissions import floods_visible_to
from supervision.complaints.signals import complaint_flood_suspected

WINDOW = timedelta(hours=24)
# How far back the triage list shows the floods of the regulator's scope.
SHOWN_DAYS = 7


def flood_check(*, complaint: Complaint) -> ComplaintFlood | None:
    """Called by intake, in the transaction that created ``complaint``: attach it to its enterprise's
    flood of the day, flagging one when this report reaches the threshold. The flood, if any."""
    day = timezone.localdate(complaint.created_at)
    flood = ComplaintFlood.objects.filter(enterprise_id=complaint.enterprise_id, day=day).first()
    if flood is None:
        recent = Complaint.objects.filter(
            enterprise_id=complaint.enterprise_id, created_at__gt=complaint.created_at - WINDOW
        )
        received = recent.count()
        if received < settings.COMPLAINT_FLOOD_PER_DAY:
            return None
        clients = recent.order_by().values("client").distinct().count()
        # Two reports reaching the threshold at once: the unique (enterprise, day) lets one flag it.
        flood, created = ComplaintFlood.objects.get_or_create(
            enterprise_id=complaint.enterprise_id,
            day=day,
            defaults={"received": received, "clients": clients},
        )
        if created:
            recent.filter(flood__isnull=True).update(flood=flood)
            complaint.flood = flood
            audit_record(
                actor=None,
                action="complaint.flood_suspected",
                target=flood,
                data={
                    "enterprise": complaint.enterprise.uscc,
                    "day": day.isoformat(),
                    "received": received,
                    "clients": clients,
                },
            )
            complaint_flood_suspected.send(sender=ComplaintFlood, flood=flood)
            return flood
    ComplaintFlood.objects.filter(pk=flood.pk).update(received=F("received") + 1)
    Complaint.objects.filter(pk=complaint.pk).update(flood=flood)
    complaint.flood = flood
    return flood


def floods_recent(*, user, days: int = SHOWN_DAYS) -> list[ComplaintFlood]:
    """The possible floods of the last ``days`` days about enterprises the user triages, newest
    first: what the triage list warns of."""
    since = timezone.localdate() - timedelta(days=days - 1)
    return list(
        floods_visible_to(user)
        .filter(day__gte=since)
        .select_related("enterprise")
        .order_by("-day", "-flagged_at")[:20]
    )
