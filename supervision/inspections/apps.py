from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    """Tasks, the on-site record, the closed loop of orders, and the record's documents."""

    name = "supervision.inspections"
    label = "inspections"
    verbose_name = _("Inspections")

    def ready(self):
        # verify_audit recomputes every submitted record, order, rectification and document.
        from core import integrity
        from supervision.inspections import integrity as checks

        integrity.register("inspections", checks.inspections_check)
        integrity.register("orders", checks.orders_check)
        integrity.register("documents", checks.documents_check)
