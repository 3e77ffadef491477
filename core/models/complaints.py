"""Reports from the public card, and their triage."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models.codes import IdentityCode
from core.models.photos import Photo
from core.models.register import Enterprise


class Complaint(models.Model):
    """A report from the public card (co-governance), triaged by a regulator.

    Triage dismisses it (with a reason), merges it into an earlier complaint about the same
    thing, or turns it into a complaint-sourced task; that task's inspection then marks it
    verified (something was found) or unfounded. Verified complaints weigh most in the risk score.
    """

    class Status(models.TextChoices):
        NEW = "new", _("new")
        DISMISSED = "dismissed", _("dismissed")
        DUPLICATE = "duplicate", _("duplicate")
        TASKED = "tasked", _("inspection planned")
        VERIFIED = "verified", _("verified")
        UNFOUNDED = "unfounded", _("not confirmed")

    # Complaints that say nothing about the enterprise once triaged; the risk score skips them.
    NOT_COUNTED = (Status.DISMISSED, Status.DUPLICATE, Status.UNFOUNDED)

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="complaints")
    code = models.ForeignKey(IdentityCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("what happened"), max_length=2000)
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Personal data of the reporter: never shown publicly, masked outside triage.
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triage_note = models.CharField(_("reason"), max_length=500, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    # Received during a possible flood of reports about the enterprise (shown on the triage list).
    flood = models.ForeignKey(
        "core.ComplaintFlood", null=True, blank=True, on_delete=models.SET_NULL, related_name="complaints"
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            # Rate limits: "complaints from this client / about this enterprise in the last hour".
            models.Index(fields=["client", "created_at"], name="complaint_client_recent"),
            models.Index(fields=["enterprise", "created_at"], name="complaint_enterprise_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} {self.created_at:%Y-%m-%d}"
