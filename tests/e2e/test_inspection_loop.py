"""The closed loop in a real browser: Debian's chromium driven by Playwright at tablet size.

The inspector signs in, opens today's task, answers the checklist (autosaved by the page's own
JavaScript), draws the signatures, submits; the business signs in, opens the order and sends its
rectification; the inspector accepts it and the order is closed. A screenshot of every step is
written to var/e2e-screenshots/ (README, "Tests").
"""

import os
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from checklists.models import ChecklistItem
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionAnswer, RectificationOrder, Signature
from tests.factories import PASSWORD, InspectorFactory, make_checklist

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(settings.BASE_DIR) / "var" / "e2e-screenshots"
TABLET = {"width": 768, "height": 1024}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

if not Path(CHROMIUM).exists():
    # CI installs chromium through scripts/bootstrap.sh; there a missing browser is a failure.
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed; scripts/bootstrap.sh installs it")
    pytest.skip(
        "Debian's chromium is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True
    )


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
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the page to reach the server")


class Step:
    def __init__(self):
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        self.n = 0
        self.names = []

    def shot(self, page, name):
        self.n += 1
        self.names.append(f"{self.n:02d}-{name}.png")
        page.screenshot(path=str(SHOTS / self.names[-1]), full_page=True)


def sign_in(browser, live_server, username):
    context = browser.new_context(viewport=TABLET, locale="en-US", has_touch=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Submit the record? It cannot be changed."
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


def test_the_whole_loop_on_a_tablet(browser, live_server, enterprise, business_user, regulator_user):
    checklist = make_checklist(items=3)
    first, second = InspectorFactory(), InspectorFactory()
    task = workflow.task_create(
        actor=regulator_user,
        enterprise=enterprise,
        inspectors=[first, second],
        due_from=date.today(),
        due_to=date.today(),
    )
    items = list(ChecklistItem.objects.filter(checklist=checklist).order_by("position"))
    step = Step()

    # The inspector: today's tasks, start, answer, sign, submit.
    page = sign_in(browser, live_server, first.user.username)
    page.goto(f"{live_server.url}/tasks/")
    step.shot(page, "inspector-today")
    page.click(f"form[action='/tasks/{task.pk}/start'] button")
    page.wait_for_url(f"{live_server.url}/inspections/*/")
    inspection = Inspection.objects.get(task=task)
    for n, item in enumerate(items):
        page.check(f"input[name='result-{item.pk}'][value='{'non_compliant' if n == 0 else 'compliant'}']")
    page.fill(f"#note-{items[0].pk}", "后厨生熟食品混放")
    wait_for(lambda: InspectionAnswer.objects.filter(inspection=inspection).count() == len(items))
    wait_for(lambda: InspectionAnswer.objects.filter(inspection=inspection, note__startswith="后厨").exists())
    step.shot(page, "inspector-answered")
    page.reload()  # autosaved answers survive a reload
    assert page.is_checked(f"input[name='result-{items[0].pk}'][value='non_compliant']")
    for inspector in (first, second):
        draw(page, f"#signer-inspector-{inspector.pk} canvas")
        page.click(f"#signer-inspector-{inspector.pk} [data-sign]")
    draw(page, "#signer-representative canvas")
    page.click("#signer-representative [data-sign]")
    wait_for(lambda: Signature.objects.filter(inspection=inspection).count() == 3)
    # Each signer says "signed" once: the badge; the status line that said "sending" is emptied.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-sign-status]')].every(e => e.textContent === '')"
    )
    assert page.locator("[data-signed] .badge.lp-ok").count() == 3
    page.check("input[name='conclusion'][value='rectify']")
    step.shot(page, "inspector-signed")
    page.click("button.lp-submit")
    wait_for(lambda: Inspection.objects.get(pk=inspection.pk).status == "submitted")
    page.wait_for_load_state("networkidle")
    step.shot(page, "inspector-submitted")
    order = RectificationOrder.objects.get(inspection=inspection)
    assert order.status == "issued" and order.findings.count() == 1

    # The business: sees the order, sends its rectification.
    business = sign_in(browser, live_server, business_user.username)
    step.shot(business, "business-home")
    business.goto(f"{live_server.url}/orders/{order.pk}/")
    finding = order.findings.get()
    business.fill(f"#text-{finding.pk}", "已分区存放生熟食品并培训员工")
    step.shot(business, "business-order")
    business.click(f"form[action='/orders/{order.pk}/rectification'] button[type=submit]")
    wait_for(lambda: RectificationOrder.objects.get(pk=order.pk).status == "submitted")
    business.wait_for_load_state("networkidle")
    step.shot(business, "business-rectified")

    # The inspector verifies remotely; the loop is closed.
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    step.shot(page, "inspector-verify")
    page.click("button.lp-accept")
    wait_for(lambda: RectificationOrder.objects.get(pk=order.pk).status == "closed")
    page.wait_for_load_state("networkidle")
    step.shot(page, "order-closed")
    assert sorted(p.name for p in SHOTS.glob("*.png")) == step.names
