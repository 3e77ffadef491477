"""Self-inspection (一业一单 for the business itself): start or resume, answer, submit, fix.

Every transition of a self-inspection and of its self-identified issues lives here; the API and
the pages only parse, call one of these and render. Refusals are DomainErrors with a code.

Decisions the callers rely on:
- Save and come back: starting while a draft exists returns that draft, still on the checklist
  versions it started on, however many versions were published since. Only creating is audited.
- Answers are autosaved and not audited one by one (a draft changes all the time); the submit
  is, with the SHA-256 of the submitted content, so the record can be proven unchanged later.
- Who may do what: a row the user may not see is "not_found" (404) upstream; members of the
  enterprise write; officials who can see a submitted self-inspection get "not_member" (403).
- A retried submit (lost response on a poor connection) by the user who submitted returns the
  record unchanged: no second audit event, no second set of issues. With a nonce, only the same
  nonce counts as a retry; anyone else, or another nonce, gets "already_submitted" (409).
- Fixing a self-identified issue needs a note saying what was done; photos are optional (up to
  MAX_PHOTOS), because some fixes (training, a filed document) have nothing to photograph.
- Photos are validated before anything is written and stored before the row lock is taken
  (decoding never holds the database's write lock); when the locked write is refused after all,
  the stored photos are removed again.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from checklists.models import Checklist, ChecklistItem
from checklists.selectors import scene_checklist
from core.audit import audit_record, canonical, content_digest, part_digests
from core.errors import DomainError, NotFound
from core.models import Enterprise, Photo
from core.permissions import can_see_enterprise, is_member
from core.photos import photo_ingest, photos_discard, validate_photo_upload
from supervision.models import Result, SelfIdentifiedIssue, SelfInspection, SelfInspectionAnswer

# The reads live in selectors.py; supervision.landing.panels and the tests still import these from here.
from supervision.self_inspection.selectors import (
    self_inspection_latest_submitted as self_inspection_latest_submitted,
)
from supervision.self_inspection.selectors import self_inspection_progress as self_inspection_progress
from supervision.self_inspection.selectors import self_inspection_sheet as self_inspection_sheet
from supervision.self_inspection.selectors import self_issues_of as self_issues_of

NOTE_MAX = 2000
MAX_PHOTOS = 5


# --- refusals ---------------------------------------------------------------------------------------


def _require_member(user, enterprise: Enterprise) -> None:
    if not is_member(user, enterprise):
        raise DomainError(_("Only members of this business may do this."), code="not_member", status=403)


def _require_draft(self_inspection: SelfInspection) -> None:
    if self_inspection.status != SelfInspection.Status.DRAFT:
        raise DomainError(
            _("This self-inspection has been submitted and can no longer be changed."),
            code="already_submitted",
            status=409,
        )


def _check_note(note: str) -> None:
    if len(note) > NOTE_MAX:
        raise DomainError(
            _("A note can be at most %(n)d characters.") % {"n": NOTE_MAX},
            code="note_too_long",
            details={"max_length": NOTE_MAX},
            status=422,
        )


def _check_photo_count(count: int) -> None:
    if count > MAX_PHOTOS:
        raise DomainError(
            _("At most %(n)d photos.") % {"n": MAX_PHOTOS},
            code="too_many_photos",
            details={"max_photos": MAX_PHOTOS},
            status=422,
        )


# --- photos -----------------------------------------------------------------------------------------


def _validate_photos(uploads: Sequence) -> None:
    for upload in uploads:
        validate_photo_upload(upload)


def _ingest_photos(uploads: Sequence, user) -> list[Photo]:
    stored: list[Photo] = []
    try:
        for upload in uploads:
            stored.append(photo_ingest(upload=upload, uploaded_by=user))
    except BaseException:
        photos_discard(stored)
        raise
    return stored


# --- start ------------------------------------------------------------------------------------------


def _version_labels(checklists: Iterable[Checklist]) -> list[dict]:
    return sorted(
        ({"department": c.department.code, "version": c.version} for c in checklists),
        key=lambda label: (label["department"], label["version"]),
    )


def self_inspection_start(*, enterprise: Enterprise, user) -> tuple[SelfInspection, bool]:
    """Resume the enterprise's draft, or start one on the scene's current checklist versions.

    Returns ``(self_inspection, created)``.
    """
    if not is_member(user, enterprise):
        if not can_see_enterprise(user, enterprise):
            raise NotFound(_("No such enterprise."), code="not_found")
        _require_member(user, enterprise)
    with transaction.atomic():
        # Two phones starting at once: the second waits here and then finds the first one's draft.
        # of=self: lock the enterprise row only, not the scene every business of the industry shares.
        enterprise = (
            Enterprise.objects.select_for_update(of=("self",)).select_related("scene").get(pk=enterprise.pk)
        )
        draft = SelfInspection.objects.filter(
            enterprise=enterprise, status=SelfInspection.Status.DRAFT
        ).first()
        if draft is not None:
            return draft, False
        merged = scene_checklist(scene=enterprise.scene, enterprise=enterprise)
        if not merged.items:
            raise DomainError(
                _("There is no published checklist for this business's industry yet."),
                code="no_checklist",
                status=409,
            )
        self_inspection = SelfInspection.objects.create(enterprise=enterprise, started_by=user)
        self_inspection.checklists.set(merged.checklists)
        audit_record(
            actor=user,
            action="self_inspection.start",
            target=self_inspection,
            data={
                "enterprise": enterprise.uscc,
                "checklists": _version_labels(merged.checklists),
                "items": len(merged.items),
            },
        )
    return self_inspection, True


# --- answer -----------------------------------------------------------------------------------------


def _applicable_item(self_inspection: SelfInspection, item_id) -> ChecklistItem:
    """The item, if it belongs to the self-inspection's own versions and applies to the enterprise."""
    try:
        item_pk = int(item_id)
    except (TypeError, ValueError):
        item_pk = None
    item = None
    if item_pk is not None:
        item = (
            ChecklistItem.objects.filter(pk=item_pk, checklist__in=self_inspection.checklists.all())
            .select_related("checklist__department")
            .first()
        )
    if item is None or not item.applies_to(self_inspection.enterprise):
        raise DomainError(
            _("This item is not part of this self-inspection."),
            code="item_not_in_version",
            details={"item_id": item_id},
            status=422,
        )
    return item


