"""What is written into an open record (supervision/inspections/services/answers.py): answers
and their photos, signatures and the representative's refusal."""

import hashlib

import pytest

from checklists.models import ChecklistItem
from core.models import Photo
from supervision.inspections import services as workflow
from supervision.models import (
    Inspection,
    InspectionAnswer,
    Result,
    Signature,
)
from tests.factories import (
    answer_all,
    fake_jpeg,
    items_of,
    jpeg,
    jpeg_bytes,
    make_checklist,
    make_ready,
    make_task,
    png_bytes,
    sign_all,
    submit,
)
from tests.factories.inspections import refused

pytestmark = pytest.mark.django_db


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
