"""The register: districts, departments, scenes, and the enterprises in them with their business users."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
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

    # "Can be visited", defined once: only a business with an active licence is trading. Plans and
    # draws pick from these (planning.common.area_enterprises) and the risk ranking lists them by
    # default (supervision.risk.selectors.ranking); a suspended, revoked or deregistered one is
    # "closed" and goes to the ranking's list of closures to check.
    @staticmethod
    def visitable_q(prefix: str = "") -> Q:
        """A filter for visitable enterprises; ``prefix`` reaches them through a relation
        (``"enterprise__"`` from a score). Negated (``~``) it selects the closed ones."""
        return Q(**{f"{prefix}licence_status": Enterprise.LicenceStatus.ACTIVE})

    @property
    def is_visitable(self) -> bool:
        return self.licence_status == Enterprise.LicenceStatus.ACTIVE

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
