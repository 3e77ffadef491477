"""Writing the loop of the stories: complaints, tasks, submitted inspections with their answers,
signatures and content hashes, findings, orders, rectifications and ratings."""

import hashlib
from datetime import UTC

from django.utils import timezone

from core.audit import canonical
from core.models import Complaint, Department
from demo.past.bulk import Bulk
from demo.past.signatures import SignatureFiles
from demo.staff import Staff
from demo.stories import Story, Visit
from supervision.models import (
    Evaluation,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationEntry,
    RectificationOrder,
    Signature,
)


class LoopWriter:
    """Turns the stories' complaints and visits into rows, model by model, in the order their
    foreign keys need."""

    def __init__(self, stories: list[Story], staff: Staff, bulk: Bulk):
        self.stories, self.staff, self._bulk = stories, staff, bulk
        self.departments = dict(Department.objects.values_list("code", "id"))
        self.files = SignatureFiles()

    def write(self) -> None:
        complaints = self._complaints()
        visits = [(story, visit) for story in self.stories for visit in story.visits]
        # Re-inspection tasks point at the order they check, which the first round creates.
        first = [(s, v) for s, v in visits if v.origin is None]
        again = [(s, v) for s, v in visits if v.origin is not None]
        orders: dict[int, RectificationOrder] = {}
        inspections: dict[int, Inspection] = {}
        for round_visits in (first, again):
            tasks = self._tasks(round_visits, complaints, orders)
            done = [(s, v) for s, v in round_visits if v.status == "done"]
            inspections.update(self._inspections(done, tasks))
            orders.update(self._orders(done, inspections))
        done = [(s, v) for s, v in visits if v.status == "done"]
        findings = self._answers(done, inspections, orders)
        self._signatures(done, inspections)
        self._rectifications(done, orders, findings)
        self._evaluations(done, inspections)

    # complaints, tasks, inspections and orders

    def _complaints(self) -> dict[int, Complaint]:
        made: dict[int, Complaint] = {}
        every = [(story, c) for story in self.stories for c in story.complaints]
        # Merged ones point at an earlier complaint that is not itself merged.
        for merged in (False, True):
            rows = []
            for story, c in every:
                if (c.duplicate_of is not None) != merged:
                    continue
                row = Complaint(
                    enterprise_id=story.subject.pk,
                    text=c.text,
                    contact=c.contact,
                    status=c.status,
                    created_at=c.created_at,
                    triaged_at=c.triaged_at,
                    triaged_by_id=c.triaged_by,
                    triage_note=c.triage_note,
                    duplicate_of=made[id(c.duplicate_of)] if merged else None,
                )
                made[id(c)] = row
                rows.append(row)
            self._bulk(Complaint, rows)
        return made

    def _tasks(self, visits, complaints, orders) -> dict[int, InspectionTask]:
        tasks = {
            id(v): InspectionTask(
                enterprise_id=story.subject.pk,
                department_id=self.departments[v.department],
                complaint=complaints[id(v.complaint)] if v.complaint else None,
                source=v.source,
                status=v.status,
                due_from=v.due_from,
                due_to=v.due_to,
                note=v.note,
                origin_order=orders[id(v.origin)] if v.origin else None,
                created_by_id=v.created_by,
                created_at=v.created_at,
                cancelled_at=v.cancelled_at,
                cancelled_by_id=v.cancelled_by,
                cancel_reason=v.cancel_reason,
            )
            for story, v in visits
        }
        self._bulk(InspectionTask, list(tasks.values()))
        through = InspectionTask.inspectors.through
        self._bulk(
            through,
            [
                through(inspectiontask_id=tasks[id(v)].pk, inspector_id=inspector)
                for _story, v in visits
                for inspector in v.inspectors
            ],
        )
        return tasks

    def _signers(self, story: Story, v: Visit) -> list[tuple[str, int | None, str, str]]:
        """(role, inspector id, file name, sha256) of everyone who signed the record."""
        signers = []
        for inspector in v.inspectors:
            name, digest = self.files.signature(f"inspector-{self.staff.certificates[inspector]}")
            signers.append(("inspector", inspector, name, digest))
        if not v.refusal_note:
            who = hashlib.sha256(v.representative.encode()).hexdigest()[:8]
            name, digest = self.files.signature(f"representative-{story.subject.uscc}-{who}")
            signers.append(("representative", None, name, digest))
        return signers

    def _content_hash(self, story: Story, v: Visit, task: InspectionTask) -> str:
        """What supervision.inspections.services.record.inspection_content hashes at submit."""
        checklist = v.checklist
        content = {
            "enterprise": story.subject.uscc,
            "task": task.pk,
            "versions": [f"{checklist.department}:v{checklist.version}"],
            "answers": [
                {
                    "department": a.item.department,
                    "item": a.item.code,
                    "result": a.result,
                    "note": a.note,
                    "photos": [],
                }
                for a in sorted(v.answers, key=lambda a: (a.item.department, a.item.position))
            ],
            "note": v.record_note,
            "conclusion": v.conclusion,
            "rectify_deadline": v.order.deadline.astimezone(UTC).isoformat() if v.order else None,
            "representative": v.representative,
            "representative_refused": v.refusal_note or None,
            "signatures": sorted(
                f"{role}:{self.staff.certificates[inspector] if inspector else ''}:{digest}"
                for role, inspector, _name, digest in self._signers(story, v)
            ),
        }
        return hashlib.sha256(canonical(content).encode()).hexdigest()

    def _inspections(self, done, tasks) -> dict[int, Inspection]:
        made = {}
        for story, v in done:
            lead = self.staff.inspector_users[v.inspectors[0]]
            made[id(v)] = Inspection(
                task=tasks[id(v)],
                enterprise_id=story.subject.pk,
                status=Inspection.Status.SUBMITTED,
                started_by_id=lead,
                started_at=v.started_at,
                updated_at=v.submitted_at,
                note=v.record_note,
                conclusion=v.conclusion,
                rectify_deadline=v.order.deadline if v.order else None,
                representative_name=v.representative,
                representative_refused=bool(v.refusal_note),
                refusal_note=v.refusal_note,
                submitted_at=v.submitted_at,
                submitted_by_id=lead,
                submission_id=v.submission_id,
                content_hash=self._content_hash(story, v, tasks[id(v)]),
            )
        self._bulk(Inspection, list(made.values()))
        through = Inspection.checklists.through
        self._bulk(
            through,
            [through(inspection_id=made[id(v)].pk, checklist_id=v.checklist.pk) for _story, v in done],
        )
        return made

    def _orders(self, done, inspections) -> dict[int, RectificationOrder]:
        made = {}
        for story, v in done:
            if v.order is None:
                continue
            o, inspection = v.order, inspections[id(v)]
            made[id(o)] = RectificationOrder(
                number=f"ZG{timezone.localtime(v.submitted_at):%Y%m%d}-{inspection.pk:07d}",
                enterprise_id=story.subject.pk,
                inspection=inspection,
                status=o.status,
                deadline=o.deadline,
                issued_at=v.submitted_at,
                closed_at=o.closed_at,
                closed_by_id=o.closed_by,
                escalated_at=o.escalated_at,
                case_note=o.case_note,
            )
        self._bulk(RectificationOrder, list(made.values()))
        return made

    # what the records hold

    def _answers(self, done, inspections, orders) -> dict[int, list[Finding]]:
        """Every answer, and the findings of the non-compliant ones (by visit)."""
        answers = []
        for _story, v in done:
            lead = self.staff.inspector_users[v.inspectors[0]]
            for a in v.answers:
                answers.append(
                    (
                        v,
                        a,
                        InspectionAnswer(
                            inspection=inspections[id(v)],
                            item_id=a.item.pk,
                            result=a.result,
                            note=a.note,
                            updated_at=a.at,
                            updated_by_id=lead,
                        ),
                    )
                )
        self._bulk(InspectionAnswer, [row for _v, _a, row in answers])
        findings: dict[int, list[Finding]] = {}
        for v, a, row in answers:
            if a.result == "non_compliant":
                findings.setdefault(id(v), []).append(
                    Finding(
                        inspection=inspections[id(v)],
                        answer=row,
                        item_id=a.item.pk,
                        severity=a.item.severity,
                        order=orders[id(v.order)] if v.order else None,
                    )
                )
        self._bulk(Finding, [f for fs in findings.values() for f in fs])
        return findings

    def _signatures(self, done, inspections) -> None:
        rows = []
        for story, v in done:
            for role, inspector, name, digest in self._signers(story, v):
                rows.append(
                    Signature(
                        inspection=inspections[id(v)],
                        role=role,
                        inspector_id=inspector,
                        image=name,
                        sha256=digest,
                        signed_at=v.signed_at,
                    )
                )
        self._bulk(Signature, rows)

    def _rectifications(self, done, orders, findings) -> None:
        made = []
        for story, v in done:
            if v.order is None:
                continue
            for r in v.order.rectifications:
                row = Rectification(
                    order=orders[id(v.order)],
                    status=r.status,
                    note=r.note,
                    submitted_by_id=story.subject.owner,
                    submitted_at=r.submitted_at,
                    reviewed_by_id=r.reviewed_by,
                    reviewed_at=r.reviewed_at,
                    review_note=r.review_note,
                )
                made.append((row, findings[id(v)], v.order.entry_texts))
        self._bulk(Rectification, [row for row, _f, _t in made])
        self._bulk(
            RectificationEntry,
            [
                RectificationEntry(rectification=row, finding=finding, text=text)
                for row, order_findings, entry_texts in made
                for finding, text in zip(order_findings, entry_texts, strict=True)
            ],
        )

    def _evaluations(self, done, inspections) -> None:
        self._bulk(
            Evaluation,
            [
                Evaluation(
                    inspection=inspections[id(v)],
                    rating=v.evaluation.rating,
                    comment=v.evaluation.comment,
                    created_by_id=story.subject.owner,
                    created_at=v.evaluation.created_at,
                )
                for story, v in done
                if v.evaluation is not None
            ],
        )
