"""Starting and submitting the on-site record (supervision/inspections/services/record.py): the
snapshot, every refusal of a submit, findings and order, the idempotent retry, the audit chain."""

import hashlib
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from checklists.models import ChecklistItem
from core.audit import canonical, content_digest, verify_chain
from core.models import AuditEvent
from supervision.inspections import services as workflow
from supervision.models import (
    Finding,
    Inspection,
    InspectionTask,
    RectificationOrder,
    Result,
)
from tests.factories import (
    answer_all,
    items_of,
    make_checklist,
    make_ready,
    make_task,
    png_bytes,
    sign_all,
    submit,
)
from tests.factories.inspections import events, loop_state, refused

pytestmark = pytest.mark.django_db


def test_an_assigned_inspector_starts_the_record_on_the_current_checklist(task, lead, loop_checklist):
    inspection = workflow.inspection_start(task=task, actor=lead)

    assert inspection.status == Inspection.Status.DRAFT
    assert list(inspection.checklists.all()) == [loop_checklist]
    assert InspectionTask.objects.get(pk=task.pk).status == InspectionTask.Status.IN_PROGRESS
    assert list(items_of(inspection)) == ["mar-1", "mar-2", "mar-3"]
    assert events("inspection.start", inspection).get().data == {
        "task": task.pk,
        "versions": ["market_regulation:v1"],
    }


@pytest.mark.parametrize("who", ["inspector_user", "regulator_user", "business_user"])
def test_only_assigned_inspectors_start(request, task, who):
    with refused("not_assigned", 403):
        workflow.inspection_start(task=task, actor=request.getfixturevalue(who))


def test_starting_again_resumes_the_same_record(inspection, team):
    audit_count = AuditEvent.objects.count()

    again = workflow.inspection_start(task=inspection.task, actor=team[1].user)

    assert again.pk == inspection.pk
    assert Inspection.objects.count() == 1
    assert AuditEvent.objects.count() == audit_count


def test_it_refuses_to_start_without_a_published_checklist(enterprise, team, regulator_user, lead):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    with refused("no_checklist", 409):
        workflow.inspection_start(task=task, actor=lead)


def test_a_cancelled_task_cannot_be_started(task, regulator_user, lead):
    workflow.task_cancel(task=task, actor=regulator_user, reason="closed")
    with refused("task_not_open", 409):
        workflow.inspection_start(task=task, actor=lead)


def test_the_record_keeps_its_snapshot_when_a_new_version_is_published(inspection, lead, team):
    v2 = make_checklist("catering", "market_regulation", items=5)
    new_item = v2.items.get(code="mar-5")

    assert list(items_of(inspection)) == ["mar-1", "mar-2", "mar-3"]
    with refused("item_not_in_snapshot", 422):
        workflow.inspection_answer(inspection=inspection, actor=lead, item_id=new_item.pk, result="compliant")
    make_ready(inspection, lead, team)
    record = submit(inspection, lead)
    assert record.status == Inspection.Status.SUBMITTED
    assert {a.item.checklist_id for a in record.answers.select_related("item")} == {
        inspection.checklists.get().pk
    }
    assert events("inspection.submit", record).get().data["answers"] == 3


# --- inspection_submit: refusals ----------------------------------------------------------------------


def test_it_refuses_an_incomplete_record_naming_what_is_missing(inspection, lead, team):
    workflow.inspection_answer(
        inspection=inspection, actor=lead, item_id=items_of(inspection)["mar-2"].pk, result="compliant"
    )
    sign_all(inspection, lead, team)
    with refused("incomplete", 422) as excinfo:
        submit(inspection, lead, "pass")
    assert excinfo.value.details == {"missing": ["mar-1", "mar-3"]}


def test_it_refuses_a_record_not_signed_by_every_inspector(inspection, lead, team):
    answer_all(inspection, lead)
    sign_all(inspection, lead, team[:1])
    with refused("unsigned", 422):
        submit(inspection, lead, "pass")


def test_it_refuses_a_record_without_the_representative(inspection, lead, team):
    answer_all(inspection, lead)
    for inspector in team:
        workflow.inspection_sign(
            inspection=inspection, actor=lead, role="inspector", image=png_bytes(), inspector=inspector
        )
    with refused("representative_unsigned", 422):
        submit(inspection, lead, "pass")


def test_it_refuses_to_pass_with_findings(ready, lead):
    with refused("findings_need_action", 422):
        submit(ready, lead, "pass")


def test_it_refuses_to_order_rectification_without_findings(inspection, lead, team):
    make_ready(inspection, lead, team)
    with refused("nothing_to_rectify", 422):
        submit(inspection, lead, "rectify")


def test_it_refuses_a_deadline_in_the_past(ready, lead):
    with refused("deadline_in_past", 422):
        submit(ready, lead, "rectify", rectify_deadline=timezone.now() - timedelta(hours=1))


def test_it_refuses_an_unknown_conclusion(ready, lead):
    with refused("invalid_conclusion", 422):
        submit(ready, lead, "shrug")


@pytest.mark.parametrize("who", ["inspector_user", "regulator_user"])
def test_only_assigned_inspectors_submit(request, ready, who):
    with refused("not_assigned", 403):
        submit(ready, request.getfixturevalue(who))


def test_a_submission_id_belongs_to_one_inspection(submitted_inspection, enterprise, team, regulator_user):
    other = workflow.inspection_start(
        task=make_task(enterprise=enterprise, team=team, actor=regulator_user), actor=team[0].user
    )
    make_ready(other, team[0].user, team)
    with refused("submission_id_reused", 409):
        submit(other, team[0].user, submission_id=submitted_inspection.submission_id)


