from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LandingConfig(AppConfig):
    """Role home pages and the scan landing, composed of the features' panels."""

    name = "supervision.landing"
    label = "landing"
    verbose_name = _("Landing")
