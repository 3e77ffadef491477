"""Inspection history imported from other systems (LIVES feeds first).

Kept apart from supervision's own inspections: imported rows carry the source's
words (inspection type, violation text), not our checklists, and are never edited here.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import BilingualName, Enterprise


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


# --- Other departments' systems and devices (协同监管 · 科技监管) -------------------------------------


class DataSource(BilingualName):
    """A system outside the platform that sends what it knows about enterprises: a licence or health
    register, the 12345 hotline, kitchen cameras, cold-chain sensors, another bureau.

    What it may send is declared here, one schema per attribute name and per signal kind (format in
    ``history.sources.SCHEMA_HELP``); a batch with anything else is refused whole. It writes with
    its own credentials (``SourceCredential``), never as a user.
    """

    class Kind(models.TextChoices):
        REGISTER = "register", _("register")
        HOTLINE = "hotline", _("hotline")
        CAMERA = "camera", _("camera")
        SENSOR = "sensor", _("sensor")
        BUREAU = "bureau", _("other bureau")

    class BusinessKey(models.TextChoices):
        """How the source names a business in its rows."""

        USCC = "uscc", _("unified social credit code")
        LIVES = "lives", _("business id of the LIVES feed")

    # The ``source`` column of the exchange files (attributes.csv, signals.csv).
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_sources",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner at the platform"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    business_key = models.CharField(
        _("business key"), max_length=10, choices=BusinessKey.choices, default=BusinessKey.USCC
    )
    attribute_schema = models.JSONField(_("attributes it may send"), default=dict, blank=True)
    signal_schema = models.JSONField(_("signals it may send"), default=dict, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(_("batches per minute"), default=30)
    max_batch_rows = models.PositiveIntegerField(_("rows per batch"), default=10000)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("data source")
        verbose_name_plural = _("data sources")


class SourceCredential(models.Model):
    """A source's key. Only its SHA-256 is kept; the key is shown once. Rotating issues a new key
    and revokes the old one, so one leaked key writes as its own source only, until revoked."""

    source = models.ForeignKey(
        DataSource, verbose_name=_("data source"), on_delete=models.CASCADE, related_name="credentials"
    )
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("source credential")
        verbose_name_plural = _("source credentials")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.source_id})"


class SourceBatch(models.Model):
    """One accepted batch: what arrived, what was new, which business keys matched no enterprise."""

    class Content(models.TextChoices):
        ATTRIBUTES = "attributes", _("attributes")
        SIGNALS = "signals", _("signals")

    class Channel(models.TextChoices):
        API = "api", _("API")
        FILE = "file", _("file")

    source = models.ForeignKey(
        DataSource, verbose_name=_("data source"), on_delete=models.PROTECT, related_name="batches"
    )
    content = models.CharField(_("content"), max_length=10, choices=Content.choices)
    channel = models.CharField(_("channel"), max_length=4, choices=Channel.choices)
    # The key an API batch came with (none for files): what a leaked key wrote, until it was revoked.
    credential = models.ForeignKey(
        SourceCredential,
        verbose_name=_("source credential"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="batches",
    )
    rows = models.PositiveIntegerField(_("rows"))
    created = models.PositiveIntegerField(_("new rows"))
    # Keyed signals whose business is not (yet) an enterprise here: kept, and listed here (capped).
    unmatched = models.JSONField(_("unmatched business keys"), default=list, blank=True)
    unmatched_count = models.PositiveIntegerField(_("unmatched rows"), default=0)
    sha256 = models.CharField(_("content SHA-256"), max_length=64)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("source batch")
        verbose_name_plural = _("source batches")
        indexes = [models.Index(fields=["source", "-received_at"], name="source_batch_recent")]

    def __str__(self) -> str:
        return f"{self.source_id} {self.content} {self.received_at:%Y-%m-%d %H:%M} ({self.rows})"


class EnterpriseAttribute(models.Model):
    """A fact a register holds about an enterprise, valid from a date until the next value of the
    same name from the same source (``valid_from`` of the next row)."""

    source = models.ForeignKey(
        DataSource, verbose_name=_("data source"), on_delete=models.PROTECT, related_name="attributes"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE, related_name="attributes"
    )
    name = models.CharField(_("name"), max_length=60)
    # 500: register texts run long (Chicago's business_activity reaches 244 characters).
    value = models.CharField(_("value"), max_length=500, blank=True)
    valid_from = models.DateField(_("valid from"))
    batch = models.ForeignKey(SourceBatch, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("register attribute")
        verbose_name_plural = _("register attributes")
        constraints = [
            # The row's identity at its source: a retried batch finds it and changes nothing. Also
            # the index of "this enterprise's value of a name as of a date".
            models.UniqueConstraint(
                fields=["enterprise", "source", "name", "valid_from"], name="attribute_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} from {self.valid_from}"


class Signal(models.Model):
    """An event at a moment, keyed to an enterprise or located by a point: a hotline complaint about
    the street, a camera alert, a temperature excursion, a penalty."""

    source = models.ForeignKey(
        DataSource, verbose_name=_("data source"), on_delete=models.PROTECT, related_name="signals"
    )
    # The source's own id of the event: a retried batch finds it and changes nothing.
    source_ref = models.CharField(_("source's id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=60)
    occurred_at = models.DateTimeField(_("occurred at"))
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    # The business as the source named it (kept when no enterprise matches yet) and its match.
    business_key = models.CharField(_("business key"), max_length=64, blank=True)
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
    )
    value = models.FloatField(_("value"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    batch = models.ForeignKey(SourceBatch, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("signal")
        verbose_name_plural = _("signals")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], name="signal_unique"),
            models.CheckConstraint(
                condition=~Q(business_key="") | Q(latitude__isnull=False, longitude__isnull=False),
                name="signal_keyed_or_located",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="signal_coordinates_range",
            ),
        ]
        indexes = [
            # An enterprise's recent signals (entity card, breakdown).
            models.Index(fields=["enterprise", "-occurred_at"], name="signal_enterprise_recent"),
            # The located signals of a kind around one enterprise (its breakdown lists the nearby
            # ones: supervision.risk.selectors.nearby_signals), a box of latitude first.
            models.Index(
                fields=["kind", "latitude", "longitude", "occurred_at"],
                condition=Q(latitude__isnull=False),
                name="signal_located",
            ),
            # Signals waiting for their business (history.sources.matching); few, so a small index.
            models.Index(
                fields=["business_key"],
                condition=Q(enterprise__isnull=True) & ~Q(business_key=""),
                name="signal_unmatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d} ({self.source_ref})"

    @staticmethod
    def unmatched_q() -> Q:
        """Signals that name a business no enterprise here matched (yet): history.sources.matching
        matches them when it is registered."""
        return Q(enterprise__isnull=True) & ~Q(business_key="")