def _invalid_result() -> DomainError:
    return DomainError(
        _("Choose compliant, not compliant or not applicable."),
        code="invalid_result",
        details={"accepted": list(Result.values)},
        status=422,
    )


def self_inspection_answer(
    *,
    self_inspection: SelfInspection,
    user,
    item_id,
    result: str | None = None,
    note: str | None = None,
    photos: Sequence = (),
) -> SelfInspectionAnswer:
    """Create or update the answer to one item (autosave); photos are appended.

    ``result`` or ``note`` None keeps what is stored (adding a photo to an answered item);
    a new answer needs a result.
    """
    photos = list(photos)
    _require_member(user, self_inspection.enterprise)
    _require_draft(self_inspection)
    item = _applicable_item(self_inspection, item_id)
    if result is not None and result not in Result.values:
        raise _invalid_result()
    if note is not None:
        note = note.strip()
        _check_note(note)
    existing = SelfInspectionAnswer.objects.filter(self_inspection=self_inspection, item=item).first()
    if result is None and existing is None:
        raise _invalid_result()
    if photos:
        _check_photo_count(len(photos) + (existing.photos.count() if existing else 0))
        _validate_photos(photos)
    stored = _ingest_photos(photos, user)
    try:
        with transaction.atomic():
            locked = SelfInspection.objects.select_for_update(of=("self",)).get(pk=self_inspection.pk)
            _require_draft(locked)  # submitted while the photos were being stored
            answer = SelfInspectionAnswer.objects.filter(self_inspection=locked, item=item).first()
            if answer is None:
                if result is None:
                    raise _invalid_result()
                answer = SelfInspectionAnswer(
                    self_inspection=locked, item=item, result=result, note=note or ""
                )
                answer.save()
            else:
                if stored:
                    _check_photo_count(answer.photos.count() + len(stored))
                answer.result = result if result is not None else answer.result
                answer.note = note if note is not None else answer.note
                answer.save(update_fields=["result", "note", "updated_at"])
            if stored:
                answer.photos.add(*stored)
    except BaseException:
        photos_discard(stored)
        raise
    return answer


@dataclass(frozen=True)
class AnswerChange:
    """One item of the page form whose answer differs from what is stored."""

    item_id: int
    result: str | None
    note: str | None
    photos: Sequence = ()


