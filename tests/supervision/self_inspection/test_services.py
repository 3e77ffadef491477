"""The self-inspection writes (supervision/self_inspection/services.py), starting and answering:
every transition and every refusal. Submitting and fixing are in test_services_submit.py."""

import hashlib
from contextlib import contextmanager

import pytest

from core.errors import DomainError
from core.models import AuditEvent, Photo
from core.photos import PhotoError
from supervision.models import Result, SelfInspection, SelfInspectionAnswer
from supervision.self_inspection import services as service
from tests.factories import (
    FIRE_ITEMS,
    MembershipFactory,
    fake_jpeg,
    item_of,
    jpeg,
    jpeg_bytes,
    publish_checklist,
)

pytestmark = pytest.mark.django_db


@contextmanager
def refused(code: str, status: int | None = None):
    """The block raises a DomainError with this code (and status)."""
    with pytest.raises(DomainError) as info:
        yield info
    assert info.value.code == code, info.value.code
    if status is not None:
        assert info.value.status == status


def media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- start ------------------------------------------------------------------------------------------


def test_a_member_starts_a_draft_on_the_current_versions(checklists, enterprise, business_user):
    self_inspection, created = service.self_inspection_start(enterprise=enterprise, user=business_user)
    assert created
    assert self_inspection.status == SelfInspection.Status.DRAFT
    assert self_inspection.started_by == business_user
    assert set(self_inspection.checklists.all()) == set(checklists)
    event = AuditEvent.objects.get(action="self_inspection.start")
    assert event.actor == business_user and event.target_id == str(self_inspection.pk)
    assert event.data["checklists"] == [
        {"department": "fire_rescue", "version": 1},
        {"department": "market_regulation", "version": 1},
    ]


def test_starting_again_resumes_the_draft_without_a_second_event(draft, enterprise, business_user):
    again, created = service.self_inspection_start(enterprise=enterprise, user=business_user)
    assert (again, created) == (draft, False)
    assert SelfInspection.objects.count() == 1
    assert AuditEvent.objects.filter(action="self_inspection.start").count() == 1


def test_another_member_of_the_same_business_resumes_the_same_draft(draft, enterprise):
    colleague = MembershipFactory(enterprise=enterprise).user
    again, created = service.self_inspection_start(enterprise=enterprise, user=colleague)
    assert (again, created) == (draft, False)


def test_after_a_submit_starting_makes_a_new_draft(submitted, enterprise, business_user):
    new, created = service.self_inspection_start(enterprise=enterprise, user=business_user)
    assert created and new != submitted and new.status == SelfInspection.Status.DRAFT


def test_it_refuses_to_start_without_a_published_checklist(enterprise, business_user):
    with refused("no_checklist", 409):
        service.self_inspection_start(enterprise=enterprise, user=business_user)
    assert not SelfInspection.objects.exists()
    assert not AuditEvent.objects.filter(action="self_inspection.start").exists()


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user"])
def test_officials_who_see_the_business_may_not_start_for_it(request, role, checklists, enterprise):
    with refused("not_member", 403):
        service.self_inspection_start(enterprise=enterprise, user=request.getfixturevalue(role))
    assert not SelfInspection.objects.exists()


def test_an_outsider_or_another_business_is_told_not_found(
    checklists, enterprise, other_enterprise, outsider
):
    other_member = MembershipFactory(enterprise=other_enterprise).user
    for user in (outsider, other_member):
        with refused("not_found", 404):
            service.self_inspection_start(enterprise=enterprise, user=user)
    assert not SelfInspection.objects.exists()


# --- answer -----------------------------------------------------------------------------------------


def test_an_answer_is_saved_and_updated_in_place(draft, business_user):
    item = item_of(draft, "hand-washing")
    answer = service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="non_compliant", note=" no soap "
    )
    assert (answer.result, answer.note) == ("non_compliant", "no soap")
    again = service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="compliant", note=""
    )
    assert again.pk == answer.pk
    assert SelfInspectionAnswer.objects.get().result == "compliant"
    assert SelfInspectionAnswer.objects.get().note == ""


def test_answers_are_not_audited_one_by_one(draft, business_user):
    before = AuditEvent.objects.count()
    service.self_inspection_answer(
        self_inspection=draft,
        user=business_user,
        item_id=item_of(draft, "extinguisher").pk,
        result="compliant",
    )
    assert AuditEvent.objects.count() == before


def test_leaving_result_or_note_out_keeps_what_is_stored(draft, business_user):
    item = item_of(draft, "hand-washing")
    service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="non_compliant", note="no soap"
    )
    answer = service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, photos=[jpeg()]
    )
    assert (answer.result, answer.note, answer.photos.count()) == ("non_compliant", "no soap", 1)


def test_a_real_photo_is_stored_with_its_hash(draft, business_user):
    answer = service.self_inspection_answer(
        self_inspection=draft,
        user=business_user,
        item_id=item_of(draft, "hand-washing").pk,
        result="compliant",
        photos=[jpeg(), jpeg(color="blue")],
    )
    photos = list(answer.photos.order_by("pk"))
    assert [p.sha256 for p in photos] == [
        hashlib.sha256(jpeg_bytes()).hexdigest(),
        hashlib.sha256(jpeg_bytes("blue")).hexdigest(),
    ]
    assert photos[0].uploaded_by == business_user


