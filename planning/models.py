"""Planning: risk-driven plans, double-random draws (双随机) and declared conflicts of interest.

A plan or a draw is first a draft (a preview the regulator reads), then confirmed: confirming
creates the inspection tasks and freezes the record. A confirmed record refuses every save and
delete at the model level (planning/plans.py and planning/draws.py are the only writers), so what
was planned or drawn stays what the audit chain says it was.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import Department, District, Enterprise, Inspector, Scene


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    CONFIRMED = "confirmed", _("confirmed")


def _refuse_change() -> ValidationError:
    return ValidationError(_("a confirmed record cannot be changed"), code="immutable")


class FrozenOnceConfirmed(models.Model):
    """A record that may change while a draft and never after its confirmation.

    The stored status decides, not the in-memory one: confirming (draft -> confirmed) is the last
    save allowed, and an object loaded before the confirmation cannot slip a change in after it."""

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._stored_confirmed():
            raise _refuse_change()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == Status.CONFIRMED or self._stored_confirmed():
            raise _refuse_change()
        return super().delete(*args, **kwargs)

    def _stored_confirmed(self) -> bool:
        return self.pk is not None and type(self).objects.filter(pk=self.pk, status=Status.CONFIRMED).exists()

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT


class FrozenRow(models.Model):
    """A row of a plan or draw: frozen with it."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._parent()._stored_confirmed():
            raise _refuse_change()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._parent()._stored_confirmed():
            raise _refuse_change()
        return super().delete(*args, **kwargs)

    def _parent(self) -> FrozenOnceConfirmed:
        raise NotImplementedError


# --- risk-driven plans ------------------------------------------------------------------------------


