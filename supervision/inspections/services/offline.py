"""What a tablet did offline, accepted when it is back: its photos (each uploaded once under the
tablet's own id) and its journal of one inspection, replayed through the same steps as the online
record (start, answers, record fields, refusal, signatures, submit), so that every rule and every
audit event stays the same. docs/OFFLINE.md tells the protocol.

A journal is replayed whole or not at all (one transaction): a refusal leaves nothing half-written,
and the tablet keeps the work, shown with the refusal, until a person decides. Replaying it again
is harmless: every step carries the tablet's id (the record's, each answer's, each photo's, the
submission's) and what the server already has is not done twice.
"""

import base64
import binascii
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from checklists.models import Checklist, ChecklistItem
from core import permissions
from core.models import Inspector
from core.photos import photo_ingest, photos_discard
from supervision.inspections.services._common import _assigned_inspector, _refuse
from supervision.inspections.services.answers import (
    inspection_answer,
    inspection_record_refusal,
    inspection_sign,
    inspection_update,
)
from supervision.inspections.services.record import inspection_start, inspection_submit
from supervision.models import AnswerEvent, Inspection, InspectionTask, Signature, TabletPhoto

# --- the journal, as the service takes it (the API's schemas are in api/offline.py) --------------------


@dataclass(frozen=True)
class AnswerStep:
    id: uuid.UUID
    item: int
    result: str
    note: str
    at: datetime
    photos: Sequence[uuid.UUID] = ()


@dataclass(frozen=True)
class SignatureStep:
    role: str
    png_base64: str
    at: datetime
    inspector: int | None = None


@dataclass(frozen=True)
class RefusalStep:
    note: str
    at: datetime


@dataclass(frozen=True)
class SubmissionStep:
    id: uuid.UUID
    conclusion: str
    at: datetime
    rectify_deadline: datetime | None = None


@dataclass(frozen=True)
class Journal:
    """Everything one tablet did on one inspection, with the tablet's ids and clock."""

    inspection: uuid.UUID
    task: InspectionTask
    started_at: datetime
    checklists: Sequence[int]
    answers: Sequence[AnswerStep] = ()
    note: str | None = None
    representative_name: str | None = None
    refusal: RefusalStep | None = None
    signatures: Sequence[SignatureStep] = ()
    submission: SubmissionStep | None = None


@dataclass
class SyncOutcome:
    inspection: Inspection
    # What this replay added: answer events, whether it submitted the record.
    new_answers: int = 0
    submitted: bool = False
    replayed: bool = False
    skipped_signatures: list[str] = field(default_factory=list)


