"""A fresh manage.py process: settings are read once per process, so a test of what start-up
does with an environment runs one (tests/config/test_settings.py, tests/core/test_security.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "roduction-secret-key-that-is-long-enough-0123456789",
    "ALLOWED_HOSTS": "supervision.example.gov.cn",
    "PUBLIC_BASE_URL": "https://supervision.example.gov.cn",
    "AUDIT_CHAIN_KEY": "production-audit-chain-key-kept-apart-from-the-database",
}


def run_manage(*args, **environ):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "DATABASE_URL"}
    }
    base["VAR_DIR"] = environ.pop("VAR_DIR", str(ROOT / "var"))
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
