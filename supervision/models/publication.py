"""一公开: a business's objection to a published inspection result, and the correction it may bring.

Every transition lives in supervision/publication/services.py. The inspection record itself never changes
(it is hash-chained); an upheld objection publishes a correction next to it instead.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise
from supervision.models.loop import Inspection


class Objection(models.Model):
    """One objection per inspection, by a member of the business, to a result already published;
    a regulator with the enterprise in scope upholds it (with the correction the public then sees)
    or rejects it (with the reason)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting decision")
        UPHELD = "upheld", _("upheld")
        REJECTED = "rejected", _("rejected")

    # One-to-one: a business objects to a result once, whatever the decision.
    inspection = models.OneToOneField(Inspection, on_delete=models.PROTECT, related_name="objection")
    # The inspection's enterprise, kept here so that scope filters need no join through it.
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="objections")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("reason for the objection"), max_length=2000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Upheld: what the public sees next to the result ("corrected after objection"); rejected: why.
    correction = models.TextField(_("correction"), max_length=2000, blank=True)
    corrected_conclusion = models.CharField(
        _("corrected conclusion"), max_length=10, choices=Inspection.Conclusion.choices, blank=True
    )
    decision_note = models.TextField(_("reason for the decision"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="upheld") | ~Q(correction=""), name="objection_upheld_has_correction"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_note=""), name="objection_rejected_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False), name="objection_decided_at_set"
            ),
        ]
        indexes = [
            # The regulators' queue: objections by status, oldest first, within their scope.
            models.Index(fields=["status", "created_at"], name="objection_queue"),
            models.Index(fields=["enterprise", "status"], name="objection_enterprise"),
        ]

    def __str__(self) -> str:
        return f"objection to inspection #{self.inspection_id} ({self.get_status_display()})"
