"""What the browser tests share: Debian's chromium through Playwright, signing in, waiting for the
server, drawing on a canvas, and screenshots of each step in var/e2e-screenshots/."""

import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db import connections

from tests.factories import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(settings.BASE_DIR) / "var" / "e2e-screenshots"
TABLET = {"width": 768, "height": 1024}


def close_playwright_connections() -> None:
    """Close the database connections the test opened while Playwright ran, before it stops.

    Playwright's event loop runs in the test's thread, and while it runs Django keeps that thread's
    connections apart from the ones opened before (asgiref's Local, by context), so the test's ORM
    calls open one more connection. pytest-django never sees it: left open, it stopped the test
    database from being dropped at the end of the run ("being accessed by other users")."""
    connections.close_all()


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the page to reach the server")


class Step:
    """Numbered full-page screenshots of one test's steps, in ``folder`` (emptied first)."""

    def __init__(self, folder: Path = SHOTS):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.n = 0
        self.names = []

    def shot(self, page, name):
        self.n += 1
        self.names.append(f"{self.n:02d}-{name}.png")
        page.screenshot(path=str(self.folder / self.names[-1]), full_page=True)


PHONE = {"width": 390, "height": 844}


def sign_in(browser, live_server, username, *, viewport=TABLET, dialogs: list | None = None):
    """A signed-in page. Confirmation dialogs ("Submit the record? It cannot be changed.") are
    accepted; their messages are appended to ``dialogs`` when one is given."""
    context = browser.new_context(viewport=viewport, locale="en-US", has_touch=True)
    page = context.new_page()

    def accept(dialog):
        if dialogs is not None:
            dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    if page.url != f"{live_server.url}/":
        page.screenshot(path="/tmp/e2e-login.png")
        raise AssertionError(f"sign-in failed at {page.url}: {page.inner_text('main')[:300]}")
    return page


def draw(page, selector):
    canvas = page.locator(selector)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + step * box["width"] / 14, y + (15 if step % 2 else -15))
    page.mouse.up()
