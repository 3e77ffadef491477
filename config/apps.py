"""The third-party apps under names a regulator reads in the admin, in both languages.

Their model names are translated by the catalogue in ``locale/`` (Django merges every app's
catalogue into one per language, so our entries answer the libraries' own ``gettext`` calls);
``THIRD_PARTY_STRINGS`` keeps those entries in the catalogue when ``makemessages`` runs again.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_tasks_db.apps import TasksAppConfig


class SignInLockouts(AxesAppConfig):
    verbose_name = _("Sign-in lock-outs")


class BackgroundTasks(TasksAppConfig):
    verbose_name = _("Background tasks")


THIRD_PARTY_STRINGS = [
    # django-axes
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    # django-tasks-db
    gettext_noop("Task Result"),
    gettext_noop("Task Results"),
]
