"""Identity codes (一业一码) and their scans."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models.register import Enterprise


class IdentityCode(models.Model):
    """The random token printed in an enterprise's QR code (一业一码).

    Never derived from the USCC or a database id, so codes cannot be enumerated.
    A replaced or revoked token stays on record and answers "no longer valid".
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REPLACED = "replaced", _("replaced")
        REVOKED = "revoked", _("revoked")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="codes")
    token = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("identity code")
        verbose_name_plural = _("identity codes")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"], condition=Q(status="active"), name="identity_code_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.token} ({self.get_status_display()})"


class ScanEvent(models.Model):
    """Every scan of /c/<token>, failed ones too: where codes are used, and who probes them."""

    class Outcome(models.TextChoices):
        OK = "ok", _("shown")
        UNKNOWN = "unknown", _("unknown code")
        MALFORMED = "malformed", _("malformed code")
        REVOKED = "revoked", _("revoked code")
        REPLACED = "replaced", _("replaced code")

    # When the scan was served: set in the request, not when its batch is written (core.scanlog).
    at = models.DateTimeField(default=timezone.now, editable=False)
    token = models.CharField(max_length=64, help_text=_("what was scanned, cut to 64 characters"))
    code = models.ForeignKey(
        IdentityCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="scans"
    )
    enterprise = models.ForeignKey(
        Enterprise, null=True, blank=True, on_delete=models.CASCADE, related_name="scans"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    view = models.CharField(max_length=12, blank=True)
    channel = models.CharField(max_length=8, default="web")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    user_agent = models.CharField(max_length=300, blank=True)
    # A keyed hash of the client address: enough to see one client probing many codes, not to identify them.
    client = models.CharField(max_length=16, blank=True)
    # Failed scans from this client in the same minute beyond SCAN_FAILURES_RECORDED_PER_MINUTE, not
    # recorded one by one (core.landing): counted on the last one that was.
    repeats = models.PositiveIntegerField(_("further failed scans"), default=0)

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        indexes = [
            models.Index(fields=["enterprise", "-at"], name="scan_enterprise_recent"),
            models.Index(fields=["outcome", "-at"], name="scan_outcome_recent"),
            models.Index(fields=["client", "-at"], name="scan_client_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.token[:8]}… {self.outcome}"
