"""The on-site record opened and closed: start snapshots the checklists, submit checks that
everything is answered and signed, freezes the record into a content hash and issues the order."""

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from checklists.models import ChecklistItem
from checklists.selectors import checklists_current, scene_checklist
from core import permissions
from core.audit import audit_record, canonical
from core.models import Inspector
from core.signals import enterprise_changed
from supervision.inspections.services._common import SEVERITY_ORDER, _refuse
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


def _assigned_inspector(actor, task: InspectionTask) -> Inspector:
    inspector = permissions.roles_of(actor).inspector
    if inspector is None or not task.inspectors.filter(pk=inspector.pk).exists():
        raise _refuse(_("Only the inspectors assigned to this task may do this."), "not_assigned", 403)
    return inspector


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
