from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    """Tasks, the on-site record, the closed loop of orders, and the record's documents."""

    name = "supervision.inspections"
    label = "inspections"
    verbose_name = _("Inspections")
