"""Writing the rest of the stories: self-inspections with their answers and issues, credit events,
and the previous system's records (imported history)."""

import hashlib
from datetime import datetime

from core.audit import canonical
from demo.past.bulk import Bulk
from demo.stories import Story, at_minute
from history.models import HistoricalFinding, HistoricalInspection, Source
from supervision.models import CreditEvent, SelfIdentifiedIssue, SelfInspection, SelfInspectionAnswer


def self_inspections_write(stories: list[Story], bulk: Bulk) -> None:
    checks = [(story, check) for story in stories for check in story.self_checks]
    made = []
    for story, check in checks:
        versions = story.subject.checklists
        content = {
            "enterprise": story.subject.uscc,
            "checklists": sorted(
                ({"department": c.department, "version": c.version} for c in versions),
                key=lambda label: (label["department"], label["version"]),
            ),
            "items": [
                {
                    "department": a.item.department,
                    "code": a.item.code,
                    "result": a.result,
                    "note": a.note,
                    "photos": [],
                }
                for a in sorted(check.answers, key=lambda a: (a.item.department, a.item.position, a.item.pk))
            ],
        }
        owner = story.subject.owner
        made.append(
            SelfInspection(
                enterprise_id=story.subject.pk,
                status=SelfInspection.Status.SUBMITTED,
                started_by_id=owner,
                started_at=check.started_at,
                submitted_by_id=owner,
                submitted_at=check.submitted_at,
                content_hash=hashlib.sha256(canonical(content).encode()).hexdigest(),
            )
        )
    bulk(SelfInspection, made)
    through = SelfInspection.checklists.through
    bulk(
        through,
        [
            through(selfinspection_id=row.pk, checklist_id=version.pk)
            for row, (story, _check) in zip(made, checks, strict=True)
            for version in story.subject.checklists
        ],
    )
    answers = [
        (
            story,
            check,
            a,
            SelfInspectionAnswer(
                self_inspection=row,
                item_id=a.item.pk,
                result=a.result,
                note=a.note,
                updated_at=check.submitted_at,
            ),
        )
        for row, (story, check) in zip(made, checks, strict=True)
        for a in check.answers
    ]
    bulk(SelfInspectionAnswer, [row for _s, _c, _a, row in answers])
    issues = []
    for story, check, a, row in answers:
        if a.result != "non_compliant":
            continue
        fixed_at, fix_note = check.fixes.get(a.item.pk, (None, ""))
        issues.append(
            SelfIdentifiedIssue(
                answer=row,
                enterprise_id=story.subject.pk,
                status=SelfIdentifiedIssue.Status.FIXED if fixed_at else SelfIdentifiedIssue.Status.OPEN,
                created_at=check.submitted_at,
                fixed_at=fixed_at,
                fixed_by_id=story.subject.owner if fixed_at else None,
                fix_note=fix_note,
            )
        )
    bulk(SelfIdentifiedIssue, issues)


def credit_events_write(stories: list[Story], bulk: Bulk) -> None:
    bulk(
        CreditEvent,
        [
            CreditEvent(
                enterprise_id=story.subject.pk,
                kind=e.kind,
                occurred_on=e.occurred_on,
                ends_on=e.ends_on,
                reference=e.reference,
                note=e.note,
                recorded_by_id=e.recorded_by,
                # Recorded the afternoon it was decided.
                created_at=at_minute(e.occurred_on, 16 * 60),
            )
            for story in stories
            for e in story.credit_events
        ],
    )


def legacy_write(stories: list[Story], bulk: Bulk, *, imported_at: datetime) -> None:
    """The previous system's records, imported when the platform went live."""
    visits = [(story, legacy) for story in stories for legacy in story.legacy]
    rows = [
        HistoricalInspection(
            enterprise_id=story.subject.pk,
            source=Source.LIVES,
            inspected_on=legacy.inspected_on,
            kind=legacy.kind,
            score=legacy.score,
            created_at=imported_at,
        )
        for story, legacy in visits
    ]
    bulk(HistoricalInspection, rows)
    bulk(
        HistoricalFinding,
        [
            HistoricalFinding(inspection=row, severity=severity, violation_type=kind, description=text)
            for row, (_story, legacy) in zip(rows, visits, strict=True)
            for severity, kind, text in legacy.findings
        ],
    )
