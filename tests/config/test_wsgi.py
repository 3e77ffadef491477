"""The WSGI entry point gunicorn loads in each worker."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_loads_the_url_configuration_before_its_first_request(tmp_path):
    """Importing every view and building the API takes seconds: it belongs to the worker's boot, not to
    the first request it serves."""
    modules = ("config.urls", "config.api", "supervision.inspections.api")
    probe = f"import sys, config.wsgi; print(sorted(m for m in {modules!r} if m in sys.modules))"
    environment = {
        **os.environ,
        "DEBUG": "1",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    # Nothing here touches a database: the default SQLite file is never even opened.
    environment.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sorted(modules))
    assert not list(tmp_path.glob("*.sqlite3"))
