"""The inspection and its closed loop: every state change of tasks, inspections, orders,
rectifications and evaluations happens here, audited, and refused with a coded error when
the move is illegal.

    task planned -> in progress (inspection started) -> done (inspection submitted) | cancelled
    inspection draft -> submitted (immutable; findings; an order when rectification is due)
    order issued -> submitted (the business answers) -> closed (accepted)
                                                     -> returned (rejected) -> submitted ...
          issued / returned past the deadline: overdue (computed), may be escalated to a case

Writes lock the row they change (SELECT ... FOR UPDATE) so that two tablets, or a retried
request, cannot apply the same transition twice.
"""

import hashlib
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from checklists.models import ChecklistItem, Severity
from checklists.selectors import checklists_current, scene_checklist
from core import permissions
from core.audit import audit_record, canonical
from core.errors import DomainError
from core.models import Enterprise, Inspector
from core.photos import photo_ingest, photos_discard, validate_photo_upload
from core.signals import enterprise_changed
from supervision.inspections.signals import inspection_submitted
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

MIN_INSPECTORS = 2
MAX_PHOTOS_PER_ANSWER = 5
NOTE_MAX = 2000
SIGNATURE_MAX_BYTES = 512 * 1024
SEVERITY_ORDER = [Severity.CRITICAL, Severity.MAJOR, Severity.MINOR]


class WorkflowError(DomainError):
    """An illegal move. ``code`` says which rule refused it."""


def _refuse(message: str, code: str, status: int = 409, details=None) -> WorkflowError:
    return WorkflowError(message, code=code, status=status, details=details)


def _forbidden() -> WorkflowError:
    return _refuse(_("You may not do this."), "forbidden", 403)


# --- tasks ------------------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor,
    enterprise: Enterprise,
    inspectors: Sequence[Inspector],
    due_from: date,
    due_to: date,
    source: str = InspectionTask.Source.MANUAL,
    note: str = "",
    origin_order: RectificationOrder | None = None,
) -> InspectionTask:
    """Plan a visit. Regulators plan; a re-inspection is also planned by the inspector verifying an order."""
    if origin_order is None and not permissions.can_plan_tasks(actor, enterprise):
        raise _forbidden()
    if source not in InspectionTask.Source.values:
        raise _refuse(_("Unknown task source."), "invalid_source", 422)
    if due_to < due_from:
        raise _refuse(_("The due window ends before it starts."), "invalid_window", 422)
    if due_to < timezone.localdate():
        raise _refuse(_("The due window is in the past."), "window_in_past", 422)
    team = list({inspector.pk: inspector for inspector in inspectors}.values())
    if len(team) < MIN_INSPECTORS:
        raise _refuse(_("A task needs at least two inspectors."), "too_few_inspectors", 422)
    for inspector in team:
        if not inspector.active or not permissions.can_see_enterprise(inspector.user, enterprise):
            raise _refuse(
                _("%(name)s has no jurisdiction over this enterprise.") % {"name": inspector},
                "inspector_out_of_scope",
                422,
            )
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=team[0].department,
        source=source,
        due_from=due_from,
        due_to=due_to,
        note=note.strip()[:NOTE_MAX],
        origin_order=origin_order,
        created_by=actor,
    )
    task.inspectors.set(team)
    audit_record(
        actor=actor,
        action="task.create",
        target=task,
        data={
            "enterprise": enterprise.uscc,
            "source": source,
            "inspectors": sorted(i.certificate_no for i in team),
            "due": [due_from, due_to],
        },
    )
    return task


@transaction.atomic
def task_cancel(*, task: InspectionTask, actor, reason: str) -> InspectionTask:
    task = InspectionTask.objects.select_for_update().get(pk=task.pk)
    if not permissions.can_plan_tasks(actor, task.enterprise):
        raise _forbidden()
    if not reason.strip():
        raise _refuse(_("Say why the task is cancelled."), "reason_required", 422)
    if task.status not in (InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS):
        raise _refuse(_("Only a planned or running task can be cancelled."), "not_cancellable")
    if Inspection.objects.filter(task=task, status=Inspection.Status.SUBMITTED).exists():
        raise _refuse(_("The inspection of this task is already submitted."), "not_cancellable")
    task.status = InspectionTask.Status.CANCELLED
    task.cancelled_at, task.cancelled_by, task.cancel_reason = timezone.now(), actor, reason.strip()[:300]
    task.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    audit_record(actor=actor, action="task.cancel", target=task, data={"reason": task.cancel_reason})
    return task


