"""The self-inspection workflow (supervision.self_inspection.services): every transition and every refusal."""

import hashlib
import json
from contextlib import contextmanager

import pytest

from core.audit import verify_chain
from core.errors import DomainError
from core.models import AuditEvent, Photo
from core.photos import PhotoError
from supervision.models import Result, SelfIdentifiedIssue, SelfInspection, SelfInspectionAnswer
from supervision.self_inspection import services as service
from tests.factories import (
    FIRE_ITEMS,
    MARKET_ITEMS,
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


# --- versions and applicability ---------------------------------------------------------------------


def test_a_draft_keeps_its_versions_when_a_new_one_is_published(draft, business_user, editor, enterprise):
    new_items = [
        *MARKET_ITEMS[:1],
        {"code": "new-rule", "question": "新规？", "severity": "minor", "method": "ask"},
    ]
    v2 = publish_checklist(department="market_regulation", items=new_items, actor=editor)
    codes = [row.item.code for row in service.self_inspection_sheet(self_inspection=draft).rows]
    assert codes == ["extinguisher", "hand-washing", "licence-displayed"]
    with refused("item_not_in_version", 422):
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=v2.items.get(code="new-rule").pk,
            result="compliant",
        )
    # Resuming keeps the old versions too; the next self-inspection starts on the new one.
    assert service.self_inspection_start(enterprise=enterprise, user=business_user) == (draft, False)


def test_an_item_applies_when_the_business_has_the_feature(checklists, enterprise, business_user):
    enterprise.features = ["online_delivery"]
    enterprise.save()
    self_inspection, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    sheet = service.self_inspection_sheet(self_inspection=self_inspection)
    assert "delivery-seal" in [row.item.code for row in sheet.rows]
    assert (sheet.progress.answered, sheet.progress.total) == (0, 4)


def test_the_sheet_groups_by_department_with_clause_and_progress(draft, business_user):
    service.self_inspection_answer(
        self_inspection=draft,
        user=business_user,
        item_id=item_of(draft, "hand-washing").pk,
        result="compliant",
    )
    sheet = service.self_inspection_sheet(self_inspection=draft)
    assert [(row.department.code, row.item.code) for row in sheet.rows] == [
        ("fire_rescue", "extinguisher"),
        ("market_regulation", "hand-washing"),
        ("market_regulation", "licence-displayed"),
    ]
    assert sheet.rows[1].clause.code == "hygiene-1"
    assert sheet.rows[1].answer.result == "compliant"
    assert (sheet.progress.answered, sheet.progress.total) == (1, 3)
    assert service.self_inspection_progress(self_inspection=draft) == sheet.progress


# --- submit -----------------------------------------------------------------------------------------


def test_submit_certifies_the_answers(draft, business_user, answer_all):
    answer_all(draft, {"licence-displayed": Result.NON_COMPLIANT, "extinguisher": Result.NOT_APPLICABLE})
    done = service.self_inspection_submit(self_inspection=draft, user=business_user)
    done.refresh_from_db()
    assert done.status == SelfInspection.Status.SUBMITTED
    assert done.submitted_by == business_user and done.submitted_at is not None
    assert len(done.content_hash) == 64
    event = AuditEvent.objects.get(action="self_inspection.submit")
    assert event.actor == business_user and event.target_id == str(done.pk)
    assert event.data["content_hash"] == done.content_hash
    assert (event.data["items"], event.data["compliant"], event.data["non_compliant"]) == (3, 1, 1)
    assert (event.data["not_applicable"], event.data["issues"]) == (1, 1)
    assert verify_chain().ok


def test_submit_opens_an_issue_for_every_non_compliant_answer(draft, business_user, answer_all, enterprise):
    answer_all(draft, {"licence-displayed": Result.NON_COMPLIANT, "hand-washing": Result.NON_COMPLIANT})
    service.self_inspection_submit(self_inspection=draft, user=business_user)
    issues = SelfIdentifiedIssue.objects.order_by("answer__item__code")
    assert [(i.answer.item.code, i.status, i.enterprise) for i in issues] == [
        ("hand-washing", "open", enterprise),
        ("licence-displayed", "open", enterprise),
    ]


