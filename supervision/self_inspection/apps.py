from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfInspectionConfig(AppConfig):
    """The business inspecting itself against its scene's checklist."""

    name = "supervision.self_inspection"
    label = "self_inspection"
    verbose_name = _("Self-inspection")

    def ready(self):
        # verify_audit recomputes every submitted self-inspection.
        from core import integrity
        from supervision.self_inspection.integrity import self_inspections_check

        integrity.register("self-inspections", self_inspections_check)
