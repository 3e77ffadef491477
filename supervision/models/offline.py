"""What the inspectors' tablets did, kept beside the record: every answer given (the record's answer
history) and the photos a tablet uploaded under its own ids. docs/OFFLINE.md tells the protocol;
the writes are supervision/inspections/services/ (answers.py, offline.py)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from checklists.models import ChecklistItem
from core.models import Photo
from supervision.models.loop import Inspection, InspectionTask, Result


class AnswerEvent(models.Model):
    """One answer as an inspector gave it, online or on a tablet offline: the record's history.

    The record's current answer (InspectionAnswer) is the latest event by the inspector's own time
    (``device_at``); an older event received later (a tablet that was offline longer) is kept here
    and does not replace it. Events are never changed or deleted while the record exists."""

    class Source(models.TextChoices):
        ONLINE = "online", _("online")
        TABLET = "tablet", _("tablet, synchronised")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answer_events")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    # The tablet's own id for the event: a replayed journal adds nothing twice. None online.
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ONLINE)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    # SHA-256 of the photos added with this answer (the photos themselves are on the answer).
    photos = models.JSONField(default=list, blank=True)
    # When the inspector answered, by the tablet's clock; when the server received it.
    device_at = models.DateTimeField(_("answered at (tablet)"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # Whether it became the current answer when it arrived (False: a later one was already there).
    applied = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("answer event")
        verbose_name_plural = _("answer events")
        indexes = [
            # The record's history and its conflicts: one record's events by item and time.
            models.Index(fields=["inspection", "item", "device_at"], name="answer_event_history"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.result} @ {self.device_at:%Y-%m-%d %H:%M:%S}"


class TabletPhoto(models.Model):
    """A photo a tablet took, uploaded under the tablet's own id: a retried upload (its answer
    was lost) finds it here and stores nothing twice. The journal's answers attach it."""

    client_id = models.UUIDField(unique=True)
    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey(InspectionTask, on_delete=models.PROTECT, related_name="tablet_photos")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    taken_at = models.DateTimeField(_("taken at (tablet)"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tablet photo")
        verbose_name_plural = _("tablet photos")

    def __str__(self) -> str:
        return f"{self.client_id} ({self.photo.sha256[:12]})"
