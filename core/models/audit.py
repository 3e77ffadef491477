"""The audit chain's rows (written only through core.audit)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One state change, append-only, chained by hash to the one before (see core/audit.py).

    Append-only in the model (save and delete refuse) and, on PostgreSQL, in the database: a
    trigger refuses UPDATE and DELETE (core/migrations/0009_audit_append_only.py)."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    # PROTECT: a user who acted can be deactivated but never deleted, or the chain would lose its actor.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    action = models.CharField(max_length=60, editable=False)
    target_type = models.CharField(max_length=60, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    data = models.JSONField(default=dict, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)
    # The id of the key its hash is an HMAC under (core/audit_keys.py); "" for the events written
    # before the chain was keyed, which carry a plain SHA-256 (up to AuditChainHead.legacy_seq).
    key_id = models.CharField(max_length=16, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # "History of this record" on entity pages.
            models.Index(fields=["target_type", "target_id", "seq"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("audit events are append-only")


class AuditChainHead(models.Model):
    """The single row every append locks: it serialises writers and remembers the tip,
    so that deleting the newest events is caught as well as editing any of them."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    # The last event written before the chain was keyed (0 on an installation keyed from the
    # start): events up to it are verified as plain SHA-256, none after it may be. Checkpoints
    # record it too, so raising it to pass re-hashed events off as old ones is caught.
    legacy_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
