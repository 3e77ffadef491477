"""Manuals (一业一册) and checklists (一业一单): versioned content per scene.

A version is a draft until published; a published version is immutable (its rows
refuse to change), and publishing the next one supersedes it. Self-inspections and
inspections point at the items of the versions they started on, so what they answered
can never change under them.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.models import Department, Enterprise, Scene


def _english() -> bool:
    return (get_language() or "").startswith("en")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    SUPERSEDED = "superseded", _("superseded")


class Severity(models.TextChoices):
    MINOR = "minor", _("minor")
    MAJOR = "major", _("major")
    CRITICAL = "critical", _("critical")


class Method(models.TextChoices):
    LOOK = "look", _("look")
    ASK = "ask", _("ask")
    DOCUMENT = "document", _("check a document")
    MEASURE = "measure", _("measure")


class Versioned(models.Model):
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def display_title(self) -> str:
        return self.title_en if self.title_en and _english() else self.title

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class LegalBasis(models.Model):
    """The law and article a clause or item rests on, e.g. 中华人民共和国食品安全法 第五十五条."""

    law = models.CharField(_("law"), max_length=200)
    article = models.CharField(_("article"), max_length=100)

    class Meta:
        abstract = True

    @property
    def legal_basis(self) -> str:
        return f"《{self.law}》{self.article}"


class ContentRow(models.Model):
    """A row of a version's content: editable only while the version is a draft."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._version().is_draft:
            raise ValidationError(_("a published version cannot be changed"), code="immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if not self._version().is_draft:
            raise ValidationError(_("a published version cannot be changed"), code="immutable")
        return super().delete(*args, **kwargs)

    def _version(self) -> Versioned:
        raise NotImplementedError


class Manual(Versioned):
    scene = models.ForeignKey(
        Scene, verbose_name=_("scene"), on_delete=models.PROTECT, related_name="manuals"
    )
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("English summary"), blank=True)

    class Meta:
        ordering = ["scene", "-version"]
        verbose_name = _("compliance manual")
        verbose_name_plural = _("compliance manuals")
        constraints = [
            models.UniqueConstraint(fields=["scene", "version"], name="manual_version_unique"),
            # "The current manual of a scene" is the one published row.
            models.UniqueConstraint(
                fields=["scene"], condition=Q(status="published"), name="manual_one_published_per_scene"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scene.code} manual v{self.version} ({self.get_status_display()})"


class ManualChapter(ContentRow):
    manual = models.ForeignKey(Manual, on_delete=models.CASCADE, related_name="chapters")
    position = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)

    class Meta:
        ordering = ["manual", "position"]
        constraints = [models.UniqueConstraint(fields=["manual", "position"], name="chapter_position_unique")]

    def __str__(self) -> str:
        return self.title

    def _version(self):
        return self.manual

    @property
    def display_title(self) -> str:
        return self.title_en if self.title_en and _english() else self.title


class ManualClause(ContentRow, LegalBasis):
    manual = models.ForeignKey(Manual, on_delete=models.CASCADE, related_name="clauses")
    chapter = models.ForeignKey(ManualChapter, on_delete=models.CASCADE, related_name="clauses")
    position = models.PositiveIntegerField()
    # Stable across versions: checklist items link to a clause by this code.
    code = models.SlugField(_("code"), max_length=60)
    text = models.TextField(_("text"))
    text_en = models.TextField(_("English text"), blank=True)

    class Meta:
        ordering = ["chapter__position", "position"]
        constraints = [models.UniqueConstraint(fields=["manual", "code"], name="clause_code_unique")]

    def __str__(self) -> str:
        return self.code

    def _version(self):
        return self.manual

    @property
    def display_text(self) -> str:
        return self.text_en if self.text_en and _english() else self.text


class Checklist(Versioned):
    scene = models.ForeignKey(
        Scene, verbose_name=_("scene"), on_delete=models.PROTECT, related_name="checklists"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="checklists"
    )

    class Meta:
        ordering = ["scene", "department", "-version"]
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        constraints = [
            models.UniqueConstraint(
                fields=["scene", "department", "version"], name="checklist_version_unique"
            ),
            models.UniqueConstraint(
                fields=["scene", "department"],
                condition=Q(status="published"),
                name="checklist_one_published_per_owner",
            ),
        ]

    def __str__(self) -> str:
        status = self.get_status_display()
        return f"{self.scene.code}/{self.department.code} checklist v{self.version} ({status})"


class ChecklistItem(ContentRow, LegalBasis):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    # Stable across versions: history and scoring compare items by code.
    code = models.SlugField(_("code"), max_length=60)
    question = models.TextField(_("question"))
    question_en = models.TextField(_("English question"), blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    method = models.CharField(_("inspection method"), max_length=10, choices=Method.choices)
    clause_code = models.SlugField(_("manual clause"), max_length=60, blank=True)
    # A feature the enterprise must have for the item to apply (core.reference.FEATURES); blank: always.
    applies_if = models.CharField(_("applies only if"), max_length=40, blank=True)
    required_action = models.TextField(_("required action when not compliant"), blank=True)
    required_action_en = models.TextField(_("English required action"), blank=True)

    class Meta:
        ordering = ["checklist", "position"]
        constraints = [models.UniqueConstraint(fields=["checklist", "code"], name="item_code_unique")]

    def __str__(self) -> str:
        return self.code

    def _version(self):
        return self.checklist

    @property
    def display_question(self) -> str:
        return self.question_en if self.question_en and _english() else self.question

    @property
    def display_required_action(self) -> str:
        return self.required_action_en if self.required_action_en and _english() else self.required_action

    def applies_to(self, enterprise: Enterprise) -> bool:
        return not self.applies_if or self.applies_if in (enterprise.features or [])


class ManualAcknowledgement(models.Model):
    """A business member confirmed reading a manual version (告知). A new version asks again."""

    manual = models.ForeignKey(Manual, on_delete=models.PROTECT, related_name="acknowledgements")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("manual acknowledgement")
        verbose_name_plural = _("manual acknowledgements")
        constraints = [
            models.UniqueConstraint(fields=["manual", "enterprise"], name="acknowledgement_unique")
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} read {self.manual}"