def self_inspection_answers_save(
    *, self_inspection: SelfInspection, user, changes: Iterable[AnswerChange]
) -> dict[int, DomainError]:
    """Save the page form's changed answers one by one (self_inspection_answer), so that an item that
    is refused does not cost the business the others: returns the refusals by item id. A refusal of
    the whole self-inspection (submitted meanwhile from another phone, or not a member) is raised."""
    refusals: dict[int, DomainError] = {}
    for change in changes:
        try:
            self_inspection_answer(
                self_inspection=self_inspection,
                user=user,
                item_id=change.item_id,
                result=change.result,
                note=change.note,
                photos=change.photos,
            )
        except DomainError as exc:
            if exc.code in {"already_submitted", "not_member"}:
                raise
            refusals[change.item_id] = exc
    return refusals


# --- submit -----------------------------------------------------------------------------------------


def _content_answers(*, many: bool = False) -> QuerySet[SelfInspectionAnswer]:
    """The answers in the content's order. ``many``: for thousands of records at once, the items
    are fetched once each and shared, not joined into every answer."""
    items = ChecklistItem.objects.select_related("checklist__department")
    answers = (
        SelfInspectionAnswer.objects.prefetch_related(Prefetch("item", queryset=items))
        if many
        else SelfInspectionAnswer.objects.select_related("item__checklist__department")
    )
    # Many: into a list per answer (no related manager built for each of a million answers).
    photos = Prefetch(
        "photos", queryset=Photo.objects.order_by("pk"), to_attr="content_photos" if many else None
    )
    return answers.prefetch_related(photos).order_by(
        "item__checklist__department__code", "item__position", "item__pk"
    )


def _photos(answer: SelfInspectionAnswer) -> Iterable[Photo]:
    photos = getattr(answer, "content_photos", None)
    return answer.photos.all() if photos is None else photos


def _answers_in_order(self_inspection: SelfInspection) -> Iterable[SelfInspectionAnswer]:
    prefetched = getattr(self_inspection, "content_answers", None)
    if prefetched is not None:
        return prefetched
    return _content_answers().filter(self_inspection=self_inspection)


def self_inspection_content_prefetch() -> list[Prefetch]:
    """What self_inspection_content reads, to prefetch when checking many at once
    (supervision.self_inspection.integrity, for verify_audit); the queryset also needs
    select_related("enterprise")."""
    return [
        Prefetch("answers", queryset=_content_answers(many=True), to_attr="content_answers"),
        Prefetch(
            "checklists",
            queryset=Checklist.objects.select_related("department"),
            to_attr="content_checklists",
        ),
    ]


def self_inspection_content(*, self_inspection: SelfInspection) -> dict:
    """What a submit certifies, as plain data: the versions answered and every answer.
    verify_audit recomputes it from the stored rows (self_inspection_content_prefetch's)."""
    checklists = getattr(self_inspection, "content_checklists", None)
    if checklists is None:
        checklists = self_inspection.checklists.select_related("department")
    return {
        "enterprise": self_inspection.enterprise.uscc,
        "checklists": _version_labels(checklists),
        "items": [
            {
                "department": answer.item.checklist.department.code,
                "code": answer.item.code,
                "result": answer.result,
                "note": answer.note,
                "photos": [photo.sha256 for photo in _photos(answer)],
            }
            for answer in _answers_in_order(self_inspection)
        ],
    }


def self_inspection_content_hash(*, self_inspection: SelfInspection) -> str:
    """SHA-256 of the canonical JSON of the content; recomputing it later proves nothing changed."""
    content = canonical(self_inspection_content(self_inspection=self_inspection))
    return hashlib.sha256(content.encode()).hexdigest()


def _submit_nonce(self_inspection: SelfInspection) -> str | None:
    data = _submit_events(self_inspection).values_list("data", flat=True).first()
    return (data or {}).get("nonce")


def _submit_events(self_inspection: SelfInspection):
    from core.models import AuditEvent

    return AuditEvent.objects.filter(
        target_type=SelfInspection._meta.label_lower,
        target_id=str(self_inspection.pk),
        action="self_inspection.submit",
    )


def _is_retry(self_inspection: SelfInspection, user, nonce: str | None) -> bool:
    if self_inspection.submitted_by_id != user.pk:
        return False
    return nonce is None or nonce == _submit_nonce(self_inspection)