def _assigned_inspector(actor, task: InspectionTask) -> Inspector:
    inspector = permissions.roles_of(actor).inspector
    if inspector is None or not task.inspectors.filter(pk=inspector.pk).exists():
        raise _refuse(_("Only the inspectors assigned to this task may do this."), "not_assigned", 403)
    return inspector


# --- the on-site inspection ------------------------------------------------------------------------


@transaction.atomic
def inspection_start(*, task: InspectionTask, actor) -> Inspection:
    """Open the on-site record, snapshotting the scene's current checklists. Starting twice resumes."""
    # Lock the task only: the joined enterprise and scene rows are read, not changed, and locking
    # them would queue every start in a scene behind one another.
    task = (
        InspectionTask.objects.select_for_update(of=("self",))
        .select_related("enterprise__scene")
        .get(pk=task.pk)
    )
    _assigned_inspector(actor, task)
    existing = Inspection.objects.filter(task=task).first()
    if existing:
        return existing
    if task.status != InspectionTask.Status.PLANNED:
        raise _refuse(_("This task is not open."), "task_not_open")
    # Each department checks its own items: a joint task the checklists of its departments, any
    # other task its department's (planning.joint merges tasks into joint ones).
    departments = [*task.departments.values_list("pk", flat=True)] or [task.department_id]
    versions = list(checklists_current(scene=task.enterprise.scene).filter(department__in=departments))
    if not scene_checklist(
        scene=task.enterprise.scene, enterprise=task.enterprise, checklists=versions
    ).items:
        raise _refuse(_("There is no published checklist for this scene."), "no_checklist")
    inspection = Inspection.objects.create(task=task, enterprise=task.enterprise, started_by=actor)
    inspection.checklists.set(versions)
    task.status = InspectionTask.Status.IN_PROGRESS
    task.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="inspection.start",
        target=inspection,
        data={"task": task.pk, "versions": sorted(f"{c.department.code}:v{c.version}" for c in versions)},
    )
    return inspection


def inspection_items(inspection: Inspection) -> list[ChecklistItem]:
    """The snapshot's items that apply to the enterprise, in department and position order."""
    return scene_checklist(
        scene=inspection.enterprise.scene,
        enterprise=inspection.enterprise,
        checklists=inspection.checklists.all(),
    ).items


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


def _check_photos(uploads: Sequence, already: int = 0) -> None:
    if already + len(uploads) > MAX_PHOTOS_PER_ANSWER:
        raise _refuse(
            _("At most %(n)d photos per item.") % {"n": MAX_PHOTOS_PER_ANSWER}, "too_many_photos", 422
        )
    for upload in uploads:
        validate_photo_upload(upload)


def inspection_answer(
    *,
    inspection: Inspection,
    actor,
    item_id: int,
    result: str | None = None,
    note: str | None = None,
    photos: Sequence = (),
    visible: QuerySet[Inspection] | None = None,
) -> InspectionAnswer:
    """Autosave one item. ``None`` keeps what is stored, so a client may send only what changed.

    ``visible``: the records the caller may see; the API passes its permission filter here
    (and may pass a bare ``Inspection(pk=...)``) so that the filter and the row lock are one
    query; a record outside it is not found (404). The returned answer's ``photo_hashes`` is
    its photos' SHA-256 list when already known without a query (a new answer: none), else None.
    """
    if result is not None and result not in Result.values:
        raise _refuse(_("Answer compliant, not compliant or not applicable."), "invalid_result", 422)
    if note is not None and len(note) > NOTE_MAX:
        raise _refuse(_("At most %(n)d characters.") % {"n": NOTE_MAX}, "note_too_long", 422)
    _check_photos(photos)
    # Photos are decoded and stored before the row lock: Pillow's work must not hold the database.
    stored = [photo_ingest(upload=upload, uploaded_by=actor) for upload in photos]
    try:
        with transaction.atomic():
            inspection = _lock_draft(inspection, actor, visible)
            item = _snapshot_item(inspection, item_id)
            changes = {"updated_by": actor}
            if result is not None:
                changes["result"] = result
            if note is not None:
                changes["note"] = note.strip()
            if item.answer_pk is None:
                if result is None:
                    raise _refuse(_("A new answer needs a result."), "invalid_result", 422)
                answer = InspectionAnswer(inspection=inspection, item=item, **changes)
                answer.save()
                answer.photo_hashes = None if stored else []
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
            if stored:
                if answer.photos.count() + len(stored) > MAX_PHOTOS_PER_ANSWER:
                    raise _refuse(
                        _("At most %(n)d photos per item.") % {"n": MAX_PHOTOS_PER_ANSWER},
                        "too_many_photos",
                        422,
                    )
                answer.photos.add(*stored)
            Inspection.objects.filter(pk=inspection.pk).update(updated_at=timezone.now())
    except Exception:
        photos_discard(stored)
        raise
    return answer


