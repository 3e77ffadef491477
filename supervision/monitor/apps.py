from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitorConfig(AppConfig):
    """The regulators' view of the loop, ratings and task planning."""

    name = "supervision.monitor"
    label = "monitor"
    verbose_name = _("Loop monitor")
