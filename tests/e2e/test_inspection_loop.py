"""The closed loop in a real browser: Debian's chromium driven by Playwright at tablet size.

The inspector signs in, opens today's task, answers the checklist (autosaved by the page's own
JavaScript), draws the signatures, submits; the business signs in, opens the order and sends its
rectification; the inspector accepts it and the order is closed. A screenshot of every step is
written to var/e2e-screenshots/ (README, "Tests").
"""

from datetime import date

import pytest

from checklists.models import ChecklistItem
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionAnswer, RectificationOrder, Signature
from tests.e2e.browser import SHOTS, Step, draw, sign_in, wait_for
from tests.factories import InspectorFactory, make_checklist

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
    # Headless chromium on Linux cannot read QR codes with the camera: the page says why and what to
    # do instead, above the typed form (localhost is a secure context, so not the https reason).
    page.goto(f"{live_server.url}/tasks/")
    if not page.evaluate("'BarcodeDetector' in window"):
        why = page.locator("[data-scan-why]")
        assert why.is_visible()
        assert "This browser cannot read QR codes with the camera" in why.inner_text()
        assert page.locator(".lp-scan-camera").is_hidden()
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
