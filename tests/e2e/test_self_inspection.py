"""The business's self-inspection in a real browser, at phone size: what is missing is said next to
each item before the irreversible "cannot be changed" question, and once the business confirms, the
autosave stops, so no late save is refused (409) behind the submit."""

import pytest

from core.models import Enterprise
from supervision.models import SelfInspection
from supervision.self_inspection import services as self_inspection
from tests.e2e.browser import PHONE, SHOTS, Step, sign_in, wait_for
from tests.factories import make_checklist

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_missing_answers_are_named_before_the_question_and_nothing_is_refused_after_it(
    browser, live_server, enterprise: Enterprise, business_user
):
    make_checklist(items=3)
    draft, _ = self_inspection.self_inspection_start(enterprise=enterprise, user=business_user)
    dialogs: list[str] = []
    page = sign_in(browser, live_server, business_user.username, viewport=PHONE, dialogs=dialogs)
    refused, errors = [], []
    page.on("response", lambda response: refused.append(response.url) if response.status >= 400 else None)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    step = Step(SHOTS / "self-inspection")
    page.goto(f"{live_server.url}/self-inspections/{draft.pk}/")
    items = page.locator("fieldset.si-item")
    assert items.count() == 3

    # One answer given (autosaved), two missing: submitting names them and asks nothing.
    items.nth(0).locator("input[type=radio][value=compliant]").check()
    wait_for(lambda: draft.answers.filter(result="compliant").count() == 1)
    page.click("button.si-submit")
    step.shot(page, "missing-answers")
    assert dialogs == []
    for index in (1, 2):
        assert "Answer this item before submitting." in items.nth(index).locator(".si-status").inner_text()
        assert "has-error" in items.nth(index).get_attribute("class")
    assert SelfInspection.objects.get(pk=draft.pk).status == SelfInspection.Status.DRAFT

    # Answered, with a note typed last: leaving the note (a change) and submitting in one go.
    items.nth(1).locator("input[type=radio][value=non_compliant]").check()
    items.nth(2).locator("input[type=radio][value=not_applicable]").check()
    items.nth(1).locator("textarea").fill("灭火器过期")
    page.click("button.si-submit")
    wait_for(lambda: SelfInspection.objects.get(pk=draft.pk).status == SelfInspection.Status.SUBMITTED)
    page.wait_for_load_state("networkidle")
    step.shot(page, "submitted")
    assert dialogs == ["Submit now? The answers can no longer be changed afterwards."]
    assert draft.answers.get(item__position=2).note == "灭火器过期"
    assert refused == [] and errors == []
