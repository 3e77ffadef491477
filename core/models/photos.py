"""Uploaded photos (ingested only through core.photos)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Photo(models.Model):
    """An uploaded image, verified and normalised by core.photos.

    The original is kept as evidence (its SHA-256 proves it unchanged) and never
    served; people see the display copy and thumbnail, re-encoded without metadata.
    """

    sha256 = models.CharField(_("SHA-256 of the original"), max_length=64, db_index=True)
    original = models.FileField(upload_to="photos/original/%Y/%m/")
    display = models.FileField(upload_to="photos/display/%Y/%m/")
    thumbnail = models.FileField(upload_to="photos/thumb/%Y/%m/")
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.width}x{self.height})"
