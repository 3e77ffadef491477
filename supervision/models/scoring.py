"""Risk, credit and tier: the policy that weighs the factors, the scores it produces, credit events.

The scores of all enterprises are recomputed set-based in the database (supervision/risk/scoring.py);
one row per enterprise holds its risk score with each factor's contribution, its credit rating
with the events behind it, and the tier the policy's matrix gives for the two.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise


class ScoringPolicy(models.Model):
    """Weights and thresholds of the risk score, the credit rating and the tier matrix.

    Never edited: a change is a new version (audited). The current policy is the adopted
    version with the highest number; a calibrated candidate waits unadopted until a regulator
    has compared it in the back-test and adopts it.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    # factor -> weight (>= 0, not all zero); the factor names are supervision.risk.scoring.FACTORS.
    weights = models.JSONField(_("weights"))
    # Decay, severities, saturations, thresholds, credit rules, tiers and the matrix:
    # validated by supervision.risk.scoring.validate_policy.
    params = models.JSONField(_("parameters"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    adopted_at = models.DateTimeField(_("adopted at"), null=True, blank=True)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A calibrated candidate's model card: the weights it learnt with their uncertainty and the data
    # they were learnt from (supervision.risk.calibration); empty for a version made by hand.
    model_card = models.JSONField(_("model card"), default=dict, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("scoring policy")
        verbose_name_plural = _("scoring policies")

    def __str__(self) -> str:
        return f"v{self.version}"


class CreditEvent(models.Model):
    """A fact about an enterprise's trustworthiness recorded by a regulator.

    Late and never-closed orders and refused inspections are read from the loop itself;
    these rows carry what the loop does not know: penalties and dishonesty listings.
    """

    class Kind(models.TextChoices):
        PENALTY = "penalty", _("administrative penalty")
        DISHONESTY = "dishonesty", _("serious-dishonesty listing")
        REFUSAL = "refusal", _("refused or obstructed an inspection")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="credit_events")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    occurred_on = models.DateField(_("occurred on"))
    # A listing ends when the authority removes it; penalties and refusals count for the
    # policy's repair period after occurred_on instead.
    ends_on = models.DateField(_("listed until"), null=True, blank=True)
    reference = models.CharField(_("decision number"), max_length=60, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["enterprise", "-occurred_on"]
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        indexes = [models.Index(fields=["enterprise", "occurred_on"], name="credit_event_enterprise")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("occurred_on")),
                name="credit_event_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"


class RiskLevel(models.TextChoices):
    LOW = "low", _("low")
    MEDIUM = "medium", _("medium")
    HIGH = "high", _("high")


class CreditRating(models.TextChoices):
    A = "A", _("A (trustworthy)")
    B = "B", _("B (basically trustworthy)")
    C = "C", _("C (untrustworthy)")
    D = "D", _("D (seriously untrustworthy)")


class EnterpriseScore(models.Model):
    """An enterprise's RiskScore, CreditRating and Tier from one recompute, with their reasons.

    Each ``risk_<factor>`` column is one built-in factor's contribution in points, ``risk_offsite``
    the sum of the off-site factors' (each in ``offsite`` by name); together they add up to ``risk``.
    Written only by supervision.risk.scoring (one set-based statement per chunk of enterprises).
    """

    enterprise = models.OneToOneField(
        Enterprise, primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    policy = models.ForeignKey(ScoringPolicy, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateTimeField(_("as of"))

    risk = models.FloatField(_("risk score"))
    risk_level = models.CharField(_("risk level"), max_length=6, choices=RiskLevel.choices)
    risk_scene = models.FloatField(default=0)
    risk_violations = models.FloatField(default=0)
    risk_orders = models.FloatField(default=0)
    risk_complaints = models.FloatField(default=0)
    risk_self_missing = models.FloatField(default=0)
    risk_self_noncompliant = models.FloatField(default=0)
    risk_self_discrepancy = models.FloatField(default=0)
    risk_visit_gap = models.FloatField(default=0)
    risk_licence = models.FloatField(default=0)
    # Other departments' data (the policy's off-site factors): their sum, and each one's points by
    # name ({"register_risk_class": 4.2, ...}); risk adds them like the columns above. No index: every
    # index on a recomputed column costs the full recompute a second write per row.
    risk_offsite = models.FloatField(default=0)
    offsite = models.JSONField(default=dict)

    credit = models.CharField(_("credit rating"), max_length=1, choices=CreditRating.choices)
    credit_points = models.PositiveIntegerField(_("credit points"), default=0)
    credit_penalties = models.PositiveIntegerField(default=0)
    credit_late_orders = models.PositiveIntegerField(default=0)
    credit_unclosed_orders = models.PositiveIntegerField(default=0)
    credit_refusals = models.PositiveIntegerField(default=0)
    credit_dishonest = models.BooleanField(default=False)

    tier = models.PositiveSmallIntegerField(_("tier"))
    open_orders = models.PositiveIntegerField(_("open orders"), default=0)
    overdue_orders = models.PositiveIntegerField(_("overdue orders"), default=0)
    last_inspected_on = models.DateField(_("last inspected on"), null=True, blank=True)

    class Meta:
        verbose_name = _("enterprise score")
        verbose_name_plural = _("enterprise scores")
        # Each index costs the full recompute a second write per row, so only the orders the
        # ranking serves without sorting: by risk (default) and by tier.
        indexes = [
            models.Index(fields=["-risk", "enterprise"], name="score_ranking_risk"),
            models.Index(fields=["-tier", "-risk", "enterprise"], name="score_ranking_tier"),
            # Ranking by credit and by overdue orders (supervision.risk.selectors.ranking): the few rows
            # that are not A / that have overdue orders come first, from these small partial
            # indexes; the rest follow in risk order. Rows outside the condition cost no index write.
            models.Index(
                fields=["-credit", "-risk", "enterprise"],
                condition=~Q(credit="A"),
                name="score_ranking_credit",
            ),
            models.Index(
                fields=["-overdue_orders", "-risk", "enterprise"],
                condition=Q(overdue_orders__gt=0),
                name="score_ranking_overdue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.risk:.1f} {self.credit} T{self.tier}"


class ScoreRun(models.Model):
    """One full recompute, run in the background; regulators watch its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    policy = models.ForeignKey(ScoringPolicy, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    as_of = models.DateTimeField(_("as of"), null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    enterprises = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("score recompute")
        verbose_name_plural = _("score recomputes")

    def __str__(self) -> str:
        return f"recompute #{self.pk} ({self.get_status_display()})"


class BacktestRun(models.Model):
    """A back-test of one policy on one window of history, kept so policies can be compared."""

    policy = models.ForeignKey(ScoringPolicy, on_delete=models.PROTECT, related_name="backtests")
    start = models.DateField(_("start"))
    days = models.PositiveIntegerField(_("days"))
    # The report: n_inspections, n_critical, days_earlier, first_half_share_actual,
    # first_half_share_ranked, auc, random_days_earlier (+ series for the chart).
    result = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("back-test")
        verbose_name_plural = _("back-tests")

    def __str__(self) -> str:
        return f"back-test v{self.policy.version} {self.start} +{self.days}d"
