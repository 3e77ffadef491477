"""What is written into an open record: answers with photos, the record's own fields, the
signatures or the representative's refusal. Each change locks the draft first (_lock_draft; an
answer without photos on PostgreSQL locks it in the one statement that writes it, _answer_at_once)."""

import functools
import hashlib
import io
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from checklists.models import ChecklistItem
from core.models import Enterprise, Inspector, Photo
from core.photos import photos_discard, photos_ingest
from core.prepared import prepared_cursor
from supervision.inspections.services._common import (
    MAX_PHOTOS_PER_ANSWER,
    NOTE_MAX,
    SIGNATURE_MAX_BYTES,
    VisibleRecords,
    _check_photos,
    _lock_record,
    _refuse,
)
from supervision.models import AnswerEvent, Inspection, InspectionAnswer, InspectionTask, Result, Signature


def _lock_draft(
    inspection: Inspection,
    actor,
    visible: VisibleRecords | None = None,
) -> Inspection:
    """Lock the record and its task (a cancelled task freezes the record) for a change by one of the
    assigned inspectors: _lock_record's one statement, and the record still a draft."""
    inspection = _lock_record(inspection, actor, visible)
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
    visible: VisibleRecords | None = None,
    attach: Sequence[Photo] = (),
    device_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> InspectionAnswer:
    """Autosave one item. ``None`` keeps what is stored, so a client may send only what changed.

    ``visible``: a function that builds the records the caller may see (the API passes its permission
    filter this way, with a bare ``Inspection(pk=...)``). It is called only when the actor is not one
    of the task's inspectors (_lock_record; on PostgreSQL an answer without photos is written in one
    statement that needs no filter, see _answer_at_once), and a record outside it is not found (404).
    The returned answer's ``photo_hashes`` is its photos' SHA-256 list when already known without a
    query (a new answer: none), else None.

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
    if not (photos or attach) and connection.vendor == "postgresql":
        answer = _answer_at_once(
            inspection=inspection,
            actor=actor,
            item_id=item_id,
            result=result,
            note=note,
            device_at=device_at,
            event_id=event_id,
        )
        if answer is not None:
            return answer
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


def _answer_at_once(
    *,
    inspection: Inspection,
    actor,
    item_id: int,
    result: str | None,
    note: str | None,
    device_at: datetime | None,
    event_id: uuid.UUID | None,
) -> InspectionAnswer | None:
    """The common autosave (no photos) on PostgreSQL in ONE statement, or None when it wrote nothing:
    the caller then takes the general path, which refuses with the right code or, for an answer
    older than the stored one, keeps it in the history only. A tablet sends one such request per
    item and per pause in typing: issue 17 (bench/autosave.py).

    The statement locks the record and its task (FOR UPDATE OF both, as _lock_draft) where the
    record is a draft, its task not cancelled, the actor an active inspector assigned to it and the
    item in the record's checklist versions applying to the enterprise (_snapshot_item); inserts or
    updates the answer (ON CONFLICT on inspection_answer_unique, so it merges with the latest stored
    row, not the one the statement's snapshot saw before the lock was granted), only if the new one
    is not older than the stored one by the inspector's clock; adds the history event of what was
    stored and stamps the record's updated_at. Each write reads the previous one's rows, so where a
    check fails or the answer is older nothing is written. A record the actor may see is one they
    are assigned to (supervision.inspections.permissions.inspections_visible_to: a draft is visible
    to its inspectors only), so no permission filter is needed to write; the general path applies
    it to tell "not found" from "not assigned".

    Outside a transaction the statement is its own; inside one (an offline journal's replay) it
    runs in a savepoint, so that a failed statement leaves the caller's transaction usable."""
    if not (actor.is_authenticated and actor.is_active):
        return None
    now = timezone.now()
    at = device_at or now
    params = {
        "inspection": inspection.pk,
        "item": item_id,
        "actor": actor.pk,
        "result": result,
        "note": note.strip() if note is not None else None,
        "new_note": note.strip() if note is not None else "",
        "now": now,
        "at": at,
        "event": event_id,
        "source": AnswerEvent.Source.ONLINE if event_id is None else AnswerEvent.Source.TABLET,
        "draft": Inspection.Status.DRAFT,
        "cancelled": InspectionTask.Status.CANCELLED,
    }
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    # Prepared on the server once per connection (core.prepared): planning it was most of
    # PostgreSQL's time on an autosave.
    with savepoint, prepared_cursor(connection) as cursor:
        cursor.execute(_answer_at_once_sql(new=result is not None), params)
        row = cursor.fetchone()
    if row is None:
        return None
    answer = InspectionAnswer(
        pk=row[0],
        inspection_id=inspection.pk,
        item_id=item_id,
        result=row[1],
        note=row[2],
        updated_by=actor,
        answered_at=at,
    )
    answer.photo_hashes = list(row[3])
    return answer


@functools.cache
def _answer_at_once_sql(*, new: bool) -> str:
    """The statement of _answer_at_once. ``new``: a result is given, so the answer may be created
    (a new answer needs a result); without one only a stored answer is updated."""
    table = {
        "inspection": Inspection._meta.db_table,
        "task": InspectionTask._meta.db_table,
        "assignment": InspectionTask.inspectors.through._meta.db_table,
        "inspector": Inspector._meta.db_table,
        "snapshot": Inspection.checklists.through._meta.db_table,
        "item": ChecklistItem._meta.db_table,
        "enterprise": Enterprise._meta.db_table,
        "answer": InspectionAnswer._meta.db_table,
        "answer_photo": InspectionAnswer.photos.through._meta.db_table,
        "photo": Photo._meta.db_table,
        "event": AnswerEvent._meta.db_table,
    }
    t = {name: connection.ops.quote_name(db_table) for name, db_table in table.items()}
    photos = f"""ARRAY(
                SELECT p.sha256 FROM {t["answer_photo"]} ap JOIN {t["photo"]} p ON p.id = ap.photo_id
                WHERE ap.inspectionanswer_id = a.id ORDER BY ap.id
            )"""
    # An answer older (by the inspector's clock) than the stored one is not written here.
    not_older = "(a.answered_at IS NULL OR a.answered_at <= %(at)s)"
    if new:
        answer = f"""
            INSERT INTO {t["answer"]} AS a
                (inspection_id, item_id, result, note, updated_at, updated_by_id, answered_at)
            SELECT id, %(item)s, %(result)s, %(new_note)s, %(now)s, %(actor)s, %(at)s FROM target
            ON CONFLICT (inspection_id, item_id) DO UPDATE SET
                result = EXCLUDED.result, note = COALESCE(%(note)s, a.note), updated_at = EXCLUDED.updated_at,
                updated_by_id = EXCLUDED.updated_by_id, answered_at = EXCLUDED.answered_at
            WHERE {not_older}
            RETURNING a.id, a.result, a.note, {photos} AS photos"""
    else:
        answer = f"""
            UPDATE {t["answer"]} AS a SET
                note = COALESCE(%(note)s, a.note), updated_at = %(now)s, updated_by_id = %(actor)s,
                answered_at = %(at)s
            FROM target
            WHERE a.inspection_id = target.id AND a.item_id = %(item)s AND {not_older}
            RETURNING a.id, a.result, a.note, {photos} AS photos"""
    # jsonb ? text: the item's condition is one of the enterprise's features (ChecklistItem.applies_to).
    return f"""
        WITH target AS (
            SELECT r.id FROM {t["inspection"]} r JOIN {t["task"]} t ON t.id = r.task_id
            WHERE r.id = %(inspection)s AND r.status = %(draft)s AND t.status <> %(cancelled)s
              AND EXISTS (
                SELECT 1 FROM {t["assignment"]} ti JOIN {t["inspector"]} i ON i.id = ti.inspector_id
                WHERE ti.inspectiontask_id = r.task_id AND i.user_id = %(actor)s AND i.active
              )
              AND EXISTS (
                SELECT 1 FROM {t["snapshot"]} s
                JOIN {t["item"]} ci ON ci.checklist_id = s.checklist_id
                JOIN {t["enterprise"]} e ON e.id = r.enterprise_id
                WHERE s.inspection_id = r.id AND ci.id = %(item)s
                  AND (ci.applies_if = '' OR e.features ? ci.applies_if)
              )
            FOR UPDATE OF r, t
        ),
        answer AS ({answer}
        ),
        event AS (
            INSERT INTO {t["event"]} (inspection_id, item_id, client_id, actor_id, source, result, note,
                                      photos, device_at, received_at, applied)
            SELECT %(inspection)s, %(item)s, %(event)s, %(actor)s, %(source)s, result, note,
                   '[]'::jsonb, %(at)s, %(now)s, TRUE
            FROM answer
        ),
        touched AS (
            UPDATE {t["inspection"]} AS stamped SET updated_at = %(now)s FROM answer
            WHERE stamped.id = %(inspection)s
        )
        SELECT id, result, note, photos FROM answer
    """


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
    visible: VisibleRecords | None = None,
) -> Inspection:
    """Autosave the record's own fields. ``visible``: as inspection_answer's."""
    inspection = _lock_draft(inspection, actor, visible)
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
    visible: VisibleRecords | None = None,
) -> Signature:
    """Store a signature drawn on the tablet: each assigned inspector's, and the representative's.
    Signing again replaces the earlier drawing (a smudged signature is redrawn before submit).
    ``device_at``: when it was drawn on a tablet offline, by its clock (services.offline).
    ``visible``: as inspection_answer's."""
    inspection = _lock_draft(inspection, actor, visible)
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
