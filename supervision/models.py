"""The business's own half of supervision (self-inspection); inspections, tasks and the
rectification loop join this module with their issues."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from checklists.models import Checklist, ChecklistItem
from core.models import Enterprise, Photo


class Result(models.TextChoices):
    COMPLIANT = "compliant", _("compliant")
    NON_COMPLIANT = "non_compliant", _("not compliant")
    NOT_APPLICABLE = "not_applicable", _("not applicable")


class SelfInspection(models.Model):
    """A business answering its scene's merged checklist, at the versions current when it started."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="self_inspections")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    checklists = models.ManyToManyField(Checklist, related_name="+", verbose_name=_("checklist versions"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the submitted content (answers, notes, photo hashes), also in the audit chain.
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("self-inspection")
        verbose_name_plural = _("self-inspections")
        constraints = [
            # Save and come back: one draft at a time, found again on return.
            models.UniqueConstraint(
                fields=["enterprise"], condition=Q(status="draft"), name="self_inspection_one_draft"
            ),
        ]
        indexes = [
            # The entity card: "latest submitted self-inspection of this enterprise".
            models.Index(fields=["enterprise", "status", "-submitted_at"], name="self_inspection_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} self-inspection #{self.pk} ({self.get_status_display()})"


class SelfInspectionAnswer(models.Model):
    self_inspection = models.ForeignKey(SelfInspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    photos = models.ManyToManyField(Photo, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("self-inspection answer")
        verbose_name_plural = _("self-inspection answers")
        constraints = [models.UniqueConstraint(fields=["self_inspection", "item"], name="self_answer_unique")]

    def __str__(self) -> str:
        return f"{self.item.code}: {self.result}"


class SelfIdentifiedIssue(models.Model):
    """A non-compliant self-inspection answer the business fixes on its own, with evidence."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        FIXED = "fixed", _("fixed")

    answer = models.OneToOneField(SelfInspectionAnswer, on_delete=models.CASCADE, related_name="issue")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="self_issues")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fix_note = models.TextField(_("what was done"), max_length=2000, blank=True)
    evidence = models.ManyToManyField(Photo, blank=True, related_name="+")

    class Meta:
        verbose_name = _("self-identified issue")
        verbose_name_plural = _("self-identified issues")
        indexes = [models.Index(fields=["enterprise", "status"], name="self_issue_open")]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} {self.answer.item.code} ({self.get_status_display()})"
