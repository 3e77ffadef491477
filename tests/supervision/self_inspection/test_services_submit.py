"""The self-inspection writes (supervision/self_inspection/services.py), submitting and fixing:
the certified content and its hash, the retry, and marking the issues a submit opens fixed."""

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
from tests.factories import MembershipFactory, fake_jpeg, item_of, jpeg, jpeg_bytes

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


# --- self-identified issues -------------------------------------------------------------------------


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
