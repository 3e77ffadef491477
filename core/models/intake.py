"""What guards the public's reports (supervision.complaints.intake): the per-client lock that makes
the hourly limit hold, and the flag of a possible flood of reports about one enterprise.

In a module of their own, imported after the others: a new database numbers content types in the
order models are registered, and the existing ones keep theirs."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models.register import Enterprise


class ComplaintFlood(models.Model):
    """Many reports about one enterprise in a day: COMPLAINT_FLOOD_PER_DAY or more in 24 hours.

    Perhaps a real outbreak, perhaps a campaign against the business: every report is still
    received (a flood must never silence a genuine one), and the regulators see the flag on their
    triage list and judge. One per enterprise and local day; the reports of the 24 hours before it
    and those of the rest of that day point at it (Complaint.flood).
    """

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="complaint_floods")
    day = models.DateField(_("day"))
    flagged_at = models.DateTimeField(_("flagged at"), auto_now_add=True)
    # Reports about the enterprise in the 24 hours up to the flag and on the rest of that day, and how
    # many clients (keyed addresses) sent those of the 24 hours: many reports from few clients
    # suggest a campaign.
    received = models.PositiveIntegerField(_("reports"), default=0)
    clients = models.PositiveIntegerField(_("clients"), default=0)

    class Meta:
        verbose_name = _("possible complaint flood")
        verbose_name_plural = _("possible complaint floods")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "day"], name="complaint_flood_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} {self.day:%Y-%m-%d} ({self.received})"


class ComplaintClient(models.Model):
    """One row per client key that sent a report, locked while its next report is counted against
    COMPLAINTS_PER_CLIENT_PER_HOUR: two reports from one client at once are counted one after the
    other, so the limit holds (supervision.complaints.intake)."""

    client = models.CharField(max_length=16, primary_key=True)

    class Meta:
        verbose_name = _("complaint client")
        verbose_name_plural = _("complaint clients")

    def __str__(self) -> str:
        return self.client