# --- inspection_submit: the record, findings and order ------------------------------------------------


@pytest.mark.parametrize(
    ("failing", "worst"),
    [
        ({"mar-1"}, "minor"),
        ({"mar-1", "mar-2"}, "major"),
        ({"mar-1", "mar-3"}, "critical"),
    ],
)
def test_the_default_deadline_follows_the_worst_finding(inspection, lead, team, failing, worst):
    make_ready(inspection, lead, team, dict.fromkeys(failing, Result.NON_COMPLIANT))
    with time_machine.travel(timezone.now(), tick=False):
        record = submit(inspection, lead, "rectify")
        expected = timezone.now() + timedelta(days=settings.RECTIFY_DAYS[worst])

    assert record.rectify_deadline == expected
    assert RectificationOrder.objects.get(inspection=record).deadline == expected


def test_a_chosen_deadline_is_kept(ready, lead):
    deadline = (timezone.now() + timedelta(days=20)).replace(microsecond=0)
    record = submit(ready, lead, "rectify", rectify_deadline=deadline)
    assert record.rectify_deadline == deadline == RectificationOrder.objects.get().deadline


def test_submitting_writes_findings_one_order_and_closes_the_task(ready, lead, team):
    ready.answers.filter(item__code="mar-3").update(result=Result.NOT_APPLICABLE)
    record = submit(ready, lead, "rectify")

    record.refresh_from_db()
    assert record.status == Inspection.Status.SUBMITTED
    assert (record.submitted_by, record.conclusion) == (lead, "rectify")
    assert record.task.status == InspectionTask.Status.DONE
    order = RectificationOrder.objects.get()
    assert order.inspection == record and order.enterprise == record.enterprise
    assert order.status == RectificationOrder.Status.ISSUED
    assert sorted(f.item.code for f in order.findings.all()) == ["mar-1", "mar-2"]
    assert sorted(f.item.code for f in Finding.objects.filter(inspection=record)) == ["mar-1", "mar-2"]
    assert {f.severity for f in order.findings.all()} == {"minor", "major"}
    issue = events("order.issue", order).get()
    assert issue.data["findings"] == ["mar-1", "mar-2"]
    assert issue.data["number"] == order.number


def test_a_pass_issues_no_order_and_a_referral_keeps_its_findings(inspection, lead, team, enterprise):
    make_ready(inspection, lead, team)
    assert submit(inspection, lead, "pass").conclusion == "pass"
    assert not RectificationOrder.objects.exists() and not Finding.objects.exists()

    task = make_task(enterprise=enterprise, team=team, actor=inspection.task.created_by)
    referred = workflow.inspection_start(task=task, actor=lead)
    make_ready(referred, lead, team, {"mar-3": Result.NON_COMPLIANT})
    record = submit(referred, lead, "refer", rectify_deadline=timezone.now() + timedelta(days=3))

    assert record.rectify_deadline is None
    assert [f.item.code for f in record.findings.all()] == ["mar-3"]
    assert not RectificationOrder.objects.exists()


def test_a_retried_submit_returns_the_same_record_and_writes_nothing(ready, lead, team):
    submission_id = uuid.uuid4()
    first = submit(ready, lead, "rectify", submission_id=submission_id)
    before = loop_state()

    again = submit(ready, team[1].user, "rectify", submission_id=submission_id)

    assert again.pk == first.pk and again.content_hash == first.content_hash
    assert loop_state() == before
    assert events("inspection.submit").count() == 1
    assert RectificationOrder.objects.count() == 1


def test_a_second_submission_with_another_id_is_refused(submitted_inspection, lead):
    with refused("already_submitted", 409):
        submit(submitted_inspection, lead, "rectify")


def test_the_content_hash_is_in_the_audit_chain(submitted_inspection):
    record = Inspection.objects.get(pk=submitted_inspection.pk)
    event = events("inspection.submit", record).get()

    assert event.data["content_hash"] == record.content_hash
    assert (
        record.content_hash
        == hashlib.sha256(canonical(workflow.inspection_content(record)).encode()).hexdigest()
    )
    assert event.data["submission_id"] == str(record.submission_id)
    assert event.data["findings"] == 2
    assert len(event.data["signatures"]) == 3
    assert verify_chain().ok


def test_answers_to_items_that_stopped_applying_are_dropped_at_submit(inspection, lead, team):
    make_ready(inspection, lead, team)
    ChecklistItem.objects.filter(code="mar-3").update(applies_if="online_delivery")

    record = submit(inspection, lead, "pass")

    assert sorted(a.item.code for a in record.answers.select_related("item")) == ["mar-1", "mar-2"]
    assert events("inspection.submit", record).get().data["answers"] == 2
    # The hash was taken of the rows the submit kept: what verify_audit recomputes from the table.
    stored = Inspection.objects.get(pk=record.pk)
    assert stored.content_hash == content_digest(workflow.inspection_content(stored))


# --- the chain after the whole loop -------------------------------------------------------------------


def test_the_whole_loop_leaves_a_sound_audit_chain(rectified, lead, business_user):
    workflow.order_verify(order=rectified, actor=lead, accepted=True)
    workflow.evaluation_submit(inspection=rectified.inspection, actor=business_user, rating=5)

    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    loop = [a for a in actions if a.split(".")[0] in ("task", "inspection", "order")]
    assert loop == [
        "task.create",
        "inspection.start",
        "inspection.submit",
        "order.issue",
        "order.rectification_submit",
        "order.verify",
        "inspection.evaluate",
    ]
    assert verify_chain().ok