def _snapshot_item(inspection: Inspection, item_id) -> ChecklistItem:
    """The item, if it is in the record's snapshot and applies to the enterprise, annotated with the
    stored answer's ``answer_pk``, ``answer_result`` and ``answer_note`` (None when unanswered):
    one query for the item and its answer."""
    stored = InspectionAnswer.objects.filter(inspection=inspection, item=OuterRef("pk"))
    item = (
        ChecklistItem.objects.filter(pk=item_id, checklist__in=inspection.checklists.all())
        .annotate(
            answer_pk=Subquery(stored.values("pk")[:1]),
            answer_result=Subquery(stored.values("result")[:1]),
            answer_note=Subquery(stored.values("note")[:1]),
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
    *, inspection: Inspection, actor, role: str, image: bytes, inspector: Inspector | None = None
) -> Signature:
    """Store a signature drawn on the tablet: each assigned inspector's, and the representative's.
    Signing again replaces the earlier drawing (a smudged signature is redrawn before submit)."""
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
    signature = Signature(inspection=inspection, role=role, inspector=inspector, sha256=digest)
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


def default_deadline(severities: Iterable[str], *, now: datetime | None = None) -> datetime:
    """The rectification deadline the most severe finding calls for (settings.RECTIFY_DAYS)."""
    worst = min(severities, key=SEVERITY_ORDER.index)
    now = now or timezone.now()
    return now + timedelta(days=settings.RECTIFY_DAYS[worst])


def inspection_content(inspection: Inspection) -> dict:
    """What the submitted record says, canonically: hashed into the audit chain at submit."""
    answers = (
        InspectionAnswer.objects.filter(inspection=inspection)
        .select_related("item__checklist__department")
        .prefetch_related("photos")
        .order_by("item__checklist__department__code", "item__position")
    )
    return {
        "enterprise": inspection.enterprise.uscc,
        "task": inspection.task_id,
        "versions": sorted(f"{c.department.code}:v{c.version}" for c in inspection.checklists.all()),
        "answers": [
            {
                "department": a.item.checklist.department.code,
                "item": a.item.code,
                "result": a.result,
                "note": a.note,
                "photos": sorted(p.sha256 for p in a.photos.all()),
            }
            for a in answers
        ],
        "note": inspection.note,
        "conclusion": inspection.conclusion,
        "rectify_deadline": inspection.rectify_deadline.isoformat() if inspection.rectify_deadline else None,
        "representative": inspection.representative_name,
        "representative_refused": inspection.refusal_note if inspection.representative_refused else None,
        "signatures": sorted(
            f"{s.role}:{s.inspector.certificate_no if s.inspector else ''}:{s.sha256}"
            for s in inspection.signatures.select_related("inspector")
        ),
    }


def inspection_submit(
    *,
    inspection: Inspection,
    actor,
    submission_id: uuid.UUID,
    conclusion: str,
    rectify_deadline: datetime | None = None,
) -> Inspection:
    """Close the record. Idempotent by the client's ``submission_id``: a retried submit, or the
    second tablet of the pair sending the same submission, gets the same record back."""
    if conclusion not in Inspection.Conclusion.values:
        raise _refuse(_("Conclude with pass, rectify or refer."), "invalid_conclusion", 422)
    if rectify_deadline is not None and timezone.is_naive(rectify_deadline):
        # A date and time without a zone means local time (Asia/Shanghai), as people write them.
        rectify_deadline = timezone.make_aware(rectify_deadline)
    try:
        with transaction.atomic():
            return _submit(inspection, actor, submission_id, conclusion, rectify_deadline)
    except IntegrityError:
        # Another inspection already used this submission id: a client bug, never a silent merge.
        raise _refuse(
            _("This submission id belongs to another inspection."), "submission_id_reused"
        ) from None


def _submit(inspection, actor, submission_id, conclusion, rectify_deadline) -> Inspection:
    locked = (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("enterprise__scene", "task")
        .get(pk=inspection.pk)
    )
    _assigned_inspector(actor, locked.task)
    if locked.status == Inspection.Status.SUBMITTED:
        if locked.submission_id == submission_id:
            return locked
        raise _refuse(_("This inspection is already submitted."), "already_submitted")
    # Locked, so that a concurrent task_cancel either sees this submit or is seen by it.
    if (
        InspectionTask.objects.select_for_update().get(pk=locked.task_id).status
        == InspectionTask.Status.CANCELLED
    ):
        raise _refuse(_("This task is cancelled; its record can no longer change."), "task_cancelled")
    items = inspection_items(locked)
    answers = {
        a.item_id: a for a in InspectionAnswer.objects.filter(inspection=locked).select_related("item")
    }
    missing = [item.code for item in items if item.pk not in answers]
    if missing:
        raise _refuse(_("Answer every item before submitting."), "incomplete", 422, {"missing": missing})
    signed = set(
        Signature.objects.filter(inspection=locked, role=Signature.Role.INSPECTOR).values_list(
            "inspector_id", flat=True
        )
    )
    team = set(locked.task.inspectors.values_list("pk", flat=True))
    if not team <= signed:
        raise _refuse(_("Every assigned inspector must sign."), "unsigned", 422)
    representative = Signature.objects.filter(inspection=locked, role=Signature.Role.REPRESENTATIVE).exists()
    if not representative and not locked.representative_refused:
        raise _refuse(
            _("The representative signs, or their refusal is recorded."), "representative_unsigned", 422
        )
    failing = [
        a for a in answers.values() if a.result == Result.NON_COMPLIANT and a.item_id in {i.pk for i in items}
    ]
    if conclusion == Inspection.Conclusion.PASS and failing:
        raise _refuse(_("An inspection with findings cannot pass."), "findings_need_action", 422)
    if conclusion == Inspection.Conclusion.RECTIFY and not failing:
        raise _refuse(_("There is nothing to rectify."), "nothing_to_rectify", 422)
    now = timezone.now()
    if conclusion == Inspection.Conclusion.RECTIFY:
        if rectify_deadline is None:
            rectify_deadline = default_deadline([a.item.severity for a in failing], now=now)
        elif rectify_deadline <= now:
            raise _refuse(_("The deadline is in the past."), "deadline_in_past", 422)
    else:
        rectify_deadline = None
    locked.status, locked.conclusion, locked.rectify_deadline = (
        Inspection.Status.SUBMITTED,
        conclusion,
        rectify_deadline,
    )
    locked.submitted_at, locked.submitted_by, locked.submission_id = now, actor, submission_id
    # Answers to items that no longer apply (the enterprise's traits changed) are not part of the record.
    InspectionAnswer.objects.filter(inspection=locked).exclude(item__in=items).delete()
    content = inspection_content(locked)
    locked.content_hash = hashlib.sha256(canonical(content).encode()).hexdigest()
    locked.save()
    findings = [
        Finding.objects.create(inspection=locked, answer=a, item=a.item, severity=a.item.severity)
        for a in failing
    ]
    order = None
    if conclusion == Inspection.Conclusion.RECTIFY:
        order = RectificationOrder.objects.create(
            number=f"ZG{timezone.localtime(now):%Y%m%d}-{locked.pk:07d}",
            enterprise=locked.enterprise,
            inspection=locked,
            deadline=rectify_deadline,
        )
        Finding.objects.filter(pk__in=[f.pk for f in findings]).update(order=order)
    InspectionTask.objects.filter(pk=locked.task_id).update(status=InspectionTask.Status.DONE)
    audit_record(
        actor=actor,
        action="inspection.submit",
        target=locked,
        data={
            "content_hash": locked.content_hash,
            "submission_id": str(submission_id),
            "conclusion": conclusion,
            "answers": len(content["answers"]),
            "findings": len(findings),
            "photos": sorted(h for a in content["answers"] for h in a["photos"]),
            "signatures": content["signatures"],
            "order": order.number if order else None,
        },
    )
    if order:
        audit_record(
            actor=actor,
            action="order.issue",
            target=order,
            data={
                "number": order.number,
                "deadline": order.deadline,
                "findings": [f.item.code for f in findings],
            },
        )
    if locked.task.origin_order_id:
        audit_record(
            actor=actor,
            action="order.reinspected",
            target=locked.task.origin_order,
            data={"inspection": locked.pk},
        )
    # Observers act in this transaction: the complaints desk verifies the complaint a task checked
    # (or finds it unfounded), and the rescore after commit then reads its new status.
    inspection_submitted.send(sender=Inspection, inspection=locked, actor=actor, findings=len(findings))
    enterprise_changed.send(sender=Inspection, enterprise_id=locked.enterprise_id)
    return locked


# --- the loop: rectification, verification, escalation ------------------------------------------------


def rectification_submit(
    *, order: RectificationOrder, actor, note: str = "", entries: dict[int, dict]
) -> Rectification:
    """The business answers every finding of the order: what was done, with photos.

    ``entries`` maps finding id to {"text": str, "photos": [uploads]}. Everything is checked
    before anything is written; photos are stored before the row lock and removed again if the
    transaction is refused."""
    if not permissions.is_member(actor, order.enterprise):
        raise _refuse(_("Only the business's own members answer its orders."), "not_member", 403)
    findings = {f.pk: f for f in order.findings.all()}
    unknown = sorted(set(entries) - set(findings))
    if unknown:
        raise _refuse(
            _("These findings are not part of this order."),
            "finding_not_in_order",
            422,
            {"findings": unknown},
        )
    missing = sorted(pk for pk in findings if not (entries.get(pk) or {}).get("text", "").strip())
    if missing:
        raise _refuse(_("Say what was done about every finding."), "incomplete", 422, {"findings": missing})
    if len(note) > NOTE_MAX or any(len(entry["text"]) > NOTE_MAX for entry in entries.values()):
        raise _refuse(_("At most %(n)d characters.") % {"n": NOTE_MAX}, "note_too_long", 422)
    for entry in entries.values():
        _check_photos(entry.get("photos") or [])
    stored = {
        pk: [photo_ingest(upload=u, uploaded_by=actor) for u in entry.get("photos") or []]
        for pk, entry in entries.items()
    }
    try:
        with transaction.atomic():
            order = RectificationOrder.objects.select_for_update().get(pk=order.pk)
            if order.status not in RectificationOrder.OPEN:
                raise _refuse(_("This order is not waiting for the business."), "order_not_open")
            rectification = Rectification.objects.create(order=order, note=note.strip(), submitted_by=actor)
            for pk, entry in entries.items():
                row = RectificationEntry.objects.create(
                    rectification=rectification, finding=findings[pk], text=entry["text"].strip()
                )
                row.photos.set(stored[pk])
            was_overdue = order.is_overdue
            order.status = RectificationOrder.Status.SUBMITTED
            order.save(update_fields=["status"])
            audit_record(
                actor=actor,
                action="order.rectification_submit",
                target=order,
                data={
                    "rectification": rectification.pk,
                    "late": was_overdue,
                    "photos": sorted(p.sha256 for photos in stored.values() for p in photos),
                },
            )
            enterprise_changed.send(sender=RectificationOrder, enterprise_id=order.enterprise_id)
    except Exception:
        photos_discard([p for photos in stored.values() for p in photos])
        raise
    return rectification


@transaction.atomic
def order_verify(*, order: RectificationOrder, actor, accepted: bool, note: str = "") -> RectificationOrder:
    """Close the loop on one order, or send it back to the business with the reason."""
    order = (
        RectificationOrder.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=order.pk)
    )
    if not permissions.can_verify_orders(actor, order.enterprise):
        raise _forbidden()
    if order.status != RectificationOrder.Status.SUBMITTED:
        raise _refuse(_("This order is not awaiting verification."), "not_submitted")
    if not accepted and not note.strip():
        raise _refuse(_("Say why the rectification is rejected."), "reason_required", 422)
    rectification = Rectification.objects.select_for_update().get(
        order=order, status=Rectification.Status.PENDING
    )
    now = timezone.now()
    rectification.status = Rectification.Status.ACCEPTED if accepted else Rectification.Status.REJECTED
    rectification.reviewed_by, rectification.reviewed_at, rectification.review_note = actor, now, note.strip()
    rectification.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    if accepted:
        order.status, order.closed_at, order.closed_by = RectificationOrder.Status.CLOSED, now, actor
    else:
        order.status = RectificationOrder.Status.RETURNED
    order.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(
        actor=actor,
        action="order.verify",
        target=order,
        data={"accepted": accepted, "note": note.strip(), "within_deadline": now <= order.deadline},
    )
    enterprise_changed.send(sender=RectificationOrder, enterprise_id=order.enterprise_id)
    return order


