"""Reads of the inspection loop: sheets for the tablet and the API, the overdue rule, today's tasks."""

from datetime import date, datetime

from django.db.models import Prefetch, Q, QuerySet

from checklists.selectors import MergedChecklist, scene_checklist
from core import permissions
from supervision.inspections.permissions import WHOLE, item_wall
from supervision.models import (
    Inspection,
    InspectionAnswer,
    InspectionTask,
    RectificationEntry,
    RectificationOrder,
)


def overdue_q(*, now: datetime, prefix: str = "") -> Q:
    """The one definition of overdue, as a filter: past the deadline while the business owes an answer."""
    return Q(**{f"{prefix}status__in": RectificationOrder.OPEN, f"{prefix}deadline__lt": now})


def tasks_for_day(*, user, day: date) -> QuerySet[InspectionTask]:
    """An inspector's open tasks whose due window includes the day, overdue ones included."""
    inspector = permissions.roles_of(user).inspector
    if inspector is None:
        return InspectionTask.objects.none()
    return (
        InspectionTask.objects.filter(
            inspectors=inspector,
            status__in=(InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS),
            due_from__lte=day,
        )
        .select_related("enterprise__scene", "enterprise__district", "complaint", "origin_order")
        .order_by("due_to", "pk")
    )


def record_checklist(inspection: Inspection, *, checklists=None) -> MergedChecklist:
    """The record's snapshot: its pinned checklist versions (``checklists``: those versions, when the
    caller has read them already) merged, with the items that apply to its enterprise."""
    return scene_checklist(
        scene=inspection.enterprise.scene,
        enterprise=inspection.enterprise,
        checklists=inspection.checklists.all() if checklists is None else checklists,
    )


def inspection_sheet(*, inspection: Inspection, viewer=None) -> dict:
    """Everything the tablet shows of one record: items with legal basis, manual clause and answer.

    With a ``viewer``, only the items of the departments whose results they see
    (item_wall in permissions.py: each department sees its own items). Without one, every item:
    for the record's own inspectors writing it (the tablet, the write operations' answers).

    A record that a write has just read carries those rows, and they are not read again: its
    merged checklist (``sheet_checklist``: inspection_start and inspection_submit), and the
    submitted record's answers with their photos (``content_answers``) and signatures
    (``content_signatures``: inspection_submit, which froze them)."""
    merged = getattr(inspection, "sheet_checklist", None) or record_checklist(inspection)
    wall = item_wall(viewer, inspection) if viewer is not None else WHOLE
    answers = getattr(inspection, "content_answers", None)
    if answers is None:
        answers = InspectionAnswer.objects.filter(inspection=inspection).prefetch_related("photos")
    answers = {a.item_id: a for a in answers}
    signatures = getattr(inspection, "content_signatures", None)
    if signatures is None:
        signatures = inspection.signatures.order_by("signed_at")
    items = [
        {
            "id": item.pk,
            "code": item.code,
            "department": item.checklist.department.code,
            "department_name": item.checklist.department.display_name,
            "question": item.display_question,
            "legal_basis": item.legal_basis,
            "severity": item.severity,
            "severity_label": item.get_severity_display(),
            "method": item.method,
            "method_label": item.get_method_display(),
            "required_action": item.display_required_action,
            "clause": merged.clauses[item.clause_code].display_text
            if item.clause_code in merged.clauses
            else None,
            "answer": answers.get(item.pk),
        }
        for item in merged.items
        if wall.allows(item.checklist.department_id)
    ]
    order = RectificationOrder.objects.filter(inspection=inspection).first()
    return {
        "id": inspection.pk,
        "task_id": inspection.task_id,
        "enterprise": inspection.enterprise.uscc,
        "enterprise_obj": inspection.enterprise,
        "inspection": inspection,
        "status": inspection.status,
        "started_at": inspection.started_at,
        "updated_at": inspection.updated_at,
        "note": inspection.note,
        "representative_name": inspection.representative_name,
        "representative_refused": inspection.representative_refused,
        "refusal_note": inspection.refusal_note,
        "conclusion": inspection.conclusion,
        "rectify_deadline": inspection.rectify_deadline,
        "submitted_at": inspection.submitted_at,
        "content_hash": inspection.content_hash,
        "answered": sum(1 for item in items if item["answer"] is not None),
        "total": len(items),
        "items": items,
        "signatures": sorted(signatures, key=lambda signature: signature.signed_at),
        "order": order.number if order else None,
        "order_obj": order,
    }


def order_sheet(*, order: RectificationOrder, viewer) -> dict:
    """One order as its page and the API show it to ``viewer``: the findings of the departments
    whose items they see (item_wall), and the business's answers to those findings only."""
    wall = item_wall(viewer, order.inspection)
    findings = (
        order.findings.filter(wall.q())
        .select_related("item", "answer")
        .order_by("item__checklist__department__code", "item__position")
    )
    entries = (
        RectificationEntry.objects.filter(wall.q("finding__item__checklist__department"))
        .select_related("finding__item")
        .prefetch_related("photos")
        .order_by("finding_id")
    )
    rectifications = order.rectifications.prefetch_related(
        Prefetch("entries", queryset=entries, to_attr="shown_entries")
    ).order_by("-submitted_at")
    return {
        "id": order.pk,
        "number": order.number,
        "order": order,
        "enterprise": order.enterprise.uscc,
        "enterprise_name": order.enterprise.name,
        "inspection_id": order.inspection_id,
        "status": order.status,
        "deadline": order.deadline,
        "overdue": order.is_overdue,
        "issued_at": order.issued_at,
        "closed_at": order.closed_at,
        "findings": [
            {
                "id": f.pk,
                "item_code": f.item.code,
                "question": f.item.display_question,
                "legal_basis": f.item.legal_basis,
                "severity": f.severity,
                "required_action": f.item.display_required_action,
                "note": f.answer.note,
            }
            for f in findings
        ],
        "rectifications": list(rectifications),
        "wall": wall,
    }
