from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo data scripts/serve loads."""

    name = "demo"
    label = "demo"
    verbose_name = _("Demo")
