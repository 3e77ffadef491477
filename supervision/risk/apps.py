from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    """Risk scores, credit ratings, tiers, the ranking, back-test and calibration."""

    name = "supervision.risk"
    label = "risk"
    verbose_name = _("Risk and credit")

    def ready(self):
        from core.signals import enterprise_changed
        from supervision.risk.scoring import rescore_on_commit

        def rescore(sender, *, enterprise_id: int, **kwargs):
            rescore_on_commit(enterprise_id)

        # Whatever feature changed a fact the score reads, the enterprise is rescored after commit.
        enterprise_changed.connect(rescore, weak=False, dispatch_uid="risk.rescore")
