"""Whether submitted self-inspections still say what the audit chain recorded at submit
(core.integrity; registered in apps.py, run by verify_audit). The content is recomputed with the
function the submit service hashed it with (services.self_inspection_content), a chunk of records
at a time."""

from collections import Counter
from collections.abc import Iterator

from core.audit import content_digest, part_digests
from core.integrity import (
    Finding,
    changed_parts,
    chunks,
    content_mismatch,
    events_for,
    no_longer_submitted,
    submitter_mismatch,
    unanchored,
)
from core.models import AuditEvent
from supervision.models import Result, SelfInspection
from supervision.self_inspection.services import self_inspection_content, self_inspection_content_prefetch

SUBMIT = "self_inspection.submit"
PARTS = {"enterprise": "enterprise", "checklists": "checklist versions", "items": "answers"}


def _changed(content: dict, event: AuditEvent) -> str:
    data = event.data
    named = changed_parts(part_digests(content), data.get("parts"), PARTS)
    if named:
        return named
    # An event from before the parts were kept: it counted the answers by result.
    counts = {
        result: sum(1 for item in content["items"] if item["result"] == result) for result in Result.values
    }
    changed = [
        f"{result} answers ({data[result]} then, {count} now)"
        for result, count in counts.items()
        if result in data and data[result] != count
    ]
    return ", ".join(changed) or "answers"


def self_inspection_check(self_inspection: SelfInspection, events: list[AuditEvent]) -> list[Finding]:
    ref = str(self_inspection.pk)
    content = self_inspection_content(self_inspection=self_inspection)
    digest, stored = content_digest(content), self_inspection.content_hash
    if not events:
        return unanchored(kind="self-inspection", ref=ref, action=SUBMIT, stored=stored, recomputed=digest)
    findings = []
    if len(events) > 1:
        findings.append(Finding("self-inspection", ref, f"submitted {len(events)} times in the audit chain"))
    event = events[0]
    mismatch = content_mismatch(
        kind="self-inspection",
        ref=ref,
        stored=stored,
        recorded=event.data.get("content_hash") or "",
        recomputed=digest,
        what=lambda: _changed(content, event),
        event=event,
    )
    if mismatch:
        findings.append(mismatch)
    submitter = submitter_mismatch(
        kind="self-inspection", ref=ref, submitted_by_id=self_inspection.submitted_by_id, event=event
    )
    if submitter:
        findings.append(submitter)
    return findings


def self_inspections_check(*, chunk_size: int, files: bool, tally: Counter) -> Iterator[Finding]:
    submitted = SelfInspection.objects.filter(status=SelfInspection.Status.SUBMITTED)
    rows = (
        submitted.select_related("enterprise")
        .prefetch_related(*self_inspection_content_prefetch())
        .order_by("pk")
    )
    for chunk in chunks(rows, chunk_size):
        events = events_for(SelfInspection, [s.pk for s in chunk], [SUBMIT])
        for self_inspection in chunk:
            tally["self-inspections"] += 1
            yield from self_inspection_check(self_inspection, events.get(str(self_inspection.pk), []))
    yield from no_longer_submitted(
        kind="self-inspection", action=SUBMIT, submitted=submitted, chunk_size=chunk_size
    )