def test_the_content_hash_is_the_sha256_of_the_canonical_content(submitted, enterprise):
    answer = SelfInspectionAnswer.objects.get(item__code="hand-washing")
    content = service.self_inspection_content(self_inspection=submitted)
    assert content["enterprise"] == enterprise.uscc
    assert content["checklists"] == [
        {"department": "fire_rescue", "version": 1},
        {"department": "market_regulation", "version": 1},
    ]
    assert content["items"][1] == {
        "department": "market_regulation",
        "code": "hand-washing",
        "result": answer.result,
        "note": answer.note,
        "photos": [],
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert submitted.content_hash == hashlib.sha256(canonical.encode()).hexdigest()
    # Stable: recomputing from the stored rows gives the same hash.
    assert service.self_inspection_content_hash(self_inspection=submitted) == submitted.content_hash


def test_the_content_hash_covers_the_photos(draft, business_user, answer_all):
    answer_all(draft)
    service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item_of(draft, "extinguisher").pk, photos=[jpeg()]
    )
    content = service.self_inspection_content(self_inspection=draft)
    assert content["items"][0]["photos"] == [hashlib.sha256(jpeg_bytes()).hexdigest()]
    before = service.self_inspection_content_hash(self_inspection=draft)
    service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item_of(draft, "extinguisher").pk, photos=[jpeg()]
    )
    assert service.self_inspection_content_hash(self_inspection=draft) != before


def test_an_incomplete_self_inspection_is_refused_with_the_missing_items(draft, business_user):
    service.self_inspection_answer(
        self_inspection=draft,
        user=business_user,
        item_id=item_of(draft, "hand-washing").pk,
        result="compliant",
    )
    with refused("incomplete", 422) as info:
        service.self_inspection_submit(self_inspection=draft, user=business_user)
    assert info.value.details["missing"] == ["extinguisher", "licence-displayed"]
    assert info.value.details["item_ids"] == [
        item_of(draft, "extinguisher").pk,
        item_of(draft, "licence-displayed").pk,
    ]
    draft.refresh_from_db()
    assert draft.status == SelfInspection.Status.DRAFT
    assert not AuditEvent.objects.filter(action="self_inspection.submit").exists()


def test_a_retried_submit_by_the_same_user_returns_it_unchanged(submitted, business_user):
    events = AuditEvent.objects.count()
    again = service.self_inspection_submit(self_inspection=submitted, user=business_user)
    assert again.pk == submitted.pk and again.content_hash == submitted.content_hash
    assert again.submitted_at == SelfInspection.objects.get().submitted_at
    assert AuditEvent.objects.count() == events
    assert SelfIdentifiedIssue.objects.count() == 1


def test_a_nonce_identifies_the_retry(draft, business_user, answer_all):
    answer_all(draft)
    service.self_inspection_submit(self_inspection=draft, user=business_user, nonce="tap-1")
    assert AuditEvent.objects.get(action="self_inspection.submit").data["nonce"] == "tap-1"
    assert (
        service.self_inspection_submit(self_inspection=draft, user=business_user, nonce="tap-1").pk
        == draft.pk
    )
    with refused("already_submitted", 409):
        service.self_inspection_submit(self_inspection=draft, user=business_user, nonce="tap-2")


def test_a_second_submit_by_someone_else_is_refused(submitted, enterprise):
    colleague = MembershipFactory(enterprise=enterprise).user
    with refused("already_submitted", 409):
        service.self_inspection_submit(self_inspection=submitted, user=colleague)


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user", "outsider"])
def test_officials_and_outsiders_cannot_submit(request, role, draft, answer_all):
    answer_all(draft)
    with refused("not_member", 403):
        service.self_inspection_submit(self_inspection=draft, user=request.getfixturevalue(role))
    draft.refresh_from_db()
    assert draft.status == SelfInspection.Status.DRAFT


def test_answers_to_items_that_stopped_applying_are_left_out(
    checklists, enterprise, business_user, answer_all
):
    enterprise.features = ["online_delivery"]
    enterprise.save()
    self_inspection, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    answer_all(self_inspection)
    service.self_inspection_answer(
        self_inspection=self_inspection,
        user=business_user,
        item_id=item_of(self_inspection, "delivery-seal").pk,
        photos=[jpeg()],
    )
    enterprise.features = []
    enterprise.save()
    done = service.self_inspection_submit(self_inspection=self_inspection, user=business_user)
    assert [i["code"] for i in service.self_inspection_content(self_inspection=done)["items"]] == [
        "extinguisher",
        "hand-washing",
        "licence-displayed",
    ]
    assert AuditEvent.objects.get(action="self_inspection.submit").data["dropped_answers"] == 1


def test_the_latest_submitted_one_is_found_for_the_entity_card(
    submitted, enterprise, business_user, answer_all
):
    assert service.self_inspection_latest_submitted(enterprise=enterprise) == submitted
    newer, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    assert service.self_inspection_latest_submitted(enterprise=enterprise) == submitted
    answer_all(newer)
    service.self_inspection_submit(self_inspection=newer, user=business_user)
    assert service.self_inspection_latest_submitted(enterprise=enterprise) == newer


