"""The officials (inspectors, regulators) and the API tokens of every user's devices."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models.register import Department, District
from core.names import person_name


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
        return f"{person_name(self.user)} ({self.certificate_no})"


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
        return person_name(self.user)


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
