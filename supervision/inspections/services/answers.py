"""What is written into an open record: answers with photos, the record's own fields, the
signatures or the representative's refusal. Each change locks the draft first (_lock_draft)."""

import hashlib
import io
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from checklists.models import ChecklistItem
from core import permissions
from core.models import Inspector, Photo
from core.photos import photos_discard, photos_ingest
from supervision.inspections.services._common import (
    MAX_PHOTOS_PER_ANSWER,
    NOTE_MAX,
    SIGNATURE_MAX_BYTES,
    _check_photos,
    _refuse,
)
from supervision.models import AnswerEvent, Inspection, InspectionAnswer, InspectionTask, Result, Signature


def _lock_draft(inspection: Inspection, actor, visible: QuerySet[Inspection] | None = None) -> Inspection:
    """Lock the record and its task (a cancelled task freezes the record) for a change by one of the
    assigned inspectors. One statement: the lock, the assignment check and, with ``visible`` (the
    caller's permission filter), the visibility check; a record outside ``visible`` is not found.

    FOR UPDATE OF the record and the task only: the joined enterprise and scene are read, not
    changed, and locking them would queue every record of a scene behind one row."""
    inspector = permissions.roles_of(actor).inspector
    assigned = (
        Exists(
            InspectionTask.inspectors.through.objects.filter(
                inspectiontask_id=OuterRef("task_id"), inspector_id=inspector.pk
            )
        )
        if inspector is not None
        else Value(False)
    )
    inspection = get_object_or_404(
        (Inspection.objects if visible is None else visible)
        .select_for_update(of=("self", "task"))
        .select_related("enterprise__scene", "task")
        .annotate(actor_assigned=assigned),
        pk=inspection.pk,
    )
    if not inspection.actor_assigned:
        raise _refuse(_("Only the inspectors assigned to this task may do this."), "not_assigned", 403)
    if inspection.status != Inspection.Status.DRAFT:
        raise _refuse(_("This inspection is submitted and can no longer change."), "already_submitted")
    if inspection.task.status == InspectionTask.Status.CANCELLED:
        raise _refuse(_("This task is cancelled; its record can no longer change."), "task_cancelled")
    return inspection


