from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    """Reports from the public card and their triage."""

    name = "supervision.complaints"
    label = "complaints"
    verbose_name = _("Complaints")

    def ready(self):
        from supervision.complaints.services import complaint_verify
        from supervision.inspections.signals import inspection_submitted

        def settle(sender, *, inspection, actor, findings: int, **kwargs):
            if inspection.task.complaint_id:
                complaint_verify(inspection=inspection, actor=actor, findings=findings)

        # The inspection of a complaint's task verifies the complaint or finds it unfounded.
        inspection_submitted.connect(settle, weak=False, dispatch_uid="complaints.settle")
