"""The inspection loop's state machine (supervision/inspections/services.py): every transition, and every
refusal with its code and the proof that nothing changed."""

import hashlib
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from checklists.models import ChecklistItem
from core.audit import canonical, verify_chain
from core.errors import DomainError
from core.models import AuditEvent, Photo
from supervision.inspections import services as workflow
from supervision.models import (
    Evaluation,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationEntry,
    RectificationOrder,
    Result,
    Signature,
)
from tests.factories import (
    MembershipFactory,
    answer_all,
    fake_jpeg,
    items_of,
    jpeg,
    jpeg_bytes,
    make_checklist,
    make_ready,
    make_task,
    make_team,
    png_bytes,
    rectify,
    sign_all,
    submit,
)

pytestmark = pytest.mark.django_db

LOOP_MODELS = [
    InspectionTask,
    InspectionTask.inspectors.through,
    Inspection,
    InspectionAnswer,
    InspectionAnswer.photos.through,
    Signature,
    Finding,
    RectificationOrder,
    Rectification,
    RectificationEntry,
    RectificationEntry.photos.through,
    Evaluation,
    Photo,
    AuditEvent,
]


def _state() -> dict:
    """Every row of the loop's tables, and every stored file: small enough to compare whole."""
    rows = {model._meta.label: list(model.objects.order_by("pk").values()) for model in LOOP_MODELS}
    media = Path(settings.MEDIA_ROOT)
    rows["files"] = sorted(str(p) for p in media.rglob("*") if p.is_file()) if media.exists() else []
    return rows


@contextmanager
def refused(code: str, status: int | None = None):
    """The call inside is refused with ``code`` (and ``status``) and leaves no trace."""
    before = _state()
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code == code, excinfo.value.message
    if status is not None:
        assert excinfo.value.status == status
    assert _state() == before


def events(action: str, target=None):
    qs = AuditEvent.objects.filter(action=action)
    if target is not None:
        qs = qs.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
    return qs


@pytest.fixture
def other_member(other_enterprise):
    return MembershipFactory(enterprise=other_enterprise).user


@pytest.fixture
def far_inspector(db):
    """A market-regulation inspector of Haidian: no jurisdiction over Chaoyang."""
    return make_team(1, districts=["110108"], prefix="far")[0]


# --- task_create --------------------------------------------------------------------------------------


def test_a_regulator_plans_a_task_for_two_inspectors(enterprise, team, regulator_user, loop_checklist):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user, note="  routine  ")

    assert task.status == InspectionTask.Status.PLANNED
    assert set(task.inspectors.all()) == set(team)
    assert task.department == team[0].department
    assert task.note == "routine"
    event = events("task.create", task).get()
    assert event.actor == regulator_user
    assert event.data["inspectors"] == sorted(i.certificate_no for i in team)
    assert event.data["enterprise"] == enterprise.uscc


def test_an_admin_plans_a_task(enterprise, team, admin_user):
    assert make_task(enterprise=enterprise, team=team, actor=admin_user).status == "planned"


@pytest.mark.parametrize("who", ["inspector_user", "business_user", "outsider"])
def test_only_regulators_plan_tasks(request, who, enterprise, team):
    with refused("forbidden", 403):
        make_task(enterprise=enterprise, team=team, actor=request.getfixturevalue(who))


def test_a_regulator_plans_only_in_scope(far_enterprise, regulator_user):
    far_team = make_team(2, districts=["110108"])
    with refused("forbidden", 403):
        make_task(enterprise=far_enterprise, team=far_team, actor=regulator_user)


def test_it_refuses_a_team_of_one(enterprise, team, regulator_user):
    with refused("too_few_inspectors", 422):
        make_task(enterprise=enterprise, team=team[:1], actor=regulator_user)


def test_the_same_inspector_twice_is_still_one(enterprise, team, regulator_user):
    with refused("too_few_inspectors", 422):
        make_task(enterprise=enterprise, team=[team[0], team[0]], actor=regulator_user)


def test_it_refuses_an_inspector_out_of_jurisdiction(enterprise, team, far_inspector, regulator_user):
    with refused("inspector_out_of_scope", 422) as excinfo:
        make_task(enterprise=enterprise, team=[team[0], far_inspector], actor=regulator_user)
    assert far_inspector.certificate_no in excinfo.value.message


def test_it_refuses_an_inactive_inspector(enterprise, team, regulator_user):
    team[1].active = False
    team[1].save()
    with refused("inspector_out_of_scope", 422):
        make_task(enterprise=enterprise, team=team, actor=regulator_user)


