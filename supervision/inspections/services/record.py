"""The on-site record opened and closed: start snapshots the checklists, submit checks that
everything is answered and signed, freezes the record into a content hash and issues the order."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from checklists.models import Checklist, ChecklistItem, VersionStatus
from checklists.selectors import checklists_current, scene_checklist
from core.audit import audit_record, content_digest, part_digests
from core.signals import enterprise_changed
from supervision.inspections.selectors import record_checklist
from supervision.inspections.services._common import (
    SEVERITY_ORDER,
    VisibleRecords,
    _assigned_inspector,
    _lock_record,
    _refuse,
)
from supervision.inspections.signals import inspection_submitted
from supervision.models import (
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    RectificationOrder,
    Result,
    Signature,
)


def task_checklists(task: InspectionTask) -> list[Checklist]:
    """The checklist versions a record of this task starts on now: each department checks its own
    items, a joint task the checklists of its departments, any other task its department's
    (planning.joint merges tasks into joint ones). The tablets' day pack pins the same."""
    departments = [*task.departments.values_list("pk", flat=True)] or [task.department_id]
    return list(checklists_current(scene=task.enterprise.scene).filter(department__in=departments))


def _pinned_checklists(task: InspectionTask, checklists: Sequence[Checklist]) -> list[Checklist]:
    """The versions a tablet pinned in its day pack, if they can be this task's: published (or
    superseded since), of its scene and departments, one per department."""
    departments = {*task.departments.values_list("pk", flat=True)} or {task.department_id}
    seen = set()
    for checklist in checklists:
        if (
            checklist.scene_id != task.enterprise.scene_id
            or checklist.department_id not in departments
            or checklist.status == VersionStatus.DRAFT
            or checklist.department_id in seen
        ):
            raise _refuse(
                _("These checklist versions cannot be used for this task."), "invalid_checklist_versions", 422
            )
        seen.add(checklist.department_id)
    return list(checklists)


@transaction.atomic
def inspection_start(
    *,
    task: InspectionTask,
    actor,
    checklists: Sequence[Checklist] | None = None,
    client_id: uuid.UUID | None = None,
    device_at: datetime | None = None,
) -> Inspection:
    """Open the on-site record, snapshotting the scene's current checklists. Starting twice resumes.

    A record a tablet started offline (services.offline) gives the versions pinned in its day pack
    (``checklists``: kept even when a newer version was published meanwhile), the tablet's id for
    the record (``client_id``) and when the inspector started it by the tablet's clock."""
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
    versions = task_checklists(task) if checklists is None else _pinned_checklists(task, checklists)
    merged = scene_checklist(scene=task.enterprise.scene, enterprise=task.enterprise, checklists=versions)
    if not merged.items:
        raise _refuse(_("There is no published checklist for this scene."), "no_checklist")
    inspection = Inspection.objects.create(
        task=task,
        enterprise=task.enterprise,
        started_by=actor,
        client_id=client_id,
        device_started_at=device_at,
    )
    inspection.checklists.set(versions)
    task.status = InspectionTask.Status.IN_PROGRESS
    task.save(update_fields=["status"])
    data = {"task": task.pk, "versions": sorted(f"{c.department.code}:v{c.version}" for c in versions)}
    if client_id is not None:
        data.update(client_id=str(client_id), device_started_at=device_at)
    audit_record(actor=actor, action="inspection.start", target=inspection, data=data)
    # The tablet's answer (selectors.inspection_sheet) shows these items: not read again.
    inspection.sheet_checklist = merged
    return inspection


def inspection_items(inspection: Inspection) -> list[ChecklistItem]:
    """The snapshot's items that apply to the enterprise, in department and position order."""
    return record_checklist(inspection).items


def default_deadline(severities: Iterable[str], *, now: datetime | None = None) -> datetime:
    """The rectification deadline the most severe finding calls for (settings.RECTIFY_DAYS)."""
    worst = min(severities, key=SEVERITY_ORDER.index)
    now = now or timezone.now()
    return now + timedelta(days=settings.RECTIFY_DAYS[worst])