def _device_time(value: datetime, now: datetime) -> datetime:
    """The tablet's time as an aware datetime, never after the server's now: a tablet whose clock
    runs ahead must not win every later comparison (docs/OFFLINE.md, "Times")."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return min(value, now)


# --- photos --------------------------------------------------------------------------------------------


def _in_jurisdiction(actor, task: InspectionTask) -> None:
    if not permissions.can_see_enterprise(actor, task.enterprise):
        raise _refuse(_("This enterprise is no longer in your jurisdiction."), "out_of_jurisdiction", 403)


def _task_open(task: InspectionTask) -> None:
    if task.status == InspectionTask.Status.CANCELLED:
        raise _refuse(
            _("This task was cancelled: %(reason)s") % {"reason": task.cancel_reason},
            "task_cancelled",
            details={"reason": task.cancel_reason, "cancelled_at": task.cancelled_at},
        )


def _digest(upload) -> str:
    """SHA-256 of the upload's bytes, read up to the photo limit (a larger one is refused by
    photo_ingest afterwards), and the upload rewound."""
    digest, total, limit = hashlib.sha256(), 0, settings.PHOTO_MAX_BYTES
    upload.seek(0)
    while total <= limit and (chunk := upload.read(64 * 1024)):
        digest.update(chunk)
        total += len(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _same_photo(existing: TabletPhoto, *, actor, task, item_id, digest) -> TabletPhoto:
    if (
        existing.uploaded_by_id != actor.pk
        or existing.task_id != task.pk
        or existing.item_id != item_id
        or existing.photo.sha256 != digest
    ):
        raise _refuse(
            _("This photo id was already used for another photo."),
            "photo_id_reused",
            details={"photo": str(existing.client_id)},
        )
    return existing


def tablet_photo_put(
    *, actor, client_id: uuid.UUID, task: InspectionTask, item_id: int, upload, taken_at: datetime
) -> tuple[TabletPhoto, bool]:
    """Store a photo a tablet took, under the tablet's id for it; (photo, created). The same photo
    sent again (its answer was lost on the way) is found, not stored twice; another photo under a
    used id is refused. The caller is checked before the image is decoded."""
    _assigned_inspector(actor, task)
    _in_jurisdiction(actor, task)
    digest = _digest(upload)
    existing = TabletPhoto.objects.select_related("photo").filter(client_id=client_id).first()
    if existing is not None:
        return _same_photo(existing, actor=actor, task=task, item_id=item_id, digest=digest), False
    _task_open(task)
    if Inspection.objects.filter(task=task, status=Inspection.Status.SUBMITTED).exists():
        raise _refuse(_("This inspection is submitted and can no longer change."), "already_submitted")
    if not ChecklistItem.objects.filter(pk=item_id, checklist__scene_id=task.enterprise.scene_id).exists():
        raise _refuse(_("This item is not part of this inspection's checklist."), "item_not_in_snapshot", 422)
    photo = photo_ingest(upload=upload, uploaded_by=actor)
    try:
        with transaction.atomic():
            stored = TabletPhoto.objects.create(
                client_id=client_id,
                photo=photo,
                task=task,
                item_id=item_id,
                uploaded_by=actor,
                taken_at=_device_time(taken_at, timezone.now()),
            )
    except IntegrityError:
        # The same upload twice at once (a retry overtaking a slow first try): keep the first.
        photos_discard([photo])
        existing = TabletPhoto.objects.select_related("photo").get(client_id=client_id)
        return _same_photo(existing, actor=actor, task=task, item_id=item_id, digest=digest), False
    except BaseException:
        photos_discard([photo])
        raise
    return stored, True


# --- the journal ----------------------------------------------------------------------------------------


def _distinct(ids: list, what: str) -> None:
    if len(ids) != len(set(ids)):
        raise _refuse(_("The journal uses one id twice."), "duplicate_id", 422, {"what": what})


def _checklists(journal: Journal) -> list[Checklist]:
    found = list(Checklist.objects.select_related("department").filter(pk__in=journal.checklists))
    if not journal.checklists or len(found) != len(set(journal.checklists)):
        raise _refuse(
            _("These checklist versions cannot be used for this task."), "invalid_checklist_versions", 422
        )
    return found


def _record(journal: Journal, actor, now: datetime) -> Inspection:
    """The task's record: started from this journal (with the pinned versions), or the one already
    there, started online or by the other tablet of the pair, if it has the same versions."""
    task = journal.task
    other = Inspection.objects.filter(client_id=journal.inspection).exclude(task=task).first()
    if other is not None:
        raise _refuse(_("This inspection id belongs to another inspection."), "inspection_id_reused")
    pinned = _checklists(journal)
    existing = Inspection.objects.filter(task=task).first()
    if existing is None:
        return inspection_start(
            task=task,
            actor=actor,
            checklists=pinned,
            client_id=journal.inspection,
            device_at=_device_time(journal.started_at, now),
        )
    if set(existing.checklists.values_list("pk", flat=True)) != {c.pk for c in pinned}:
        raise _refuse(
            _(
                "This inspection was started with other checklist versions than this tablet's; "
                "take the day pack again and compare."
            ),
            "checklist_versions_differ",
            details={"record": sorted(existing.checklists.values_list("pk", flat=True))},
        )
    return existing


def _new_answers(journal: Journal, inspection: Inspection | None) -> list[AnswerStep]:
    """The journal's answers the server does not have yet; an id used by another record or item
    is refused."""
    known = {
        event.client_id: event
        for event in AnswerEvent.objects.filter(client_id__in=[a.id for a in journal.answers])
    }
    fresh = []
    for step in journal.answers:
        event = known.get(step.id)
        if event is None:
            fresh.append(step)
        elif inspection is None or event.inspection_id != inspection.pk or event.item_id != step.item:
            raise _refuse(
                _("This answer id was already used for another answer."),
                "answer_id_reused",
                details={"answer": str(step.id)},
            )
    return fresh


def _photos_for(journal: Journal, steps: list[AnswerStep], actor) -> dict[uuid.UUID, TabletPhoto]:
    wanted = [photo for step in steps for photo in step.photos]
    found = {p.client_id: p for p in TabletPhoto.objects.select_related("photo").filter(client_id__in=wanted)}
    missing = [str(photo) for photo in wanted if photo not in found]
    if missing:
        raise _refuse(
            _("Some photos of this journal have not been uploaded yet."),
            "photo_missing",
            422,
            {"missing": missing},
        )
    for step in steps:
        for photo_id in step.photos:
            photo = found[photo_id]
            if (
                photo.task_id != journal.task.pk
                or photo.item_id != step.item
                or photo.uploaded_by_id != actor.pk
            ):
                raise _refuse(
                    _("This photo id was already used for another photo."),
                    "photo_id_reused",
                    details={"photo": str(photo_id)},
                )
    return found


def _signature_png(step: SignatureStep) -> bytes:
    raw = step.png_base64.split(",", 1)[-1] if step.png_base64.startswith("data:") else step.png_base64
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(_("The signature is not valid base64."), "invalid_signature", 422) from None


def _sign(inspection: Inspection, actor, step: SignatureStep, image: bytes, now: datetime):
    """Sign as the tablet did, unless the record has this drawing already or a later one."""
    inspector = None
    if step.role == Signature.Role.INSPECTOR:
        inspector = Inspector.objects.filter(pk=step.inspector).first() if step.inspector else None
        if inspector is None:
            raise _refuse(_("Unknown inspector."), "unknown_inspector", 422)
    at = _device_time(step.at, now)
    stored = Signature.objects.filter(
        inspection=inspection, role=step.role, inspector=inspector if inspector else None
    ).first()
    if stored is not None:
        if stored.sha256 == hashlib.sha256(image).hexdigest():
            return None
        if (stored.device_signed_at or stored.signed_at) > at:
            return None
    return inspection_sign(
        inspection=inspection, actor=actor, role=step.role, image=image, inspector=inspector, device_at=at
    )


def inspection_sync(*, journal: Journal, actor) -> SyncOutcome:
    """Replay one tablet's journal of one inspection, whole or not at all.

    The caller found ``journal.task`` through its permission filter (the tasks the actor may see).
    Refusals: task_cancelled (with the regulator's reason), out_of_jurisdiction, not_assigned,
    inspection_id_reused, answer_id_reused, photo_id_reused, photo_missing, duplicate_id,
    invalid_checklist_versions, checklist_versions_differ, already_submitted (the other tablet
    submitted first and this one has more), submission_id_reused, and every refusal of the online
    steps (item_not_in_snapshot, incomplete, unsigned, ...)."""
    _distinct([a.id for a in journal.answers], "answers")
    _distinct([p for a in journal.answers for p in a.photos], "photos")
    images = [_signature_png(step) for step in journal.signatures]
    created_files = []
    try:
        with transaction.atomic():
            outcome = _replay(journal, actor, images, created_files)
    except BaseException:
        # The rows went with the rollback; the signature drawings stored meanwhile go too.
        for file in created_files:
            file.storage.delete(file.name)
        raise
    return outcome


def _replay(journal: Journal, actor, images: list[bytes], created_files: list) -> SyncOutcome:
    now = timezone.now()
    # Lock the task first: two replays of one journal (a retry overtaking a slow first try) and the
    # other tablet's journal of the same task run one after the other.
    task = (
        InspectionTask.objects.select_for_update(of=("self",))
        .select_related("enterprise__scene")
        .get(pk=journal.task.pk)
    )
    journal = replace(journal, task=task)
    _assigned_inspector(actor, task)
    _in_jurisdiction(actor, task)
    existing = Inspection.objects.filter(task=task).first()
    if existing is not None and existing.status == Inspection.Status.SUBMITTED:
        return _replay_on_submitted(journal, existing)
    _task_open(task)  # with the regulator's reason, whether the record was started or not
    inspection = _record(journal, actor, now)
    fresh = _new_answers(journal, inspection)
    photos = _photos_for(journal, fresh, actor)
    for step in sorted(fresh, key=lambda s: s.at):
        inspection_answer(
            inspection=inspection,
            actor=actor,
            item_id=step.item,
            result=step.result,
            note=step.note,
            attach=[photos[p].photo for p in step.photos],
            device_at=_device_time(step.at, now),
            event_id=step.id,
        )
    inspection.refresh_from_db()
    changes = {}
    if journal.note is not None and journal.note.strip() != inspection.note:
        changes["note"] = journal.note
    if (
        journal.representative_name is not None
        and journal.representative_name.strip()[:100] != inspection.representative_name
    ):
        changes["representative_name"] = journal.representative_name
    if changes:
        inspection = inspection_update(inspection=inspection, actor=actor, **changes)
    # The refusal and the representative's signature, in the order the inspector recorded them.
    steps = [(s.at, "sign", s, image) for s, image in zip(journal.signatures, images, strict=True)]
    if journal.refusal is not None:
        steps.append((journal.refusal.at, "refusal", journal.refusal, None))
    for _at, kind, step, image in sorted(steps, key=lambda s: s[0]):
        if kind == "refusal":
            inspection.refresh_from_db()
            if not inspection.representative_refused or inspection.refusal_note != step.note.strip()[:500]:
                inspection_record_refusal(inspection=inspection, actor=actor, note=step.note)
            continue
        signature = _sign(inspection, actor, step, image, now)
        if signature is not None:
            created_files.append(signature.image)
    outcome = SyncOutcome(inspection=inspection, new_answers=len(fresh))
    if journal.submission is not None:
        submission = journal.submission
        outcome.inspection = inspection_submit(
            inspection=inspection,
            actor=actor,
            submission_id=submission.id,
            conclusion=submission.conclusion,
            rectify_deadline=submission.rectify_deadline,
            done_at=_device_time(submission.at, now),
        )
        outcome.submitted = True
    return outcome


def _replay_on_submitted(journal: Journal, inspection: Inspection) -> SyncOutcome:
    """A submitted record takes nothing more. The journal that submitted it, sent again (its answer
    was lost), gets it back; so does one with nothing the record lacks. Anything else is refused."""
    if journal.submission is not None and inspection.submission_id == journal.submission.id:
        return SyncOutcome(inspection=inspection, replayed=True)
    if journal.submission is None and not _new_answers(journal, inspection):
        return SyncOutcome(inspection=inspection, replayed=True)
    raise _refuse(
        _("This inspection was already submitted, from the other tablet; this tablet's work was not added."),
        "already_submitted",
        details={"inspection": inspection.pk, "submitted_at": inspection.submitted_at},
    )