def test_it_refuses_a_reversed_window(enterprise, team, regulator_user):
    today = timezone.localdate()
    with refused("invalid_window", 422):
        make_task(
            enterprise=enterprise,
            team=team,
            actor=regulator_user,
            due_from=today + timedelta(days=3),
            due_to=today + timedelta(days=1),
        )


def test_it_refuses_a_window_in_the_past(enterprise, team, regulator_user):
    today = timezone.localdate()
    with refused("window_in_past", 422):
        make_task(
            enterprise=enterprise,
            team=team,
            actor=regulator_user,
            due_from=today - timedelta(days=5),
            due_to=today - timedelta(days=1),
        )


def test_a_window_ending_today_is_fine(enterprise, team, regulator_user):
    today = timezone.localdate()
    task = make_task(
        enterprise=enterprise,
        team=team,
        actor=regulator_user,
        due_from=today - timedelta(days=3),
        due_to=today,
    )
    assert task.due_to == today


def test_it_refuses_an_unknown_source(enterprise, team, regulator_user):
    with refused("invalid_source", 422):
        make_task(enterprise=enterprise, team=team, actor=regulator_user, source="whim")


# --- task_cancel --------------------------------------------------------------------------------------


def test_a_regulator_cancels_a_planned_task(task, regulator_user):
    task = workflow.task_cancel(task=task, actor=regulator_user, reason="  closed for renovation ")

    task.refresh_from_db()
    assert task.status == InspectionTask.Status.CANCELLED
    assert task.cancel_reason == "closed for renovation"
    assert task.cancelled_by == regulator_user
    assert events("task.cancel", task).get().data == {"reason": "closed for renovation"}


def test_cancelling_needs_a_reason(task, regulator_user):
    with refused("reason_required", 422):
        workflow.task_cancel(task=task, actor=regulator_user, reason="   ")


def test_inspectors_do_not_cancel_tasks(task, lead):
    with refused("forbidden", 403):
        workflow.task_cancel(task=task, actor=lead, reason="tired")


def test_a_done_task_is_not_cancellable(submitted_inspection, regulator_user):
    with refused("not_cancellable", 409):
        workflow.task_cancel(task=submitted_inspection.task, actor=regulator_user, reason="oops")


def test_a_cancelled_task_is_not_cancelled_twice(task, regulator_user):
    workflow.task_cancel(task=task, actor=regulator_user, reason="first")
    with refused("not_cancellable", 409):
        workflow.task_cancel(task=task, actor=regulator_user, reason="second")


def test_a_running_task_can_be_cancelled_and_its_draft_is_frozen(inspection, lead, team, regulator_user):
    item = next(iter(items_of(inspection).values()))
    workflow.task_cancel(task=inspection.task, actor=regulator_user, reason="wrong address")

    with refused("task_cancelled", 409):
        workflow.inspection_answer(
            inspection=inspection, actor=lead, item_id=item.pk, result=Result.COMPLIANT
        )
    with refused("task_cancelled", 409):
        workflow.inspection_sign(
            inspection=inspection, actor=lead, role="inspector", image=png_bytes(), inspector=team[0]
        )


def test_a_ready_draft_of_a_cancelled_task_cannot_be_submitted(ready, lead, regulator_user):
    workflow.task_cancel(task=ready.task, actor=regulator_user, reason="wrong address")
    with refused("task_cancelled", 409):
        submit(ready, lead)
    assert InspectionTask.objects.get(pk=ready.task_id).status == InspectionTask.Status.CANCELLED


# --- inspection_start ---------------------------------------------------------------------------------


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


# --- inspection_answer --------------------------------------------------------------------------------


def test_an_answer_autosaves_and_keeps_what_is_not_sent(inspection, lead, team):
    item = items_of(inspection)["mar-1"]
    workflow.inspection_answer(
        inspection=inspection, actor=lead, item_id=item.pk, result=Result.NON_COMPLIANT, note=" dirty "
    )
    answer = workflow.inspection_answer(
        inspection=inspection, actor=team[1].user, item_id=item.pk, photos=[jpeg(), jpeg(color="blue")]
    )

    answer.refresh_from_db()
    assert (answer.result, answer.note, answer.updated_by) == (Result.NON_COMPLIANT, "dirty", team[1].user)
    assert answer.photos.count() == 2
    assert InspectionAnswer.objects.count() == 1