def _content_answers(*, many: bool = False):
    """The answers in the content's order (item__pk last: stable even if two items ever shared a
    department and position). ``many``: for thousands of records at once, the items are fetched
    once each and shared, not joined into every answer."""
    items = ChecklistItem.objects.select_related("checklist__department")
    answers = (
        InspectionAnswer.objects.prefetch_related(Prefetch("item", queryset=items))
        if many
        else InspectionAnswer.objects.select_related("item__checklist__department")
    )
    # Many: into a list per answer (no related manager built for each of a million answers).
    photos = Prefetch("photos", to_attr="content_photos") if many else "photos"
    return answers.prefetch_related(photos).order_by(
        "item__checklist__department__code", "item__position", "item__pk"
    )


def _photos(answer) -> Iterable:
    photos = getattr(answer, "content_photos", None)
    return answer.photos.all() if photos is None else photos


def inspection_content_prefetch() -> list[Prefetch]:
    """What inspection_content reads, to prefetch when checking many records at once
    (supervision.inspections.integrity, for verify_audit); the queryset also needs
    select_related("enterprise")."""
    return [
        Prefetch("answers", queryset=_content_answers(many=True), to_attr="content_answers"),
        Prefetch(
            "checklists",
            queryset=Checklist.objects.select_related("department"),
            to_attr="content_checklists",
        ),
        Prefetch(
            "signatures", queryset=Signature.objects.select_related("inspector"), to_attr="content_signatures"
        ),
    ]


def inspection_content(inspection: Inspection) -> dict:
    """What the submitted record says, canonically: hashed into the audit chain at submit, and
    recomputed from the stored rows by verify_audit and /v/ (with inspection_content_prefetch's
    rows when given)."""
    answers = getattr(inspection, "content_answers", None)
    if answers is None:
        answers = _content_answers().filter(inspection=inspection)
    checklists = getattr(inspection, "content_checklists", None)
    if checklists is None:
        checklists = inspection.checklists.select_related("department")
    signatures = getattr(inspection, "content_signatures", None)
    if signatures is None:
        signatures = inspection.signatures.select_related("inspector")
    deadline = inspection.rectify_deadline
    return {
        "enterprise": inspection.enterprise.uscc,
        "task": inspection.task_id,
        "versions": sorted(f"{c.department.code}:v{c.version}" for c in checklists),
        "answers": [
            {
                "department": a.item.checklist.department.code,
                "item": a.item.code,
                "result": a.result,
                "note": a.note,
                "photos": sorted(p.sha256 for p in _photos(a)),
            }
            for a in answers
        ],
        "note": inspection.note,
        "conclusion": inspection.conclusion,
        # In UTC, as the database gives it back: a deadline typed in local time must hash the same
        # when recomputed from the stored row.
        "rectify_deadline": deadline.astimezone(UTC).isoformat() if deadline else None,
        "representative": inspection.representative_name,
        "representative_refused": inspection.refusal_note if inspection.representative_refused else None,
        "signatures": sorted(
            f"{s.role}:{s.inspector.certificate_no if s.inspector else ''}:{s.sha256}" for s in signatures
        ),
    }


def order_issue_content(order: RectificationOrder, findings: Iterable[Finding]) -> dict:
    """What the "order.issue" event records of an order; verify_audit compares the stored order
    with it."""
    return {
        "number": order.number,
        "deadline": order.deadline,
        "findings": sorted(f.item.code for f in findings),
    }


def inspection_submit(
    *,
    inspection: Inspection,
    actor,
    submission_id: uuid.UUID,
    conclusion: str,
    rectify_deadline: datetime | None = None,
    done_at: datetime | None = None,
    visible: VisibleRecords | None = None,
) -> Inspection:
    """Close the record. Idempotent by the client's ``submission_id``: a retried submit, or the
    second tablet of the pair sending the same submission, gets the same record back.
    ``visible``: a function that builds the caller's permission filter; called only when the
    actor is not one of the task's inspectors (a record outside it is not found).

    ``done_at``: when the inspector submitted on a tablet offline, by its clock (not after now).
    The deadline is judged from then, as the business was told on site; submitted_at stays the
    server's time."""
    if conclusion not in Inspection.Conclusion.values:
        raise _refuse(_("Conclude with pass, rectify or refer."), "invalid_conclusion", 422)
    if rectify_deadline is not None and timezone.is_naive(rectify_deadline):
        # A date and time without a zone means local time (Asia/Shanghai), as people write them.
        rectify_deadline = timezone.make_aware(rectify_deadline)
    try:
        with transaction.atomic():
            return _submit(inspection, actor, submission_id, conclusion, rectify_deadline, done_at, visible)
    except IntegrityError:
        # Another inspection already used this submission id: a client bug, never a silent merge.
        raise _refuse(
            _("This submission id belongs to another inspection."), "submission_id_reused"
        ) from None


