import os

from django.core.wsgi import get_wsgi_application
from django.urls import reverse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load the URL configuration now, while the worker boots and before it accepts a connection: it
# imports every view and builds the API, about 1.8 s of CPU that would otherwise fall on the first
# request each worker serves, after every start, reload and --max-requests recycle (docs/DEPLOY.md).
reverse("healthz")