def test_it_refuses_an_unknown_result(inspection, lead):
    item = items_of(inspection)["mar-1"]
    with refused("invalid_result", 422):
        workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, result="maybe")


def test_a_first_answer_needs_a_result(inspection, lead):
    item = items_of(inspection)["mar-1"]
    with refused("invalid_result", 422):
        workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, photos=[jpeg()])


def test_it_refuses_an_item_of_another_checklist(inspection, lead):
    fire = make_checklist("catering", "fire_rescue", items=1)
    for item_id in (fire.items.get().pk, 987654321):
        with refused("item_not_in_snapshot", 422):
            workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item_id, result="compliant")


def test_it_refuses_an_item_that_does_not_apply_to_the_enterprise(
    enterprise, team, regulator_user, lead, loop_checklist
):
    ChecklistItem.objects.filter(checklist=loop_checklist, code="mar-3").update(applies_if="online_delivery")
    inspection = workflow.inspection_start(
        task=make_task(enterprise=enterprise, team=team, actor=regulator_user), actor=lead
    )
    delivery_item = loop_checklist.items.get(code="mar-3")

    assert list(items_of(inspection)) == ["mar-1", "mar-2"]
    with refused("item_not_in_snapshot", 422):
        workflow.inspection_answer(
            inspection=inspection, actor=lead, item_id=delivery_item.pk, result="compliant"
        )
    make_ready(inspection, lead, team)
    assert submit(inspection, lead).status == Inspection.Status.SUBMITTED


def test_a_submitted_record_takes_no_more_answers(submitted_inspection, lead):
    item = items_of(submitted_inspection)["mar-3"]
    with refused("already_submitted", 409):
        workflow.inspection_answer(
            inspection=submitted_inspection, actor=lead, item_id=item.pk, result=Result.NON_COMPLIANT
        )


@pytest.mark.parametrize("who", ["inspector_user", "regulator_user", "business_user"])
def test_only_assigned_inspectors_answer(request, inspection, who):
    item = items_of(inspection)["mar-1"]
    with refused("not_assigned", 403):
        workflow.inspection_answer(
            inspection=inspection, actor=request.getfixturevalue(who), item_id=item.pk, result="compliant"
        )


def test_at_most_five_photos_per_item(inspection, lead):
    item = items_of(inspection)["mar-1"]
    with refused("too_many_photos", 422):
        workflow.inspection_answer(
            inspection=inspection, actor=lead, item_id=item.pk, result="compliant", photos=[jpeg()] * 6
        )
    workflow.inspection_answer(
        inspection=inspection,
        actor=lead,
        item_id=item.pk,
        result="compliant",
        photos=[jpeg(color=c) for c in ("red", "green", "blue", "white", "black")],
    )
    # The sixth is refused after it was decoded and stored: its files are removed again.
    with refused("too_many_photos", 422):
        workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, photos=[jpeg()])
    assert Photo.objects.count() == 5


def test_a_fake_photo_is_refused_and_nothing_is_stored(inspection, lead):
    item = items_of(inspection)["mar-1"]
    with refused("not_an_image", 422):
        workflow.inspection_answer(
            inspection=inspection,
            actor=lead,
            item_id=item.pk,
            result="compliant",
            photos=[jpeg(), fake_jpeg()],
        )
    assert not Photo.objects.exists()


def test_it_refuses_a_note_too_long(inspection, lead):
    item = items_of(inspection)["mar-1"]
    with refused("note_too_long", 422):
        workflow.inspection_answer(
            inspection=inspection, actor=lead, item_id=item.pk, result="compliant", note="x" * 2001
        )


# --- signatures and refusal ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [b"", b"not a png", jpeg_bytes(size=(60, 30)), png_bytes(size=(5, 5)), png_bytes()[:40]],
    ids=["empty", "garbage", "jpeg", "too-small", "truncated"],
)
def test_it_refuses_a_signature_that_is_not_a_sane_png(inspection, lead, team, image):
    with refused("invalid_signature", 422):
        workflow.inspection_sign(
            inspection=inspection, actor=lead, role="inspector", image=image, inspector=team[0]
        )


