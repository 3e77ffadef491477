from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicationConfig(AppConfig):
    """一公开: published results, objections, the open-data export."""

    name = "supervision.publication"
    label = "publication"
    verbose_name = _("Publication")
