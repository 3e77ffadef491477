"""The inspection loop's pages: today's tasks and scanning, the entity card's start button, the
on-site record without JavaScript, orders, verification, evaluation; and the outsiders who get 404."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.codes import code_issue
from core.models import Photo
from supervision.models import (
    Evaluation,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationOrder,
    Result,
)
from tests.factories import InspectorFactory, MembershipFactory, answer_all, items_of, jpeg, rectify, sign_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def other_member(other_enterprise):
    return MembershipFactory(enterprise=other_enterprise).user


@pytest.fixture
def stranger_inspector(db):
    """Same district and department as the team, not assigned to the task."""
    return InspectorFactory().user


def login(client, user):
    client.force_login(user)
    return client


def item_block(html: str, item) -> str:
    match = re.search(rf'<fieldset[^>]*id="item-{item.pk}".*?</fieldset>', html, re.S)
    assert match, f"item {item.code} not on the page"
    return match.group(0)


def inspection_url(inspection):
    return reverse("loop:inspection", args=[inspection.pk])


def order_url(order):
    return reverse("loop:order", args=[order.pk])


# --- today's tasks and scanning ------------------------------------------------------------------


def test_today_lists_the_inspectors_tasks_with_the_co_inspector(client, task, lead, team):
    html = login(client, lead).get(reverse("loop:today")).content.decode()
    assert task.enterprise.name in html and task.enterprise.address in html
    assert "Inspector 2" in html  # the co-inspector
    assert reverse("loop:start", args=[task.pk]) in html
    assert 'id="scan"' in html


@pytest.mark.parametrize("who", ["outsider", "business_user", "regulator_user"])
def test_today_is_not_found_for_non_inspectors(client, request, task, who):
    assert login(client, request.getfixturevalue(who)).get(reverse("loop:today")).status_code == 404


def test_scanning_a_typed_token_opens_the_landing(client, enterprise, lead):
    code = code_issue(enterprise=enterprise)
    spaced = " ".join(code.token[i : i + 4] for i in range(0, len(code.token), 4)).lower()
    response = login(client, lead).get(reverse("loop:scan"), {"code": spaced})
    assert response.status_code == 302 and response["Location"] == reverse("landing", args=[code.token])
    url = f"https://example.org/c/{code.token}"  # the printed URL, pasted
    assert client.get(reverse("loop:scan"), {"code": url})["Location"] == reverse(
        "landing", args=[code.token]
    )


def test_scanning_a_credit_code_opens_the_entity_card(client, enterprise, far_enterprise, lead):
    code = code_issue(enterprise=enterprise)
    login(client, lead)
    response = client.get(reverse("loop:scan"), {"code": enterprise.uscc.lower()})
    assert response["Location"] == reverse("landing", args=[code.token])
    code_issue(enterprise=far_enterprise)
    response = client.get(reverse("loop:scan"), {"code": far_enterprise.uscc})
    assert response.status_code == 404
    assert "No enterprise in your jurisdiction has this credit code." in response.content.decode()


def test_scanning_an_unknown_code_says_so(client, lead):
    login(client, lead)
    response = client.get(reverse("loop:scan"), {"code": "2" * 22})
    assert response.status_code == 404 and "No enterprise has this code" in response.content.decode()
    response = client.get(reverse("loop:scan"), {"code": "hello"})
    assert response.status_code == 422 and "neither a code" in response.content.decode()


# --- the entity card's start button ----------------------------------------------------------------------


def test_the_entity_card_offers_start_only_to_the_assigned_inspectors(client, task, lead, stranger_inspector):
    token = code_issue(enterprise=task.enterprise).token
    start = reverse("loop:start", args=[task.pk])
    html = login(client, lead).get(reverse("landing", args=[token])).content.decode()
    assert start in html and "Start inspection" in html
    html = login(Client(headers={"Accept-Language": "en"}), stranger_inspector).get(
        reverse("landing", args=[token])
    )
    html = html.content.decode()
    assert start not in html and "Start inspection" not in html
    assert "No task assigned to you for this enterprise" in html


def test_starting_opens_the_record_and_resumes_it(client, task, lead, stranger_inspector):
    response = login(client, lead).post(reverse("loop:start", args=[task.pk]))
    inspection = Inspection.objects.get(task=task)
    assert response.status_code == 302 and response["Location"] == inspection_url(inspection)
    assert client.post(reverse("loop:start", args=[task.pk]))["Location"] == inspection_url(inspection)
    other = login(Client(), stranger_inspector).post(reverse("loop:start", args=[task.pk]))
    assert other.status_code == 404


# --- the on-site record -------------------------------------------------------------------------------------


def test_the_record_shows_every_item_to_its_inspectors(client, inspection, lead):
    html = login(client, lead).get(inspection_url(inspection)).content.decode()
    for item in items_of(inspection).values():
        block = item_block(html, item)
        assert item.display_question in block and item.legal_basis in block
        assert 'capture="environment"' in block
    assert "<span data-answered>0</span> of 3 answered" in html
    assert 'name="submission_id"' in html
    assert reverse("api:submit_inspection", args=[inspection.pk]) in html


@pytest.mark.parametrize("who", ["outsider", "business_user", "stranger_inspector", "other_member"])
def test_a_draft_is_not_found_for_anyone_else(client, request, inspection, who):
    assert login(client, request.getfixturevalue(who)).get(inspection_url(inspection)).status_code == 404


def test_the_form_saves_changed_answers_without_javascript(client, inspection, lead):
    items = items_of(inspection)
    data = {
        f"result-{items['mar-1'].pk}": Result.NON_COMPLIANT,
        f"note-{items['mar-1'].pk}": "dirty floor",
        f"photos-{items['mar-1'].pk}": jpeg(),
        f"note-{items['mar-2'].pk}": "",
        "representative_name": "李四",
        "action": "save",
    }
    response = login(client, lead).post(inspection_url(inspection), data)
    assert response.status_code == 302
    answer = InspectionAnswer.objects.get(inspection=inspection)
    assert (answer.item, answer.result, answer.note) == (items["mar-1"], Result.NON_COMPLIANT, "dirty floor")
    assert answer.photos.count() == 1
    inspection.refresh_from_db()
    assert inspection.representative_name == "李四"
    html = client.get(inspection_url(inspection)).content.decode()
    assert "<span data-answered>1</span> of 3 answered" in html
    photo = answer.photos.get()
    thumbnail = reverse("loop:inspection-photo", args=[inspection.pk, photo.pk, "thumbnail"])
    assert thumbnail in item_block(html, items["mar-1"])
    assert client.get(thumbnail)["Content-Type"] == "image/jpeg"
    assert client.get(thumbnail.replace("thumbnail", "original")).status_code == 404


def test_a_refused_item_keeps_what_was_typed(client, inspection, lead):
    items = items_of(inspection)
    data = {
        f"result-{items['mar-1'].pk}": Result.COMPLIANT,
        f"note-{items['mar-2'].pk}": "no result chosen",
    }
    response = login(client, lead).post(inspection_url(inspection), data)
    assert response.status_code == 422
    block = item_block(response.content.decode(), items["mar-2"])
    assert "A new answer needs a result." in block and "no result chosen" in block
    assert InspectionAnswer.objects.filter(inspection=inspection).count() == 1  # the other one is saved


def test_submitting_twice_with_the_same_id_makes_one_record(client, inspection, lead, team):
    answer_all(inspection, lead, {"mar-2": Result.NON_COMPLIANT})
    sign_all(inspection, lead, team, representative=False)
    html = login(client, lead).get(inspection_url(inspection)).content.decode()
    submission_id = re.search(r'name="submission_id" value="([0-9a-f-]+)"', html).group(1)
    data = {"action": "submit", "submission_id": submission_id, "conclusion": "rectify"}
    first = client.post(inspection_url(inspection), data)
    second = client.post(inspection_url(inspection), data)
    assert first.status_code == second.status_code == 302
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SUBMITTED
    assert inspection.submission_id == uuid.UUID(submission_id)
    assert RectificationOrder.objects.filter(inspection=inspection).count() == 1
    html = client.get(inspection_url(inspection)).content.decode()
    assert "Submitted. The record can no longer change." in html
    assert reverse("api:inspection_record_pdf", args=[inspection.pk]) in html
    assert order_url(inspection.order) in html
    # A different submission is refused, and the record stays as it was.
    data["submission_id"] = str(uuid.uuid4())
    client.post(inspection_url(inspection), data)
    assert "This inspection is already submitted." in client.get(inspection_url(inspection)).content.decode()


def test_an_incomplete_submit_marks_the_missing_items(client, inspection, lead):
    items = items_of(inspection)
    data = {
        f"result-{items['mar-1'].pk}": Result.COMPLIANT,
        "action": "submit",
        "submission_id": str(uuid.uuid4()),
        "conclusion": "pass",
    }
    response = login(client, lead).post(inspection_url(inspection), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Answer this item before submitting." in item_block(html, items["mar-3"])
    assert "Answer this item before submitting." not in item_block(html, items["mar-1"])
    assert Inspection.objects.get(pk=inspection.pk).status == Inspection.Status.DRAFT


def test_the_refusal_is_recorded_without_javascript(client, inspection, lead):
    login(client, lead)
    response = client.post(inspection_url(inspection), {"action": "refuse", "refusal_note": ""})
    assert response.status_code == 422
    client.post(inspection_url(inspection), {"action": "refuse", "refusal_note": "walked away"})
    inspection.refresh_from_db()
    assert inspection.representative_refused and inspection.refusal_note == "walked away"


# --- the submitted record and its evaluation ----------------------------------------------------------------


def test_the_business_sees_the_record_and_rates_it_once(client, submitted_inspection, business_user):
    url = inspection_url(submitted_inspection)
    html = login(client, business_user).get(url).content.decode()
    assert "Rate this inspection" in html and 'name="rating"' in html
    assert (
        client.post(reverse("loop:evaluate", args=[submitted_inspection.pk]), {"rating": "9"}).status_code
        == 422
    )
    response = client.post(
        reverse("loop:evaluate", args=[submitted_inspection.pk]), {"rating": "4", "comment": "polite"}
    )
    assert response.status_code == 302
    again = client.post(reverse("loop:evaluate", args=[submitted_inspection.pk]), {"rating": "1"})
    assert again.status_code == 302
    evaluation = Evaluation.objects.get()
    assert (evaluation.rating, evaluation.comment) == (4, "polite")
    html = client.get(url).content.decode()
    assert 'name="rating"' not in html and "polite" in html


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_a_submitted_record_is_not_found_for_others(client, request, submitted_inspection, who):
    user = request.getfixturevalue(who)
    assert login(client, user).get(inspection_url(submitted_inspection)).status_code == 404
    url = reverse("loop:evaluate", args=[submitted_inspection.pk])
    assert client.post(url, {"rating": "5"}).status_code == 404


def test_inspectors_cannot_rate(client, submitted_inspection, lead):
    response = login(client, lead).post(
        reverse("loop:evaluate", args=[submitted_inspection.pk]), {"rating": "5"}
    )
    assert response.status_code == 403 and not Evaluation.objects.exists()


# --- orders -------------------------------------------------------------------------------------------------


def test_the_member_answers_the_order_with_photos(client, order, business_user):
    html = login(client, business_user).get(order_url(order)).content.decode()
    assert order.number in html and "Report your rectification" in html
    findings = list(order.findings.select_related("item"))
    assert all(finding.item.legal_basis in html for finding in findings)
    data = {"note": "done", f"text-{findings[0].pk}": "cleaned"}
    response = client.post(reverse("loop:rectify", args=[order.pk]), data)
    assert response.status_code == 422 and "Say what was done." in response.content.decode()
    assert "cleaned" in response.content.decode()
    data[f"text-{findings[1].pk}"] = "new licence on the wall"
    data[f"photos-{findings[1].pk}"] = jpeg()
    response = client.post(reverse("loop:rectify", args=[order.pk]), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.SUBMITTED
    entry = Rectification.objects.get(order=order).entries.get(finding=findings[1])
    photo = entry.photos.get()
    thumbnail = reverse("loop:order-photo", args=[order.pk, photo.pk, "thumbnail"])
    assert thumbnail in client.get(order_url(order)).content.decode()
    assert client.get(thumbnail).status_code == 200


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_an_order_is_not_found_for_others(client, request, order, business_user, who):
    rectify(order, business_user, photos=[jpeg()])
    photo = Photo.objects.latest("pk")
    login(client, request.getfixturevalue(who))
    assert client.get(order_url(order)).status_code == 404
    assert client.get(reverse("loop:order-photo", args=[order.pk, photo.pk, "display"])).status_code == 404
    for name in ("rectify", "verify", "escalate"):
        assert client.post(reverse(f"loop:{name}", args=[order.pk]), {}).status_code == 404


def test_an_inspector_rejects_with_a_reason_then_accepts(client, order, business_user, stranger_inspector):
    rectify(order, business_user)
    login(client, stranger_inspector)  # jurisdiction is enough; verifying needs no assignment
    html = client.get(order_url(order)).content.decode()
    assert "Check the rectification" in html and "fixed mar-1" in html
    response = client.post(reverse("loop:verify", args=[order.pk]), {"decision": "reject", "note": ""})
    assert response.status_code == 422 and "Say why" in response.content.decode()
    client.post(reverse("loop:verify", args=[order.pk]), {"decision": "reject", "note": "photo is blurry"})
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.RETURNED
    member_html = login(Client(headers={"Accept-Language": "en"}), business_user).get(order_url(order))
    assert "photo is blurry" in member_html.content.decode()
    rectify(order, business_user)
    client.post(reverse("loop:verify", args=[order.pk]), {"decision": "accept"})
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.CLOSED


def test_members_cannot_verify(client, order, business_user):
    rectify(order, business_user)
    response = login(client, business_user).post(
        reverse("loop:verify", args=[order.pk]), {"decision": "accept"}
    )
    assert response.status_code == 403


def test_inspectors_are_sent_back_and_overdue_orders_escalated(client, order, team, stranger_inspector):
    login(client, stranger_inspector)
    today = timezone.localdate()
    data = {
        "inspectors": [str(team[0].pk), str(team[1].pk)],
        "due_from": today.isoformat(),
        "due_to": (today + timedelta(days=3)).isoformat(),
    }
    assert client.post(reverse("loop:reinspect", args=[order.pk]), data).status_code == 302
    assert InspectionTask.objects.filter(origin_order=order, source="reinspection").count() == 1
    assert "Escalate to a case" not in client.get(order_url(order)).content.decode()
    RectificationOrder.objects.filter(pk=order.pk).update(deadline=timezone.now() - timedelta(days=1))
    assert "Escalate to a case" in client.get(order_url(order)).content.decode()
    assert client.post(reverse("loop:escalate", args=[order.pk]), {"reason": ""}).status_code == 422
    client.post(reverse("loop:escalate", args=[order.pk]), {"reason": "ignored the order"})
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.ESCALATED


def test_the_order_list_shows_what_each_user_may_see(client, order, business_user, other_member, lead):
    assert order.number in login(client, business_user).get(reverse("loop:orders")).content.decode()
    assert order.number not in login(client, other_member).get(reverse("loop:orders")).content.decode()
    login(client, lead)
    assert order.number in client.get(reverse("loop:orders"), {"status": "issued"}).content.decode()
    assert order.number not in client.get(reverse("loop:orders"), {"status": "closed"}).content.decode()
    assert order.number not in client.get(reverse("loop:orders"), {"overdue": "yes"}).content.decode()
    assert client.get(reverse("loop:orders"), {"status": "bogus"}).status_code == 400


def test_the_order_list_is_not_found_for_outsiders(client, outsider):
    assert login(client, outsider).get(reverse("loop:orders")).status_code == 404


# --- the business landing ------------------------------------------------------------------------------


def test_the_business_landing_shows_open_orders_and_asks_for_a_rating(client, order, business_user):
    token = code_issue(enterprise=order.enterprise).token
    html = login(client, business_user).get(reverse("landing", args=[token])).content.decode()
    assert order_url(order) in html and order.number in html
    assert "Rate your last inspection" in html
    Evaluation.objects.create(inspection=order.inspection, rating=5, created_by=business_user)
    html = client.get(reverse("landing", args=[token])).content.decode()
    assert "Rate your last inspection" not in html