def test_no_submitted_one_yet(draft, enterprise):
    assert service.self_inspection_latest_submitted(enterprise=enterprise) is None


def test_a_submitted_sheet_shows_what_was_answered_even_if_features_change(submitted, enterprise):
    enterprise.features = ["online_delivery"]
    enterprise.save()
    sheet = service.self_inspection_sheet(self_inspection=submitted)
    assert [row.item.code for row in sheet.rows] == ["extinguisher", "hand-washing", "licence-displayed"]
    assert (sheet.progress.answered, sheet.progress.total) == (3, 3)


# --- self-identified issues -------------------------------------------------------------------------


@pytest.fixture
def issue(submitted):
    return SelfIdentifiedIssue.objects.get()


def test_a_member_marks_an_issue_fixed_with_a_note_and_photos(issue, business_user):
    fixed = service.self_issue_fix(
        issue=issue, user=business_user, note=" licence framed ", evidence=[jpeg()]
    )
    fixed.refresh_from_db()
    assert (fixed.status, fixed.fix_note, fixed.fixed_by) == ("fixed", "licence framed", business_user)
    assert fixed.fixed_at is not None
    assert [p.sha256 for p in fixed.evidence.all()] == [hashlib.sha256(jpeg_bytes()).hexdigest()]
    event = AuditEvent.objects.get(action="self_issue.fix")
    assert event.data["item"] == "licence-displayed"
    assert event.data["evidence"] == [hashlib.sha256(jpeg_bytes()).hexdigest()]
    assert verify_chain().ok


def test_a_note_alone_is_enough_to_mark_fixed(issue, business_user):
    fixed = service.self_issue_fix(issue=issue, user=business_user, note="staff trained")
    assert fixed.status == "fixed" and not fixed.evidence.exists()


@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_fix_needs_a_note(issue, business_user, note):
    with refused("note_required", 422):
        service.self_issue_fix(issue=issue, user=business_user, note=note, evidence=[jpeg()])
    issue.refresh_from_db()
    assert issue.status == "open"
    assert not Photo.objects.exists()


def test_a_fix_with_a_fake_photo_is_refused_and_nothing_is_written(issue, business_user, settings):
    with pytest.raises(PhotoError):
        service.self_issue_fix(issue=issue, user=business_user, note="done", evidence=[jpeg(), fake_jpeg()])
    issue.refresh_from_db()
    assert issue.status == "open" and issue.fix_note == ""
    assert not Photo.objects.exists()
    assert media_files(settings) == []
    assert not AuditEvent.objects.filter(action="self_issue.fix").exists()


def test_a_fix_takes_at_most_five_photos(issue, business_user):
    with refused("too_many_photos", 422):
        service.self_issue_fix(issue=issue, user=business_user, note="done", evidence=[jpeg()] * 6)


def test_fixing_twice_is_refused(issue, business_user):
    service.self_issue_fix(issue=issue, user=business_user, note="done")
    with refused("already_fixed", 409):
        service.self_issue_fix(issue=issue, user=business_user, note="again")
    issue.refresh_from_db()
    assert issue.fix_note == "done"
    assert AuditEvent.objects.filter(action="self_issue.fix").count() == 1


def test_fixing_a_stale_copy_twice_is_refused_under_the_lock(issue, business_user, settings):
    stale = SelfIdentifiedIssue.objects.get(pk=issue.pk)  # read before the first fix committed
    service.self_issue_fix(issue=issue, user=business_user, note="done")
    files = media_files(settings)
    with refused("already_fixed", 409):
        service.self_issue_fix(issue=stale, user=business_user, note="again", evidence=[jpeg()])
    assert media_files(settings) == files
    assert not Photo.objects.exists()


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user", "outsider"])
def test_officials_and_outsiders_cannot_mark_fixed(request, role, issue):
    with refused("not_member", 403):
        service.self_issue_fix(issue=issue, user=request.getfixturevalue(role), note="done")
    issue.refresh_from_db()
    assert issue.status == "open"


def test_issues_follow_the_visibility_of_their_self_inspection(issue, enterprise, inspector_user, outsider):
    assert list(service.self_issues_of(user=inspector_user, enterprise=enterprise)) == [issue]
    assert list(service.self_issues_of(user=outsider, enterprise=enterprise)) == []
    assert list(service.self_issues_of(user=inspector_user, enterprise=enterprise, status="fixed")) == []
    with refused("unknown_status", 422):
        service.self_issues_of(user=inspector_user, enterprise=enterprise, status="closed")