def test_only_assigned_inspectors_sign_as_inspector(inspection, lead, inspector_user):
    with refused("not_assigned", 422):
        workflow.inspection_sign(
            inspection=inspection, actor=lead, role="inspector", image=png_bytes(), inspector=None
        )
    with refused("not_assigned", 422):
        workflow.inspection_sign(
            inspection=inspection,
            actor=lead,
            role="inspector",
            image=png_bytes(),
            inspector=inspector_user.inspector,
        )
    with refused("not_assigned", 403):
        workflow.inspection_sign(
            inspection=inspection,
            actor=inspector_user,
            role="inspector",
            image=png_bytes(),
            inspector=inspector_user.inspector,
        )


def test_it_refuses_an_unknown_signer(inspection, lead):
    with refused("invalid_signature", 422):
        workflow.inspection_sign(inspection=inspection, actor=lead, role="witness", image=png_bytes())


def test_signing_again_replaces_the_signature(inspection, lead, team):
    first = workflow.inspection_sign(
        inspection=inspection, actor=lead, role="inspector", image=png_bytes(), inspector=team[0]
    )
    second = workflow.inspection_sign(
        inspection=inspection, actor=lead, role="inspector", image=png_bytes(color="navy"), inspector=team[0]
    )

    assert list(Signature.objects.all()) == [second]
    assert second.sha256 == hashlib.sha256(png_bytes(color="navy")).hexdigest() != first.sha256
    assert second.image.read() == png_bytes(color="navy")


def test_a_refusal_replaces_the_representative_signature_and_the_other_way_round(inspection, lead):
    workflow.inspection_sign(inspection=inspection, actor=lead, role="representative", image=png_bytes())
    workflow.inspection_record_refusal(inspection=inspection, actor=lead, note=" walked away ")

    inspection.refresh_from_db()
    assert (inspection.representative_refused, inspection.refusal_note) == (True, "walked away")
    assert not Signature.objects.filter(role="representative").exists()

    workflow.inspection_sign(inspection=inspection, actor=lead, role="representative", image=png_bytes())
    inspection.refresh_from_db()
    assert (inspection.representative_refused, inspection.refusal_note) == (False, "")


def test_a_refusal_needs_a_note(inspection, lead):
    with refused("reason_required", 422):
        workflow.inspection_record_refusal(inspection=inspection, actor=lead, note="  ")


def test_a_recorded_refusal_stands_in_for_the_representative(inspection, lead, team):
    answer_all(inspection, lead)
    sign_all(inspection, lead, team, representative=False)
    record = submit(inspection, lead, "pass")
    assert record.status == Inspection.Status.SUBMITTED
    assert record.representative_refused


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
    before = _state()

    again = submit(ready, team[1].user, "rectify", submission_id=submission_id)

    assert again.pk == first.pk and again.content_hash == first.content_hash
    assert _state() == before
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


@pytest.fixture
def rectified(order, business_user):
    rectify(order, business_user)
    order.refresh_from_db()
    return order


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


def _orders_api(user, **query):
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/orders", query)
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["items"]]


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
    assert order.number in task.note
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


# --- evaluation ---------------------------------------------------------------------------------------


def test_the_business_rates_the_inspection_once(submitted_inspection, business_user):
    evaluation = workflow.evaluation_submit(
        inspection=submitted_inspection, actor=business_user, rating=4, comment=" polite "
    )

    assert (evaluation.rating, evaluation.comment, evaluation.created_by) == (4, "polite", business_user)
    assert events("inspection.evaluate", submitted_inspection).get().data == {"rating": 4}
    with refused("already_rated", 409):
        workflow.evaluation_submit(inspection=submitted_inspection, actor=business_user, rating=1)


@pytest.mark.parametrize("who", ["other_member", "lead", "regulator_user", "admin_user"])
def test_only_the_inspected_business_rates(request, submitted_inspection, who):
    with refused("not_member", 403):
        workflow.evaluation_submit(
            inspection=submitted_inspection, actor=request.getfixturevalue(who), rating=5
        )


def test_a_draft_cannot_be_rated(inspection, business_user):
    with refused("not_submitted", 409):
        workflow.evaluation_submit(inspection=inspection, actor=business_user, rating=5)


@pytest.mark.parametrize("rating", [0, 6, -1, "5", 4.5, None])
def test_ratings_run_from_one_to_five(submitted_inspection, business_user, rating):
    with refused("invalid_rating", 422):
        workflow.evaluation_submit(inspection=submitted_inspection, actor=business_user, rating=rating)


def test_an_evaluation_comment_has_a_limit(submitted_inspection, business_user):
    with refused("note_too_long", 422):
        workflow.evaluation_submit(
            inspection=submitted_inspection, actor=business_user, rating=3, comment="x" * 1001
        )


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
