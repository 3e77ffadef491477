from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from core import checks  # noqa: F401  registers the deploy checks

        self._connect_sign_in_receivers()

    def _connect_sign_in_receivers(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_save, pre_save

        from core import account, signin

        # A changed password revokes the user's API tokens; a deactivation ends every way in.
        user = get_user_model()
        pre_save.connect(account.user_pre_save, sender=user, dispatch_uid="core.account.pre_save")
        post_save.connect(account.user_post_save, sender=user, dispatch_uid="core.account.post_save")
        # Failed sign-ins counted per client address, across usernames (password spraying).
        user_login_failed.connect(signin.signin_failed, dispatch_uid="core.signin.failed")