@transaction.atomic
def self_inspection_submit(
    *, self_inspection: SelfInspection, user, nonce: str | None = None
) -> SelfInspection:
    """Certify the answers: every applicable item answered, content hashed into the audit chain,
    an issue opened for every non-compliant answer. Nothing changes afterwards."""
    _require_member(user, self_inspection.enterprise)
    self_inspection = (
        SelfInspection.objects.select_for_update(of=("self",))
        .select_related("enterprise__scene")
        .get(pk=self_inspection.pk)
    )
    if self_inspection.status == SelfInspection.Status.SUBMITTED:
        if _is_retry(self_inspection, user, nonce):
            return self_inspection
        _require_draft(self_inspection)
    enterprise = self_inspection.enterprise
    merged = scene_checklist(
        scene=enterprise.scene, enterprise=enterprise, checklists=self_inspection.checklists.all()
    )
    applicable = {item.pk for item in merged.items}
    answered = set(
        SelfInspectionAnswer.objects.filter(self_inspection=self_inspection).values_list("item_id", flat=True)
    )
    missing = [item for item in merged.items if item.pk not in answered]
    if missing:
        raise DomainError(
            _("Answer every item before submitting (%(n)d left).") % {"n": len(missing)},
            code="incomplete",
            details={"missing": [item.code for item in missing], "item_ids": [item.pk for item in missing]},
            status=422,
        )
    # Items that stopped applying while the draft was open (the enterprise's features changed):
    # not asked any more, so not part of what is certified.
    _total, deleted = (
        SelfInspectionAnswer.objects.filter(self_inspection=self_inspection)
        .exclude(item_id__in=applicable)
        .delete()
    )
    dropped = deleted.get(SelfInspectionAnswer._meta.label, 0)
    content = self_inspection_content(self_inspection=self_inspection)
    content_hash = content_digest(content)
    non_compliant = list(
        SelfInspectionAnswer.objects.filter(self_inspection=self_inspection, result=Result.NON_COMPLIANT)
    )
    SelfIdentifiedIssue.objects.bulk_create(
        [SelfIdentifiedIssue(answer=answer, enterprise=enterprise) for answer in non_compliant]
    )
    self_inspection.status = SelfInspection.Status.SUBMITTED
    self_inspection.submitted_at = timezone.now()
    self_inspection.submitted_by = user
    self_inspection.content_hash = content_hash
    self_inspection.save(update_fields=["status", "submitted_at", "submitted_by", "content_hash"])
    counts = dict.fromkeys(Result.values, 0)
    for result in SelfInspectionAnswer.objects.filter(self_inspection=self_inspection).values_list(
        "result", flat=True
    ):
        counts[result] += 1
    data = {
        "enterprise": enterprise.uscc,
        "content_hash": content_hash,
        "parts": part_digests(content),
        "checklists": _version_labels(self_inspection.checklists.select_related("department")),
        "items": sum(counts.values()),
        **counts,
        "issues": len(non_compliant),
    }
    if dropped:
        data["dropped_answers"] = dropped
    if nonce:
        data["nonce"] = nonce
    audit_record(actor=user, action="self_inspection.submit", target=self_inspection, data=data)
    return self_inspection


# --- self-identified issues -------------------------------------------------------------------------


def self_issue_fix(
    *, issue: SelfIdentifiedIssue, user, note: str, evidence: Sequence = ()
) -> SelfIdentifiedIssue:
    """The business fixed what it found itself: open -> fixed, with what was done and optional photos."""
    evidence = list(evidence)
    _require_member(user, issue.enterprise)
    if issue.status != SelfIdentifiedIssue.Status.OPEN:
        raise _already_fixed()
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say what was done."), code="note_required", status=422)
    _check_note(note)
    _check_photo_count(len(evidence))
    _validate_photos(evidence)
    stored = _ingest_photos(evidence, user)
    try:
        with transaction.atomic():
            issue = (
                SelfIdentifiedIssue.objects.select_for_update(of=("self",))
                .select_related("enterprise", "answer__item__checklist__department")
                .get(pk=issue.pk)
            )
            if issue.status != SelfIdentifiedIssue.Status.OPEN:
                raise _already_fixed()
            issue.status = SelfIdentifiedIssue.Status.FIXED
            issue.fixed_at = timezone.now()
            issue.fixed_by = user
            issue.fix_note = note
            issue.save(update_fields=["status", "fixed_at", "fixed_by", "fix_note"])
            if stored:
                issue.evidence.add(*stored)
            audit_record(
                actor=user,
                action="self_issue.fix",
                target=issue,
                data={
                    "enterprise": issue.enterprise.uscc,
                    "self_inspection": issue.answer.self_inspection_id,
                    "department": issue.answer.item.checklist.department.code,
                    "item": issue.answer.item.code,
                    "evidence": [photo.sha256 for photo in stored],
                },
            )
    except BaseException:
        photos_discard(stored)
        raise
    return issue


def _already_fixed() -> DomainError:
    return DomainError(_("This issue has already been marked fixed."), code="already_fixed", status=409)
