from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HistoryConfig(AppConfig):
    name = "history"
    verbose_name = _("History")

    def ready(self):
        from django.db.models.signals import post_save

        from core.models import Enterprise
        from core.signals import enterprises_registered
        from history import receivers

        enterprises_registered.connect(
            receivers.on_enterprises_registered, dispatch_uid="history.rematch_bulk"
        )
        post_save.connect(
            receivers.on_enterprise_saved, sender=Enterprise, dispatch_uid="history.rematch_one"
        )