def _submit(
    inspection, actor, submission_id, conclusion, rectify_deadline, done_at=None, visible=None
) -> Inspection:
    # Locked with its task, so that a concurrent task_cancel either sees this submit or is seen by it.
    locked = _lock_record(inspection, actor, visible)
    if locked.status == Inspection.Status.SUBMITTED:
        if locked.submission_id == submission_id:
            return locked
        raise _refuse(_("This inspection is already submitted."), "already_submitted")
    if locked.task.status == InspectionTask.Status.CANCELLED:
        raise _refuse(_("This task is cancelled; its record can no longer change."), "task_cancelled")
    # What the record holds, read once: for the checks, the content hash and the tablet's answer.
    checklists = list(locked.checklists.select_related("department"))
    merged = record_checklist(locked, checklists=checklists)
    items = {item.pk for item in merged.items}
    stored = list(_content_answers().filter(inspection=locked))
    answers = {a.item_id: a for a in stored if a.item_id in items}
    signatures = list(locked.signatures.select_related("inspector"))
    missing = [item.code for item in merged.items if item.pk not in answers]
    if missing:
        raise _refuse(_("Answer every item before submitting."), "incomplete", 422, {"missing": missing})
    signed = {s.inspector_id for s in signatures if s.role == Signature.Role.INSPECTOR}
    team = set(locked.task.inspectors.values_list("pk", flat=True))
    if not team <= signed:
        raise _refuse(_("Every assigned inspector must sign."), "unsigned", 422)
    representative = any(s.role == Signature.Role.REPRESENTATIVE for s in signatures)
    if not representative and not locked.representative_refused:
        raise _refuse(
            _("The representative signs, or their refusal is recorded."), "representative_unsigned", 422
        )
    failing = [a for a in answers.values() if a.result == Result.NON_COMPLIANT]
    if conclusion == Inspection.Conclusion.PASS and failing:
        raise _refuse(_("An inspection with findings cannot pass."), "findings_need_action", 422)
    if conclusion == Inspection.Conclusion.RECTIFY and not failing:
        raise _refuse(_("There is nothing to rectify."), "nothing_to_rectify", 422)
    now = timezone.now()
    on_site = min(done_at, now) if done_at is not None else now
    if conclusion == Inspection.Conclusion.RECTIFY:
        if rectify_deadline is None:
            rectify_deadline = default_deadline([a.item.severity for a in failing], now=on_site)
        elif rectify_deadline <= on_site:
            raise _refuse(_("The deadline is in the past."), "deadline_in_past", 422)
    else:
        rectify_deadline = None
    locked.status, locked.conclusion, locked.rectify_deadline = (
        Inspection.Status.SUBMITTED,
        conclusion,
        rectify_deadline,
    )
    locked.submitted_at, locked.submitted_by, locked.submission_id = now, actor, submission_id
    locked.device_submitted_at = on_site if done_at is not None else None
    # Answers to items that no longer apply (the enterprise's traits changed) are not part of the record.
    if stale := [a.pk for a in stored if a.item_id not in items]:
        InspectionAnswer.objects.filter(pk__in=stale).delete()
    # The rows read above, in the content's order; the tablet's answer (selectors.inspection_sheet)
    # is built from them too.
    locked.content_checklists, locked.content_signatures = checklists, signatures
    locked.content_answers = list(answers.values())
    locked.sheet_checklist = merged
    content = inspection_content(locked)
    locked.content_hash = content_digest(content)
    locked.save()
    order = None
    if conclusion == Inspection.Conclusion.RECTIFY:
        order = RectificationOrder.objects.create(
            number=f"ZG{timezone.localtime(now):%Y%m%d}-{locked.pk:07d}",
            enterprise=locked.enterprise,
            inspection=locked,
            deadline=rectify_deadline,
        )
    # One INSERT for all of them, each with its order from the start (no signal listens for a finding).
    findings = Finding.objects.bulk_create(
        [
            Finding(inspection=locked, answer=a, item=a.item, severity=a.item.severity, order=order)
            for a in failing
        ]
    )
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
            **({"device_submitted_at": on_site} if done_at is not None else {}),
            "parts": part_digests(content),
        },
    )
    if order:
        audit_record(
            actor=actor,
            action="order.issue",
            target=order,
            data=order_issue_content(order, findings),
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
