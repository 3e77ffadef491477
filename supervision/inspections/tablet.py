"""Reads for the inspectors' tablets working offline (docs/OFFLINE.md): the day pack a tablet takes
while it has a signal, and a record as a tablet sees it after a sync (its current answers, the
answers two tablets gave differently, the history)."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from checklists.models import ChecklistItem, ManualClause, VersionStatus
from core import permissions
from core.models import Inspector
from core.names import person_name
from supervision.inspections.services import MAX_PHOTOS_PER_ANSWER, NOTE_MAX, task_checklists
from supervision.models import (
    AnswerEvent,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    RectificationOrder,
    SelfInspection,
)

# The most tasks one pack carries (earliest due first); more is a planning problem, not a day.
PACK_TASKS = 200
# The most previous findings per enterprise: what the inspector looks at again first.
FINDINGS_PER_ENTERPRISE = 10
MAX_DAYS_AHEAD = 14


def _inspector_out(inspector: Inspector) -> dict:
    return {
        "id": inspector.pk,
        "name": person_name(inspector.user),
        "certificate_no": inspector.certificate_no,
        "department": inspector.department.code,
        "department_name": inspector.department.display_name,
    }


def _item_out(item: ChecklistItem) -> dict:
    return {
        "id": item.pk,
        "code": item.code,
        "position": item.position,
        "department": item.checklist.department.code,
        "question": item.display_question,
        "legal_basis": item.legal_basis,
        "severity": item.severity,
        "severity_label": item.get_severity_display(),
        "method": item.method,
        "method_label": item.get_method_display(),
        "required_action": item.display_required_action,
        "clause": item.clause_code or None,
    }


def _answer_out(answer: InspectionAnswer) -> dict:
    return {
        "item": answer.item_id,
        "result": answer.result,
        "note": answer.note,
        "photos": [photo.sha256 for photo in answer.photos.all()],
        "answered_at": answer.answered_at or answer.updated_at,
        "by": person_name(answer.updated_by),
    }


def day_pack(*, user, days: int | None = None, now: datetime | None = None) -> dict:
    """Everything a tablet needs for the inspector's open tasks due today (overdue ones included)
    and in the next ``days`` days (settings.TABLET_DAYS_AHEAD): each task with its enterprise's
    card, open orders and previous findings, the co-inspectors, the checklist versions its record
    uses (pinned: a started record's snapshot, else the versions current now) with the items that
    apply to the enterprise and the manual clauses they link to. Texts in the request's language."""
    now = now or timezone.now()
    days = settings.TABLET_DAYS_AHEAD if days is None else max(0, min(days, MAX_DAYS_AHEAD))
    today = timezone.localdate(now)
    until = today + timedelta(days=days)
    me = permissions.roles_of(user).inspector
    tasks = list(
        InspectionTask.objects.filter(
            inspectors=me,
            status__in=(InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS),
            due_from__lte=until,
        )
        .select_related(
            "enterprise__scene", "enterprise__district", "department", "complaint", "origin_order"
        )
        .prefetch_related(
            Prefetch(
                "inspectors", queryset=Inspector.objects.select_related("user", "department").order_by("pk")
            ),
            "departments",
        )
        .order_by("due_to", "pk")[:PACK_TASKS]
    )
    records = {
        inspection.task_id: inspection
        for inspection in Inspection.objects.filter(task__in=tasks).prefetch_related(
            "checklists",
            Prefetch(
                "answers",
                queryset=InspectionAnswer.objects.select_related("updated_by").prefetch_related("photos"),
            ),
        )
    }
    # The versions each task's record uses; tasks of one scene and departments share them.
    versions_of, shared = {}, {}
    for task in tasks:
        if task.pk in records:
            versions_of[task.pk] = sorted(c.pk for c in records[task.pk].checklists.all())
            continue
        key = (
            task.enterprise.scene_id,
            tuple(sorted(d.pk for d in task.departments.all())),
            task.department_id,
        )
        if key not in shared:
            shared[key] = sorted(c.pk for c in task_checklists(task))
        versions_of[task.pk] = shared[key]
    version_ids = {pk for pks in versions_of.values() for pk in pks}
    items = list(
        ChecklistItem.objects.filter(checklist__in=version_ids)
        .select_related("checklist__department", "checklist__scene")
        .order_by("checklist__department__code", "position")
    )
    checklists = {}
    for item in items:
        checklist = item.checklist
        entry = checklists.setdefault(
            checklist.pk,
            {
                "id": checklist.pk,
                "scene": checklist.scene.code,
                "department": checklist.department.code,
                "department_name": checklist.department.display_name,
                "version": checklist.version,
                "title": checklist.display_title,
                "superseded": checklist.status == VersionStatus.SUPERSEDED,
                "items": [],
            },
        )
        entry["items"].append(_item_out(item))
    enterprises = {task.enterprise_id: task.enterprise for task in tasks}
    in_scope = set(
        permissions.enterprises_visible_to(user).filter(pk__in=enterprises).values_list("pk", flat=True)
    )
    manuals = _clauses(items)
    orders = _open_orders(enterprises)
    findings = _previous_findings(enterprises)
    self_checks = dict(
        SelfInspection.objects.filter(enterprise__in=enterprises, status=SelfInspection.Status.SUBMITTED)
        .order_by("enterprise_id", "submitted_at")
        .values_list("enterprise_id", "submitted_at")
    )
    by_item = {item.pk: item for item in items}
    return {
        "generated_at": now,
        "day_from": today,
        "day_to": until,
        "inspector": _inspector_out(me),
        "limits": {
            "max_photos_per_item": MAX_PHOTOS_PER_ANSWER,
            "note_max": NOTE_MAX,
            "photo_max_bytes": settings.PHOTO_MAX_BYTES,
        },
        "tasks": [
            _task_out(
                task,
                me=me,
                record=records.get(task.pk),
                versions=versions_of[task.pk],
                items=[i for i in items if i.checklist_id in versions_of[task.pk]],
                by_item=by_item,
                personal=task.enterprise_id in in_scope,
                orders=orders.get(task.enterprise_id, []),
                findings=findings.get(task.enterprise_id, []),
                self_inspected=self_checks.get(task.enterprise_id),
                today=today,
            )
            for task in tasks
        ],
        "checklists": list(checklists.values()),
        "manuals": manuals,
    }


def _task_out(
    task, *, me, record, versions, items, by_item, personal, orders, findings, self_inspected, today
):
    enterprise = task.enterprise
    return {
        "id": task.pk,
        "status": task.status,
        "source": task.source,
        "source_label": task.get_source_display(),
        "due_from": task.due_from,
        "due_to": task.due_to,
        "late": task.due_to < today,
        "note": task.note,
        "origin": task.origin_text(),
        "inspectors": [_inspector_out(i) for i in task.inspectors.all()],
        "co_inspectors": [i.pk for i in task.inspectors.all() if i.pk != me.pk],
        "enterprise": {
            "uscc": enterprise.uscc,
            "name": enterprise.name,
            "address": enterprise.address,
            "scene": enterprise.scene.code,
            "scene_name": enterprise.scene.display_name,
            "district": enterprise.district.display_name,
            "legal_representative": enterprise.legal_representative if personal else "",
            "licence_status": enterprise.licence_status,
            "licence_status_label": enterprise.get_licence_status_display(),
            "latitude": float(enterprise.latitude) if enterprise.latitude is not None else None,
            "longitude": float(enterprise.longitude) if enterprise.longitude is not None else None,
            "last_self_inspection": self_inspected,
        },
        "checklists": versions,
        # The pinned versions' items that apply to this enterprise, in the order the record shows them.
        "items": [item.pk for item in items if item.applies_to(enterprise)],
        "inspection": _record_out(record) if record is not None else None,
        "open_orders": orders,
        "previous_findings": findings,
    }


def _record_out(record: Inspection) -> dict:
    return {
        "id": record.pk,
        "client_id": record.client_id,
        "status": record.status,
        "started_at": record.started_at,
        "note": record.note,
        "representative_name": record.representative_name,
        "answers": [_answer_out(answer) for answer in record.answers.all()],
    }


def _clauses(items: list[ChecklistItem]) -> dict:
    """scene code -> clause code -> the current manual's clause the items link to."""
    wanted = defaultdict(set)
    for item in items:
        if item.clause_code:
            wanted[item.checklist.scene_id].add(item.clause_code)
    manuals = {}
    for scene_id, codes in wanted.items():
        clauses = ManualClause.objects.filter(
            manual__scene_id=scene_id, manual__status=VersionStatus.PUBLISHED, code__in=codes
        ).select_related("manual__scene")
        for clause in clauses:
            manuals.setdefault(clause.manual.scene.code, {})[clause.code] = {
                "text": clause.display_text,
                "legal_basis": clause.legal_basis,
            }
    return manuals


def _open_orders(enterprises: dict) -> dict:
    status = RectificationOrder.Status
    orders = defaultdict(list)
    now = timezone.now()
    for order in (
        RectificationOrder.objects.filter(
            enterprise__in=enterprises, status__in=(status.ISSUED, status.SUBMITTED, status.RETURNED)
        )
        .prefetch_related(Prefetch("findings", queryset=Finding.objects.select_related("item", "answer")))
        .order_by("deadline")
    ):
        orders[order.enterprise_id].append(
            {
                "number": order.number,
                "status": order.status,
                "status_label": order.get_status_display(),
                "deadline": order.deadline,
                "overdue": order.status in RectificationOrder.OPEN and order.deadline < now,
                "findings": [
                    {
                        "item_code": f.item.code,
                        "question": f.item.display_question,
                        "severity": f.severity,
                        "note": f.answer.note,
                    }
                    for f in order.findings.all()
                ],
            }
        )
    return orders


def _previous_findings(enterprises: dict) -> dict:
    findings = defaultdict(list)
    rows = (
        Finding.objects.filter(
            inspection__enterprise__in=enterprises, inspection__status=Inspection.Status.SUBMITTED
        )
        .select_related("item", "answer", "inspection")
        .order_by("-inspection__submitted_at", "item__position")[: FINDINGS_PER_ENTERPRISE * len(enterprises)]
    )
    for finding in rows:
        found = findings[finding.inspection.enterprise_id]
        if len(found) < FINDINGS_PER_ENTERPRISE:
            found.append(
                {
                    "inspected_on": timezone.localdate(finding.inspection.submitted_at),
                    "item_code": finding.item.code,
                    "question": finding.item.display_question,
                    "severity": finding.severity,
                    "note": finding.answer.note,
                }
            )
    return findings


# --- a record after a sync ----------------------------------------------------------------------------


def answer_history(*, inspection: Inspection, departments: set[int] | None = None) -> list[dict]:
    """Every answer given to the record, by item and the inspector's time; with ``departments``,
    those of these departments' items only."""
    events = AnswerEvent.objects.filter(inspection=inspection)
    if departments is not None:
        events = events.filter(item__checklist__department_id__in=departments)
    return [
        {
            "item": event.item_id,
            "item_code": event.item.code,
            "result": event.result,
            "note": event.note,
            "photos": event.photos,
            "by": person_name(event.actor),
            "source": event.source,
            "client_id": event.client_id,
            "device_at": event.device_at,
            "received_at": event.received_at,
            "applied": event.applied,
        }
        for event in events.select_related("item", "actor").order_by(
            "item__checklist__department__code", "item__position", "device_at", "pk"
        )
    ]


def answer_conflicts(*, inspection: Inspection) -> list[dict]:
    """Items two inspectors answered differently: the answer kept (the later by the inspector's
    own time) and each other inspector's last answer that differs from it."""
    answers = {
        a.item_id: a
        for a in InspectionAnswer.objects.filter(inspection=inspection).select_related("updated_by")
    }
    latest = {}
    for event in (
        AnswerEvent.objects.filter(inspection=inspection)
        .select_related("actor", "item")
        .order_by("device_at", "pk")
    ):
        latest[(event.item_id, event.actor_id)] = event
    conflicts = defaultdict(list)
    for (item_id, _actor), event in latest.items():
        answer = answers.get(item_id)
        if answer is None or (event.result, event.note) == (answer.result, answer.note):
            continue
        if event.actor_id == answer.updated_by_id:
            continue  # the same inspector changed their mind
        conflicts[item_id].append(event)
    return [
        {
            "item": item_id,
            "item_code": events[0].item.code,
            "kept": {
                "result": answers[item_id].result,
                "note": answers[item_id].note,
                "by": person_name(answers[item_id].updated_by),
                "at": answers[item_id].answered_at or answers[item_id].updated_at,
            },
            "others": [
                {"result": e.result, "note": e.note, "by": person_name(e.actor), "at": e.device_at}
                for e in events
            ],
        }
        for item_id, events in conflicts.items()
    ]


def record_state(*, inspection: Inspection) -> dict:
    """What a tablet keeps of a record after a sync: its ids and status, its current answers and
    the conflicts to show."""
    inspection = Inspection.objects.select_related("task").get(pk=inspection.pk)
    answers = (
        InspectionAnswer.objects.filter(inspection=inspection)
        .select_related("updated_by")
        .prefetch_related("photos")
        .order_by("item_id")
    )
    return {
        "id": inspection.pk,
        "client_id": inspection.client_id,
        "task": inspection.task_id,
        "status": inspection.status,
        "submitted_at": inspection.submitted_at,
        "content_hash": inspection.content_hash,
        "url": reverse("loop:inspection", args=[inspection.pk]),
        "answers": [_answer_out(answer) for answer in answers],
        "conflicts": answer_conflicts(inspection=inspection),
    }
