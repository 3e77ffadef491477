import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production serves WSGI through gunicorn (sync views were 2.5-4x slower under ASGI here);
# this entry point exists for tooling that expects it.
application = get_asgi_application()