def order_reinspect(
    *, order: RectificationOrder, actor, inspectors: Sequence[Inspector], due_from: date, due_to: date
) -> InspectionTask:
    """Instead of verifying remotely, send inspectors back: a re-inspection task tied to the order."""
    if not (
        permissions.can_verify_orders(actor, order.enterprise)
        or permissions.can_plan_tasks(actor, order.enterprise)
    ):
        raise _forbidden()
    if order.status in (RectificationOrder.Status.CLOSED, RectificationOrder.Status.ESCALATED):
        raise _refuse(_("This order is finished."), "order_finished")
    return task_create(
        actor=actor,
        enterprise=order.enterprise,
        inspectors=inspectors,
        due_from=due_from,
        due_to=due_to,
        source=InspectionTask.Source.REINSPECTION,
        note=_("Re-inspection for order %(number)s") % {"number": order.number},
        origin_order=order,
    )


@transaction.atomic
def order_escalate(*, order: RectificationOrder, actor, note: str) -> RectificationOrder:
    """An overdue order becomes a case for investigation (立案)."""
    order = (
        RectificationOrder.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=order.pk)
    )
    if not permissions.can_escalate_orders(actor, order.enterprise):
        raise _forbidden()
    if not order.is_overdue:
        raise _refuse(_("Only an overdue order can be escalated."), "not_overdue")
    if not note.strip():
        raise _refuse(_("Describe the case."), "reason_required", 422)
    order.status, order.escalated_at, order.case_note = (
        RectificationOrder.Status.ESCALATED,
        timezone.now(),
        note.strip()[:300],
    )
    order.save(update_fields=["status", "escalated_at", "case_note"])
    audit_record(actor=actor, action="order.escalate", target=order, data={"note": order.case_note})
    enterprise_changed.send(sender=RectificationOrder, enterprise_id=order.enterprise_id)
    return order


# --- evaluation ---------------------------------------------------------------------------------------


def evaluation_submit(*, inspection: Inspection, actor, rating: int, comment: str = "") -> Evaluation:
    """一业一评: the business rates a submitted inspection, once."""
    if not permissions.is_member(actor, inspection.enterprise):
        raise _refuse(_("Only the inspected business rates an inspection."), "not_member", 403)
    if inspection.status != Inspection.Status.SUBMITTED:
        raise _refuse(_("Only a submitted inspection can be rated."), "not_submitted")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _refuse(_("Rate from 1 to 5."), "invalid_rating", 422)
    if len(comment) > 1000:
        raise _refuse(_("At most %(n)d characters.") % {"n": 1000}, "note_too_long", 422)
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                inspection=inspection, rating=rating, comment=comment.strip(), created_by=actor
            )
            audit_record(
                actor=actor, action="inspection.evaluate", target=inspection, data={"rating": rating}
            )
    except IntegrityError:
        raise _refuse(_("This inspection has already been rated."), "already_rated") from None
    return evaluation
