"""Rectification orders (supervision/inspections/services/orders.py): the business's answer,
verification, overdue and escalation, re-inspection."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone, translation

from core.audit import verify_chain
from supervision.inspections import services as workflow
from supervision.models import (
    InspectionTask,
    Rectification,
    RectificationOrder,
)
from tests.factories import fake_jpeg, jpeg, make_ready, rectify, submit
from tests.factories.inspections import events, refused

pytestmark = pytest.mark.django_db


def _orders_api(user, **query):
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/orders", query)
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["items"]]


# --- rectification_submit -----------------------------------------------------------------------------


def test_the_business_answers_every_finding_with_photos(order, business_user):
    entries = {f.pk: {"text": f" replaced {f.item.code} ", "photos": [jpeg()]} for f in order.findings.all()}

    rectification = workflow.rectification_submit(
        order=order, actor=business_user, note="done", entries=entries
    )

    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.SUBMITTED
    assert rectification.status == Rectification.Status.PENDING
    assert sorted(e.text for e in rectification.entries.all()) == ["replaced mar-1", "replaced mar-2"]
    assert all(e.photos.count() == 1 for e in rectification.entries.all())
    event = events("order.rectification_submit", order).get()
    assert event.data["late"] is False
    assert len(event.data["photos"]) == 2


@pytest.mark.parametrize("who", ["other_member", "lead", "regulator_user", "admin_user"])
def test_only_the_business_rectifies(request, order, who):
    entries = {f.pk: {"text": "fixed"} for f in order.findings.all()}
    with refused("not_member", 403):
        workflow.rectification_submit(order=order, actor=request.getfixturevalue(who), entries=entries)


def test_every_finding_needs_a_text(order, business_user):
    first, second = order.findings.order_by("pk")
    with refused("incomplete", 422) as excinfo:
        workflow.rectification_submit(
            order=order, actor=business_user, entries={first.pk: {"text": "fixed"}, second.pk: {"text": "  "}}
        )
    assert excinfo.value.details == {"findings": [second.pk]}
    with refused("incomplete", 422):
        workflow.rectification_submit(order=order, actor=business_user, entries={first.pk: {"text": "fixed"}})


def test_it_refuses_a_finding_of_another_order(order, business_user):
    entries = {f.pk: {"text": "fixed"} for f in order.findings.all()}
    entries[987654] = {"text": "and this"}
    with refused("finding_not_in_order", 422) as excinfo:
        workflow.rectification_submit(order=order, actor=business_user, entries=entries)
    assert excinfo.value.details == {"findings": [987654]}


def test_rectification_photos_are_checked_before_anything_is_stored(order, business_user):
    with refused("not_an_image", 422):
        rectify(order, business_user, photos=[jpeg(), fake_jpeg()])
    with refused("too_many_photos", 422):
        rectify(order, business_user, photos=[jpeg()] * 6)


def test_a_submitted_order_takes_no_second_rectification(order, business_user):
    rectify(order, business_user)
    with refused("order_not_open", 409):
        rectify(order, business_user, photos=[jpeg()])


def test_a_rectification_text_has_a_limit(order, business_user):
    with refused("note_too_long", 422):
        rectify(order, business_user, text="x" * 2001)


# --- order_verify -------------------------------------------------------------------------------------


def test_accepting_closes_the_order(rectified, inspector_user):
    order = workflow.order_verify(order=rectified, actor=inspector_user, accepted=True)

    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.CLOSED
    assert order.closed_by == inspector_user and order.closed_at is not None
    assert order.rectifications.get().status == Rectification.Status.ACCEPTED
    assert events("order.verify", order).get().data == {"accepted": True, "note": "", "within_deadline": True}


def test_rejecting_needs_a_reason(rectified, lead):
    with refused("reason_required", 422):
        workflow.order_verify(order=rectified, actor=lead, accepted=False, note=" ")


def test_rejecting_returns_the_order_and_the_business_tries_again(rectified, lead, business_user):
    workflow.order_verify(order=rectified, actor=lead, accepted=False, note="the sink still leaks")
    rectified.refresh_from_db()
    assert rectified.status == RectificationOrder.Status.RETURNED
    rejected = rectified.rectifications.get()
    assert (rejected.status, rejected.review_note, rejected.reviewed_by) == (
        "rejected",
        "the sink still leaks",
        lead,
    )

    rectify(rectified, business_user)
    workflow.order_verify(order=rectified, actor=lead, accepted=True)

    rectified.refresh_from_db()
    assert rectified.status == RectificationOrder.Status.CLOSED
    assert sorted(rectified.rectifications.values_list("status", flat=True)) == ["accepted", "rejected"]


def test_an_order_not_submitted_cannot_be_verified(order, lead):
    with refused("not_submitted", 409):
        workflow.order_verify(order=order, actor=lead, accepted=True)


def test_a_closed_order_cannot_be_verified_again(rectified, lead):
    workflow.order_verify(order=rectified, actor=lead, accepted=True)
    with refused("not_submitted", 409):
        workflow.order_verify(order=rectified, actor=lead, accepted=False, note="changed my mind")


@pytest.mark.parametrize(
    "who", ["far_inspector", "business_user", "regulator_user", "admin_user", "outsider"]
)
def test_only_inspectors_with_jurisdiction_verify(request, rectified, who):
    actor = request.getfixturevalue(who)
    with refused("forbidden", 403):
        workflow.order_verify(order=rectified, actor=getattr(actor, "user", actor), accepted=True)


# --- overdue and escalation ---------------------------------------------------------------------------


def test_an_order_past_its_deadline_is_overdue_until_the_business_answers(order, lead, business_user):
    assert not order.is_overdue
    assert _orders_api(lead, overdue="true") == []

    with time_machine.travel(order.deadline + timedelta(minutes=1)):
        order.refresh_from_db()
        assert order.is_overdue
        assert _orders_api(lead, overdue="true") == [order.number]
        assert _orders_api(business_user, overdue="true") == [order.number]
        assert _orders_api(lead, overdue="false") == []

        rectify(order, business_user)
        order.refresh_from_db()
        assert not order.is_overdue
        assert _orders_api(lead, overdue="true") == []
        assert events("order.rectification_submit", order).get().data["late"] is True

        # Sent back after the deadline: the business owes an answer again, and it is late.
        workflow.order_verify(order=order, actor=lead, accepted=False, note="not good enough")
        order.refresh_from_db()
        assert order.is_overdue
        assert _orders_api(lead, overdue="true") == [order.number]


def test_only_an_overdue_order_is_escalated(order, regulator_user):
    with refused("not_overdue", 409):
        workflow.order_escalate(order=order, actor=regulator_user, note="stubborn")


@pytest.mark.parametrize("who", ["regulator_user", "lead", "inspector_user", "admin_user"])
def test_an_overdue_order_becomes_a_case(request, order, who):
    actor = request.getfixturevalue(who)
    with time_machine.travel(order.deadline + timedelta(days=1)):
        workflow.order_escalate(order=order, actor=actor, note=" ignored the order ")

        order.refresh_from_db()
        assert order.status == RectificationOrder.Status.ESCALATED
        assert order.case_note == "ignored the order"
        assert not order.is_overdue
        assert events("order.escalate", order).get().actor == actor


def test_escalating_needs_a_description(order, regulator_user):
    with time_machine.travel(order.deadline + timedelta(days=1)), refused("reason_required", 422):
        workflow.order_escalate(order=order, actor=regulator_user, note="")


@pytest.mark.parametrize("who", ["business_user", "far_inspector", "outsider"])
def test_who_may_escalate(request, order, who):
    actor = request.getfixturevalue(who)
    with time_machine.travel(order.deadline + timedelta(days=1)), refused("forbidden", 403):
        workflow.order_escalate(order=order, actor=getattr(actor, "user", actor), note="late")


def test_an_escalated_order_is_out_of_the_business_hands(order, regulator_user, business_user):
    with time_machine.travel(order.deadline + timedelta(days=1)):
        workflow.order_escalate(order=order, actor=regulator_user, note="case opened")
        with refused("order_not_open", 409):
            rectify(order, business_user)


# --- order_reinspect ----------------------------------------------------------------------------------


def test_a_reinspection_is_a_task_tied_to_the_order_and_its_submit_is_audited(order, lead, team):
    today = timezone.localdate()
    task = workflow.order_reinspect(
        order=order, actor=lead, inspectors=team, due_from=today, due_to=today + timedelta(days=2)
    )

    assert task.source == InspectionTask.Source.REINSPECTION
    assert task.origin_order == order
    assert task.note == "" and order.number in task.origin_text()
    with translation.override("zh-hans"):
        assert task.origin_text() == f"整改通知 {order.number} 的复查"
    assert list(order.reinspection_tasks.all()) == [task]
    assert events("task.create", task).get().actor == lead

    inspection = workflow.inspection_start(task=task, actor=team[1].user)
    make_ready(inspection, team[1].user, team)
    record = submit(inspection, team[1].user, "pass")

    event = events("order.reinspected", order).get()
    assert event.data == {"inspection": record.pk}
    assert verify_chain().ok


def test_a_regulator_may_send_inspectors_back(order, regulator_user, team):
    today = timezone.localdate()
    task = workflow.order_reinspect(
        order=order, actor=regulator_user, inspectors=team, due_from=today, due_to=today
    )
    assert task.origin_order == order


@pytest.mark.parametrize("who", ["business_user", "far_inspector", "outsider"])
def test_who_may_reinspect(request, order, team, who):
    actor = request.getfixturevalue(who)
    today = timezone.localdate()
    with refused("forbidden", 403):
        workflow.order_reinspect(
            order=order, actor=getattr(actor, "user", actor), inspectors=team, due_from=today, due_to=today
        )


def test_a_closed_order_needs_no_reinspection(rectified, lead, team):
    workflow.order_verify(order=rectified, actor=lead, accepted=True)
    rectified.refresh_from_db()
    today = timezone.localdate()
    with refused("order_finished", 409):
        workflow.order_reinspect(order=rectified, actor=lead, inspectors=team, due_from=today, due_to=today)
