from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.uscc import validate_uscc


class BilingualName(models.Model):
    """Reference data carries its Chinese name and an English one for the second UI language."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class District(BilingualName):
    """An administrative division (GB/T 2260 for city and district, 9 digits for streets)."""

    class Level(models.TextChoices):
        CITY = "city", _("city")
        DISTRICT = "district", _("district")
        STREET = "street", _("street")

    code = models.CharField(
        _("division code"),
        max_length=12,
        unique=True,
        validators=[RegexValidator(r"^\d{6}(\d{3})?$", _("a division code is 6 digits (9 for a street)"))],
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of codes ("110000/110105/"): "this district and everything
    # below it" is one indexed prefix query, used by every jurisdiction filter.
    path = models.CharField(max_length=200, unique=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    @transaction.atomic
    def save(self, *args, **kwargs):
        old_path = self.path
        self.path = f"{self.parent.path if self.parent else ''}{self.code}/"
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            # A re-coded or moved division carries its whole subtree along.
            District.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(self.path), Substr("path", len(old_path) + 1))
            )

    def subtree(self) -> models.QuerySet["District"]:
        return District.objects.filter(path__startswith=self.path)


class Department(BilingualName):
    """A regulating agency. Inspectors belong to one; it supervises some scenes."""

    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")


class Scene(BilingualName):
    """An industry scene: what manuals, checklists and inherent risk are attached to."""

    class InherentRisk(models.IntegerChoices):
        LOW = 1, _("low")
        MEDIUM = 2, _("medium")
        HIGH = 3, _("high")
        VERY_HIGH = 4, _("very high")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    inherent_risk = models.PositiveSmallIntegerField(_("inherent risk"), choices=InherentRisk.choices)
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("supervising departments"),
        related_name="scenes",
        blank=True,
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("scene")
        verbose_name_plural = _("scenes")


class Enterprise(models.Model):
    """A licensed market entity, keyed by its unified social credit code."""

    class LicenceStatus(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        REVOKED = "revoked", _("revoked")
        DEREGISTERED = "deregistered", _("deregistered")

    uscc = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    district = models.ForeignKey(District, verbose_name=_("district"), on_delete=models.PROTECT)
    scene = models.ForeignKey(Scene, verbose_name=_("scene"), on_delete=models.PROTECT)
    # Personal data: shown only to those core.permissions.may_see_personal_data allows.
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    licence_status = models.CharField(
        _("licence status"), max_length=20, choices=LicenceStatus.choices, default=LicenceStatus.ACTIVE
    )
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    # Traits that decide which checklist items apply (core.reference.FEATURES), e.g. "serves_children".
    features = models.JSONField(_("features"), default=list, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["uscc"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        indexes = [
            # Jurisdiction lists: "enterprises of these districts (and this scene)", ordered by code.
            models.Index(fields=["district", "scene", "uscc"], name="enterprise_district_scene"),
            models.Index(fields=["scene", "uscc"], name="enterprise_scene"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="enterprise_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"

    def clean(self):
        from core.reference import FEATURES

        if self.uscc:
            self.uscc = self.uscc.strip().upper()
        unknown = sorted(set(self.features or []) - set(FEATURES))
        if unknown:
            raise ValidationError(
                {"features": _("unknown features: %(names)s") % {"names": ", ".join(unknown)}}
            )
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError(_("give both latitude and longitude, or neither"))


class EnterpriseMembership(models.Model):
    """A business user acting for an enterprise."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        STAFF = "staff", _("staff")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.OWNER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enterprise membership")
        verbose_name_plural = _("enterprise memberships")
        constraints = [models.UniqueConstraint(fields=["user", "enterprise"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.enterprise.uscc}"


class Inspector(models.Model):
    """A law-enforcement officer of one department, working in one or more districts."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inspector")
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT)
    certificate_no = models.CharField(_("enforcement certificate number"), max_length=40, unique=True)
    districts = models.ManyToManyField(District, verbose_name=_("districts"), related_name="inspectors")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("inspector")
        verbose_name_plural = _("inspectors")

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.certificate_no})"


class Regulator(models.Model):
    """A department or district lead. Scope: a department, a district subtree, or both (intersection)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="regulator")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
    district = models.ForeignKey(
        District, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("regulator")
        verbose_name_plural = _("regulators")
        constraints = [
            models.CheckConstraint(
                condition=Q(department__isnull=False) | Q(district__isnull=False),
                name="regulator_has_scope",
                violation_error_message=_("a regulator is scoped to a department, a district, or both"),
            ),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username


class ApiToken(models.Model):
    """A bearer token for a device. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    device = models.CharField(_("device"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.device})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AuditEvent(models.Model):
    """One state change, append-only, chained by hash to the one before (see core/audit.py)."""

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

    class Meta:
        verbose_name = _("audit chain head")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


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


class IdentityCode(models.Model):
    """The random token printed in an enterprise's QR code (一业一码).

    Never derived from the USCC or a database id, so codes cannot be enumerated.
    A replaced or revoked token stays on record and answers "no longer valid".
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REPLACED = "replaced", _("replaced")
        REVOKED = "revoked", _("revoked")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="codes")
    token = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("identity code")
        verbose_name_plural = _("identity codes")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"], condition=Q(status="active"), name="identity_code_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.token} ({self.get_status_display()})"


class ScanEvent(models.Model):
    """Every scan of /c/<token>, failed ones too: where codes are used, and who probes them."""

    class Outcome(models.TextChoices):
        OK = "ok", _("shown")
        UNKNOWN = "unknown", _("unknown code")
        MALFORMED = "malformed", _("malformed code")
        REVOKED = "revoked", _("revoked code")
        REPLACED = "replaced", _("replaced code")

    at = models.DateTimeField(auto_now_add=True)
    token = models.CharField(max_length=64, help_text=_("what was scanned, cut to 64 characters"))
    code = models.ForeignKey(
        IdentityCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="scans"
    )
    enterprise = models.ForeignKey(
        Enterprise, null=True, blank=True, on_delete=models.CASCADE, related_name="scans"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    view = models.CharField(max_length=12, blank=True)
    channel = models.CharField(max_length=8, default="web")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    user_agent = models.CharField(max_length=300, blank=True)
    # A keyed hash of the client address: enough to see one client probing many codes, not to identify them.
    client = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        indexes = [
            models.Index(fields=["enterprise", "-at"], name="scan_enterprise_recent"),
            models.Index(fields=["outcome", "-at"], name="scan_outcome_recent"),
            models.Index(fields=["client", "-at"], name="scan_client_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.token[:8]}… {self.outcome}"


class Complaint(models.Model):
    """A report from the public card (co-governance), triaged by a regulator.

    Triage dismisses it (with a reason), merges it into an earlier complaint about the same
    thing, or turns it into a complaint-sourced task; that task's inspection then marks it
    verified (something was found) or unfounded. Verified complaints weigh most in the risk score.
    """

    class Status(models.TextChoices):
        NEW = "new", _("new")
        DISMISSED = "dismissed", _("dismissed")
        DUPLICATE = "duplicate", _("duplicate")
        TASKED = "tasked", _("inspection planned")
        VERIFIED = "verified", _("verified")
        UNFOUNDED = "unfounded", _("not confirmed")

    # Complaints that say nothing about the enterprise once triaged; the risk score skips them.
    NOT_COUNTED = (Status.DISMISSED, Status.DUPLICATE, Status.UNFOUNDED)

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="complaints")
    code = models.ForeignKey(IdentityCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("what happened"), max_length=2000)
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Personal data of the reporter: never shown publicly, masked outside triage.
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triage_note = models.CharField(_("reason"), max_length=500, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            # Rate limits: "complaints from this client / about this enterprise in the last hour".
            models.Index(fields=["client", "created_at"], name="complaint_client_recent"),
            models.Index(fields=["enterprise", "created_at"], name="complaint_enterprise_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} {self.created_at:%Y-%m-%d}"


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
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("code batch")
        verbose_name_plural = _("code batches")

    def __str__(self) -> str:
        return f"{self.get_layout_display()} #{self.pk} ({self.get_status_display()})"
