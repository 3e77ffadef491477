"""Inspection history imported from other systems (LIVES feeds first).

Kept apart from supervision's own inspections: imported rows carry the source's
words (inspection type, violation text), not our checklists, and are never edited here.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise


class Source(models.TextChoices):
    LIVES = "lives", _("LIVES (Local Inspector Value-Entry Specification)")


class SourceRecord(models.Model):
    """Which source record an enterprise was created from: the natural key re-imports upsert by."""

    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    source_id = models.CharField(_("source id"), max_length=64)
    enterprise = models.OneToOneField(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE, related_name="source_record"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="source_record_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id}"


class HistoricalInspection(models.Model):
    """One inspection as the source recorded it."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.CASCADE,
        related_name="historical_inspections",
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    inspected_on = models.DateField(_("inspected on"))
    # The source's inspection type, verbatim ("Routine - Unscheduled", "Reinspection/Followup", ...).
    kind = models.CharField(_("kind"), max_length=100)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["enterprise", "-inspected_on", "kind"]
        verbose_name = _("historical inspection")
        verbose_name_plural = _("historical inspections")
        constraints = [
            # Also the index of "history of this enterprise, newest first".
            models.UniqueConstraint(
                fields=["enterprise", "inspected_on", "kind"], name="historical_inspection_unique"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=100), name="historical_inspection_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.inspected_on} {self.kind}"


class HistoricalFinding(models.Model):
    """One violation recorded at a historical inspection."""

    class Severity(models.TextChoices):
        MINOR = "minor", _("minor")
        MAJOR = "major", _("major")
        CRITICAL = "critical", _("critical")

    inspection = models.ForeignKey(
        HistoricalInspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="findings"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    # The source's violation type code (LIVES ViolationTypeID), verbatim.
    violation_type = models.CharField(_("violation type"), max_length=40, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["inspection", "id"]
        verbose_name = _("historical finding")
        verbose_name_plural = _("historical findings")

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.description[:60]}"
