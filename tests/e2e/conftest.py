"""Fixtures of the browser tests: the browser itself, the reference data a transactional test
flushes, and cookies a plain-http live server can set."""

import os
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, close_playwright_connections


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    # Transactional tests flush the tables after themselves, migrations' reference data included.
    from core import reference
    from core.models import Department, District, Scene

    reference.load(District, Department, Scene)


@pytest.fixture(autouse=True)
def _plain_http_cookies(settings):
    # The live server speaks http; production cookies are https-only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        # CI installs chromium through scripts/bootstrap.sh; there a missing browser is a failure.
        if os.environ.get("CI"):
            raise RuntimeError("chromium is not installed; scripts/bootstrap.sh installs it")
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap.sh installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the ORM calls of the test stay synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        close_playwright_connections()
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
