from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Notifications and reminders: the inbox, email and SMS, told of what the loop's features do.

    At the top of the features: it listens to the others' signals and imports downward only; no
    feature imports it (pyproject.toml, the "features" contract)."""

    name = "supervision.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from supervision.complaints import signals as complaints
        from supervision.inspections import signals as inspections
        from supervision.notifications import receivers

        # Each receiver runs inside the transaction of the change it hears about, so the outbox
        # rows it writes commit or roll back with that change.
        for signal, receiver in (
            (inspections.inspection_submitted, receivers.on_inspection_submitted),
            (inspections.task_assigned, receivers.on_task_assigned),
            (inspections.task_moved, receivers.on_task_moved),
            (inspections.task_cancelled, receivers.on_task_cancelled),
            (inspections.rectification_submitted, receivers.on_rectification_submitted),
            (inspections.rectification_decided, receivers.on_rectification_decided),
            (inspections.order_escalated, receivers.on_order_escalated),
            (complaints.complaint_received, receivers.on_complaint_received),
            (complaints.complaint_triaged, receivers.on_complaint_triaged),
            (complaints.complaint_flood_suspected, receivers.on_complaint_flood),
            (user_logged_in, receivers.on_user_logged_in),
        ):
            signal.connect(receiver, weak=False, dispatch_uid=f"notifications.{receiver.__name__}")