def test_a_fake_photo_is_refused_and_nothing_is_written(draft, business_user, settings):
    item = item_of(draft, "hand-washing")
    with pytest.raises(PhotoError) as info:
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=item.pk,
            result="compliant",
            note="fine",
            photos=[jpeg(), fake_jpeg()],
        )
    assert info.value.code == "not_an_image" and info.value.status == 422
    assert not SelfInspectionAnswer.objects.exists()
    assert not Photo.objects.exists()
    assert media_files(settings) == []


def test_a_refused_photo_leaves_the_existing_answer_as_it_was(draft, business_user):
    item = item_of(draft, "hand-washing")
    service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="compliant", note="ok"
    )
    with pytest.raises(PhotoError):
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=item.pk,
            result="non_compliant",
            note="changed",
            photos=[fake_jpeg()],
        )
    answer = SelfInspectionAnswer.objects.get()
    assert (answer.result, answer.note) == ("compliant", "ok")


def test_it_refuses_more_than_five_photos_per_answer(draft, business_user, settings):
    item = item_of(draft, "hand-washing")
    service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="compliant", photos=[jpeg()] * 4
    )
    with refused("too_many_photos", 422):
        service.self_inspection_answer(
            self_inspection=draft, user=business_user, item_id=item.pk, photos=[jpeg(), jpeg()]
        )
    assert Photo.objects.count() == 4
    assert len(media_files(settings)) == 12  # original, display copy and thumbnail of each


def test_it_refuses_an_answer_from_another_business(draft, other_enterprise):
    other_member = MembershipFactory(enterprise=other_enterprise).user
    with refused("not_member", 403):
        service.self_inspection_answer(
            self_inspection=draft,
            user=other_member,
            item_id=item_of(draft, "extinguisher").pk,
            result="compliant",
        )
    assert not SelfInspectionAnswer.objects.exists()


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user", "outsider"])
def test_officials_and_outsiders_cannot_answer(request, role, draft):
    with refused("not_member", 403):
        service.self_inspection_answer(
            self_inspection=draft,
            user=request.getfixturevalue(role),
            item_id=item_of(draft, "extinguisher").pk,
            result="compliant",
        )
    assert not SelfInspectionAnswer.objects.exists()


def test_it_refuses_an_answer_after_submit(submitted, business_user):
    item = item_of(submitted, "licence-displayed")
    with refused("already_submitted", 409):
        service.self_inspection_answer(
            self_inspection=submitted, user=business_user, item_id=item.pk, result="compliant"
        )
    assert SelfInspectionAnswer.objects.get(item=item).result == Result.NON_COMPLIANT


def test_it_refuses_a_photo_after_submit_and_keeps_no_file(submitted, business_user, settings):
    files = media_files(settings)
    with refused("already_submitted", 409):
        service.self_inspection_answer(
            self_inspection=submitted,
            user=business_user,
            item_id=item_of(submitted, "licence-displayed").pk,
            photos=[jpeg()],
        )
    assert media_files(settings) == files
    assert not Photo.objects.exists()


def test_a_photo_for_a_draft_submitted_meanwhile_is_refused_under_the_lock(
    draft, business_user, answer_all, settings
):
    stale = SelfInspection.objects.get(pk=draft.pk)  # read by a second phone before the submit
    answer_all(draft)
    service.self_inspection_submit(self_inspection=draft, user=business_user)
    files = media_files(settings)
    with refused("already_submitted", 409):
        service.self_inspection_answer(
            self_inspection=stale,
            user=business_user,
            item_id=item_of(draft, "extinguisher").pk,
            photos=[jpeg()],
        )
    assert media_files(settings) == files
    assert not Photo.objects.exists()


def test_it_refuses_an_item_of_another_version_or_scene(draft, business_user, editor):
    medical = publish_checklist(department="health", scene="medical", items=FIRE_ITEMS, actor=editor)
    for item_id in (medical.items.get().pk, 999_999, "abc", None):
        with refused("item_not_in_version", 422):
            service.self_inspection_answer(
                self_inspection=draft, user=business_user, item_id=item_id, result="compliant"
            )
    assert not SelfInspectionAnswer.objects.exists()


def test_it_refuses_an_item_that_does_not_apply_to_the_business(draft, business_user):
    with refused("item_not_in_version", 422):
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=item_of(draft, "delivery-seal").pk,
            result="compliant",
        )


@pytest.mark.parametrize("result", ["yes", "", "COMPLIANT", None])
def test_it_refuses_a_result_it_does_not_know(draft, business_user, result):
    with refused("invalid_result", 422):
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=item_of(draft, "extinguisher").pk,
            result=result,
        )


def test_it_refuses_a_note_longer_than_2000_characters(draft, business_user):
    item = item_of(draft, "extinguisher")
    with refused("note_too_long", 422):
        service.self_inspection_answer(
            self_inspection=draft, user=business_user, item_id=item.pk, result="compliant", note="x" * 2001
        )
    answer = service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="compliant", note="字" * 2000
    )
    assert len(answer.note) == 2000
