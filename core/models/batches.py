"""Batches of printable code stickers or posters, made in the background (core.code_documents)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models.register import District


class CodeBatch(models.Model):
    """A batch of printable code stickers or posters for a district or a selection, made in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Layout(models.TextChoices):
        STICKER = "sticker", _("sticker (A6)")
        POSTER = "poster", _("poster (A4)")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    layout = models.CharField(max_length=10, choices=Layout.choices, default=Layout.STICKER)
    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.PROTECT)
    usccs = models.JSONField(
        default=list, blank=True, help_text=_("a selection; empty means the whole district")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="code-batches/%Y/%m/", blank=True)
    # The PUBLIC_BASE_URL the file's codes point to ("" before it was kept): a file printed for
    # another address is rendered again before it is served (core.code_documents.code_batch_current).
    base_url = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("code batch")
        verbose_name_plural = _("code batches")

    def __str__(self) -> str:
        return f"{self.get_layout_display()} #{self.pk} ({self.get_status_display()})"