def inspection_answer(
    *,
    inspection: Inspection,
    actor,
    item_id: int,
    result: str | None = None,
    note: str | None = None,
    photos: Sequence = (),
    visible: QuerySet[Inspection] | None = None,
    attach: Sequence[Photo] = (),
    device_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> InspectionAnswer:
    """Autosave one item. ``None`` keeps what is stored, so a client may send only what changed.

    ``visible``: the records the caller may see; the API passes its permission filter here
    (and may pass a bare ``Inspection(pk=...)``) so that the filter and the row lock are one
    query; a record outside it is not found (404). The returned answer's ``photo_hashes`` is
    its photos' SHA-256 list when already known without a query (a new answer: none), else None.

    Every call is one event of the record's answer history (AnswerEvent). A tablet's replayed
    answer (services.offline) gives ``device_at`` (when the inspector answered, by its clock),
    ``event_id`` (its own id for the event) and ``attach`` (photos it uploaded already): an
    answer older than the stored one is kept in the history only, its photos are still added.
    """
    if result is not None and result not in Result.values:
        raise _refuse(_("Answer compliant, not compliant or not applicable."), "invalid_result", 422)
    if note is not None and len(note) > NOTE_MAX:
        raise _refuse(_("At most %(n)d characters.") % {"n": NOTE_MAX}, "note_too_long", 422)
    _check_photos(photos)
    if photos:
        # The caller may change this record before its photos are decoded (the expensive part):
        # the same checks as under the lock below, in a moment's transaction of their own.
        with transaction.atomic():
            _lock_draft(inspection, actor, visible)
    # Photos are decoded and stored before the row lock: Pillow's work must not hold the database.
    stored = photos_ingest(uploads=photos, uploaded_by=actor)
    try:
        with transaction.atomic():
            inspection = _lock_draft(inspection, actor, visible)
            item = _snapshot_item(inspection, item_id)
            now = timezone.now()
            at = device_at or now
            changes = {"updated_by": actor, "answered_at": at}
            if result is not None:
                changes["result"] = result
            if note is not None:
                changes["note"] = note.strip()
            # The later answer by the inspector's own time stays; an older one is history only.
            applied = (
                item.answer_pk is None or item.answer_answered_at is None or at >= item.answer_answered_at
            )
            if item.answer_pk is None:
                if result is None:
                    raise _refuse(_("A new answer needs a result."), "invalid_result", 422)
                answer = InspectionAnswer(inspection=inspection, item=item, **changes)
                answer.save()
                answer.photo_hashes = None if stored or attach else []
            elif not applied:
                answer = InspectionAnswer(
                    pk=item.answer_pk,
                    inspection=inspection,
                    item=item,
                    result=item.answer_result,
                    note=item.answer_note,
                    answered_at=item.answer_answered_at,
                )
                answer.photo_hashes = None
            else:
                # The stored row as _snapshot_item read it, with the changes; its pk makes save()
                # an UPDATE of just the changed columns.
                answer = InspectionAnswer(
                    pk=item.answer_pk,
                    inspection=inspection,
                    item=item,
                    **{"result": item.answer_result, "note": item.answer_note, **changes},
                )
                answer.save(update_fields=[*changes, "updated_at"])
                answer.photo_hashes = None
            added = [*stored, *attach]
            if added:
                if answer.photos.count() + len(added) > MAX_PHOTOS_PER_ANSWER:
                    raise _refuse(
                        _("At most %(n)d photos per item.") % {"n": MAX_PHOTOS_PER_ANSWER},
                        "too_many_photos",
                        422,
                    )
                answer.photos.add(*added)
            AnswerEvent.objects.create(
                inspection=inspection,
                item=item,
                client_id=event_id,
                actor=actor,
                source=AnswerEvent.Source.ONLINE if event_id is None else AnswerEvent.Source.TABLET,
                result=result if result is not None else item.answer_result,
                note=note.strip() if note is not None else (item.answer_note or ""),
                photos=[photo.sha256 for photo in added],
                device_at=at,
                applied=applied,
            )
            Inspection.objects.filter(pk=inspection.pk).update(updated_at=now)
    except Exception:
        photos_discard(stored)
        raise
    return answer


def _snapshot_item(inspection: Inspection, item_id) -> ChecklistItem:
    """The item, if it is in the record's snapshot and applies to the enterprise, annotated with the
    stored answer's ``answer_pk``, ``answer_result``, ``answer_note`` and ``answer_answered_at``
    (None when unanswered): one query for the item and its answer."""
    stored = InspectionAnswer.objects.filter(inspection=inspection, item=OuterRef("pk"))
    item = (
        ChecklistItem.objects.filter(pk=item_id, checklist__in=inspection.checklists.all())
        .annotate(
            answer_pk=Subquery(stored.values("pk")[:1]),
            answer_result=Subquery(stored.values("result")[:1]),
            answer_note=Subquery(stored.values("note")[:1]),
            answer_answered_at=Subquery(stored.values("answered_at")[:1]),
        )
        .first()
    )
    if item is None or not item.applies_to(inspection.enterprise):
        raise _refuse(_("This item is not part of this inspection's checklist."), "item_not_in_snapshot", 422)
    return item


@transaction.atomic
def inspection_update(
    *,
    inspection: Inspection,
    actor,
    note: str | None = None,
    representative_name: str | None = None,
) -> Inspection:
    """Autosave the record's own fields."""
    inspection = _lock_draft(inspection, actor)
    if note is not None:
        if len(note) > 4000:
            raise _refuse(_("At most %(n)d characters.") % {"n": 4000}, "note_too_long", 422)
        inspection.note = note.strip()
    if representative_name is not None:
        inspection.representative_name = representative_name.strip()[:100]
    inspection.save(update_fields=["note", "representative_name", "updated_at"])
    return inspection


def _signature_png(data: bytes) -> bytes:
    if not data or len(data) > SIGNATURE_MAX_BYTES:
        raise _refuse(_("The signature image is empty or too large."), "invalid_signature", 422)
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(_("The signature must be a PNG image."), "invalid_signature", 422) from None
    if not (20 <= width <= 3000 and 20 <= height <= 2000):
        raise _refuse(_("The signature image has an odd size."), "invalid_signature", 422)
    return data


@transaction.atomic
def inspection_sign(
    *,
    inspection: Inspection,
    actor,
    role: str,
    image: bytes,
    inspector: Inspector | None = None,
    device_at: datetime | None = None,
) -> Signature:
    """Store a signature drawn on the tablet: each assigned inspector's, and the representative's.
    Signing again replaces the earlier drawing (a smudged signature is redrawn before submit).
    ``device_at``: when it was drawn on a tablet offline, by its clock (services.offline)."""
    inspection = _lock_draft(inspection, actor)
    data = _signature_png(image)
    if role == Signature.Role.INSPECTOR:
        if inspector is None or not inspection.task.inspectors.filter(pk=inspector.pk).exists():
            raise _refuse(_("Only an assigned inspector signs as inspector."), "not_assigned", 422)
        Signature.objects.filter(inspection=inspection, role=role, inspector=inspector).delete()
    elif role == Signature.Role.REPRESENTATIVE:
        inspector = None
        Signature.objects.filter(inspection=inspection, role=role).delete()
        if inspection.representative_refused:
            inspection.representative_refused, inspection.refusal_note = False, ""
            inspection.save(update_fields=["representative_refused", "refusal_note", "updated_at"])
    else:
        raise _refuse(_("Unknown signer."), "invalid_signature", 422)
    digest = hashlib.sha256(data).hexdigest()
    signature = Signature(
        inspection=inspection, role=role, inspector=inspector, sha256=digest, device_signed_at=device_at
    )
    signature.image.save(f"{uuid.uuid4().hex}.png", ContentFile(data), save=False)
    signature.save()
    return signature


@transaction.atomic
def inspection_record_refusal(*, inspection: Inspection, actor, note: str) -> Inspection:
    """The representative refuses to sign: recorded instead of a signature, with what happened."""
    inspection = _lock_draft(inspection, actor)
    if not note.strip():
        raise _refuse(_("Record what the representative said or did."), "reason_required", 422)
    Signature.objects.filter(inspection=inspection, role=Signature.Role.REPRESENTATIVE).delete()
    inspection.representative_refused, inspection.refusal_note = True, note.strip()[:500]
    inspection.save(update_fields=["representative_refused", "refusal_note", "updated_at"])
    return inspection
