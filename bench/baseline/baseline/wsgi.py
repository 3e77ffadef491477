"""WSGI config for the baseline project (as startproject writes it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baseline.settings")

application = get_wsgi_application()