class RiskPlan(FrozenOnceConfirmed):
    """The tasks the tier frequencies require in a period, highest risk first, within a capacity.

    Capacity is in inspector-days: every task costs ``inspectors_per_task`` of them (one day of
    each inspector of the pair). What does not fit is kept as unplaced entries with the reason."""

    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT)
    district = models.ForeignKey(
        District, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT
    )
    period_from = models.DateField(_("period from"))
    period_to = models.DateField(_("period to"))
    capacity = models.PositiveIntegerField(_("capacity (inspector-days)"))
    inspectors_per_task = models.PositiveSmallIntegerField(_("inspectors per task"), default=2)
    max_tasks_per_inspector = models.PositiveIntegerField(
        _("most tasks per inspector in the period"), null=True, blank=True
    )
    capacity_used = models.PositiveIntegerField(_("capacity used"), default=0)
    # The scoring policy whose tier intervals decided what is due.
    policy_version = models.PositiveIntegerField(_("scoring policy version"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("risk-driven plan")
        verbose_name_plural = _("risk-driven plans")
        constraints = [
            models.CheckConstraint(condition=Q(period_to__gte=F("period_from")), name="plan_period_ordered"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="plan_capacity_positive"),
            models.CheckConstraint(condition=Q(inspectors_per_task__gte=2), name="plan_two_inspectors"),
        ]

    def __str__(self) -> str:
        return f"plan #{self.pk} {self.department.code} {self.period_from}–{self.period_to}"


class PlanEntry(FrozenRow):
    """One due enterprise of a plan: scheduled (with its inspectors) or unplaced (with the reason)."""

    class DueReason(models.TextChoices):
        NEVER_INSPECTED = "never_inspected", _("never inspected")
        OVERDUE = "overdue", _("overdue")
        DUE_IN_PERIOD = "due_in_period", _("due within the period")

    class Outcome(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        OVER_CAPACITY = "over_capacity", _("over capacity")
        NO_INSPECTORS = "no_inspectors", _("not enough eligible inspectors")
        ALREADY_PLANNED = "already_planned", _("already has a task in the period")

    plan = models.ForeignKey(RiskPlan, on_delete=models.CASCADE, related_name="entries")
    # Rank in the plan's order: highest risk first.
    position = models.PositiveIntegerField()
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="+")
    risk = models.FloatField(_("risk score"))
    tier = models.PositiveSmallIntegerField(_("tier"))
    last_inspected_on = models.DateField(_("last inspected on"), null=True, blank=True)
    due_reason = models.CharField(_("why due"), max_length=16, choices=DueReason.choices)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    overdue_days = models.PositiveIntegerField(_("days overdue"), default=0)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    inspector_ids = models.JSONField(default=list, blank=True)
    existing_task = models.ForeignKey(
        "supervision.InspectionTask", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    task = models.ForeignKey(
        "supervision.InspectionTask", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["plan", "position"]
        verbose_name = _("plan entry")
        verbose_name_plural = _("plan entries")
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="plan_entry_position_unique"),
            models.UniqueConstraint(fields=["plan", "enterprise"], name="plan_entry_enterprise_unique"),
        ]
        indexes = [
            # The preview's two lists: scheduled, and the rest, each in risk order.
            models.Index(fields=["plan", "outcome", "position"], name="plan_entry_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.position} {self.get_outcome_display()}"

    def _parent(self):
        return self.plan


# --- double-random draws ----------------------------------------------------------------------------


class Draw(FrozenOnceConfirmed):
    """A double-random draw: enterprises from a pool at per-tier ratios, inspectors at random.

    ``inputs`` records everything the draw is a function of besides the seed (planning.draws
    describes the format); anyone can re-run it (``manage.py verify_draw``) and must get the
    entries back. The seed comes from ``secrets`` at creation, never from the caller."""

    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT)
    district = models.ForeignKey(
        District, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT
    )
    scene = models.ForeignKey(Scene, verbose_name=_("scene"), null=True, blank=True, on_delete=models.PROTECT)
    period_from = models.DateField(_("period from"))
    period_to = models.DateField(_("period to"))
    seed = models.CharField(_("seed"), max_length=32)
    inputs = models.JSONField(_("inputs"))
    inputs_sha256 = models.CharField(max_length=64)
    result_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("double-random draw")
        verbose_name_plural = _("double-random draws")
        constraints = [
            models.CheckConstraint(condition=Q(period_to__gte=F("period_from")), name="draw_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"draw #{self.pk} {self.department.code} {self.period_from}–{self.period_to}"


class DrawEntry(FrozenRow):
    """One drawn enterprise and the inspectors drawn for it."""

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="+")
    tier = models.PositiveSmallIntegerField(_("tier"))
    inspector_ids = models.JSONField(default=list)
    task = models.ForeignKey(
        "supervision.InspectionTask", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["draw", "position"]
        verbose_name = _("drawn enterprise")
        verbose_name_plural = _("drawn enterprises")
        constraints = [
            models.UniqueConstraint(fields=["draw", "position"], name="draw_entry_position_unique"),
            models.UniqueConstraint(fields=["draw", "enterprise"], name="draw_entry_enterprise_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.draw_id}/{self.position}"

    def _parent(self):
        return self.draw


# --- conflicts of interest --------------------------------------------------------------------------


class ConflictDeclaration(models.Model):
    """An inspector's declared conflict of interest (回避) with an enterprise: no draw or plan
    sends them there while it is in force (``ended_at`` empty)."""

    inspector = models.ForeignKey(Inspector, on_delete=models.PROTECT, related_name="conflicts")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="conflicts")
    reason = models.CharField(_("reason"), max_length=300)
    declared_at = models.DateTimeField(_("declared at"), auto_now_add=True)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-declared_at", "-pk"]
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [
            models.UniqueConstraint(
                fields=["inspector", "enterprise"],
                condition=Q(ended_at__isnull=True),
                name="conflict_one_in_force",
            ),
        ]
        indexes = [
            # Draws and plans: "conflicts in force of these enterprises".
            models.Index(
                fields=["enterprise", "inspector"],
                condition=Q(ended_at__isnull=True),
                name="conflict_in_force",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inspector_id} × {self.enterprise_id}"

    @property
    def in_force(self) -> bool:
        return self.ended_at is None
