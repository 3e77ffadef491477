"""Test-run environment, set before Django reads its settings (pytest-django configures
Django after the root conftest is imported). Explicit values from the caller win,
so the same suite runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="supervision-media-"))
