"""Whether submitted inspections, their orders, the businesses' rectifications and the issued
documents still say what the audit chain recorded (core.integrity; registered in apps.py, run by
verify_audit; /v/<public_id>, in supervision.inspections.documents, checks one document and the
record behind it with the same functions).

Every content is recomputed with the function the submit service hashed it with
(services.record.inspection_content, services.orders.rectification_content,
services.record.order_issue_content), from rows fetched a chunk at a time with those functions'
prefetches, so a million records cost a few thousand queries, not millions.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Prefetch
from django.utils import timezone

from core.audit import canonical, content_digest, part_digests
from core.integrity import (
    Finding,
    changed_parts,
    chunks,
    content_mismatch,
    events_for,
    no_longer_submitted,
    orphan_events,
    short,
    submitter_mismatch,
    unanchored,
)
from core.models import AuditEvent
from supervision.inspections.services.orders import rectification_content
from supervision.inspections.services.record import (
    inspection_content,
    inspection_content_prefetch,
    order_issue_content,
)
from supervision.models import Document, Inspection, Rectification, RectificationEntry, RectificationOrder

SUBMIT, ISSUE = "inspection.submit", "order.issue"
RECTIFY, VERIFY, ESCALATE = "order.rectification_submit", "order.verify", "order.escalate"
ORDER_ACTIONS = (ISSUE, RECTIFY, VERIFY, ESCALATE)

# The parts of inspection_content and rectification_content, as a report names them.
INSPECTION_PARTS = {
    "enterprise": "enterprise",
    "task": "task",
    "versions": "checklist versions",
    "answers": "answers",
    "note": "the inspector's note",
    "conclusion": "conclusion",
    "rectify_deadline": "rectification deadline",
    "representative": "representative",
    "representative_refused": "representative's refusal",
    "signatures": "signatures",
}
RECTIFICATION_PARTS = {"note": "note", "entries": "entries (what was done, photos)"}


# --- inspections ----------------------------------------------------------------------------------------


def _legacy_deadlines(inspection: Inspection, order_issue: AuditEvent | None) -> list[str]:
    """How a deadline may have been written into the content before it was hashed in UTC: in local
    time (a deadline typed on the page), or with whatever offset the client sent, which the
    order's issue event kept."""
    deadline = inspection.rectify_deadline
    texts = [deadline.astimezone(timezone.get_default_timezone()).isoformat()]
    recorded = (order_issue.data.get("deadline") if order_issue else None) or ""
    try:
        if datetime.fromisoformat(recorded) == deadline:
            texts.append(recorded)
    except ValueError:
        pass
    return texts


def _order_issue_event(inspection: Inspection) -> AuditEvent | None:
    order_pk = RectificationOrder.objects.filter(inspection=inspection).values_list("pk", flat=True).first()
    if order_pk is None:
        return None
    events = events_for(RectificationOrder, [order_pk], [ISSUE]).get(str(order_pk), [])
    return events[0] if events else None


def _recompute(inspection: Inspection, recorded: set[str]) -> tuple[dict, str]:
    content = inspection_content(inspection)
    digest = content_digest(content)
    if digest in recorded or inspection.rectify_deadline is None:
        return content, digest
    for text in _legacy_deadlines(inspection, _order_issue_event(inspection)):
        candidate = {**content, "rectify_deadline": text}
        if content_digest(candidate) in recorded:
            return candidate, content_digest(candidate)
    return content, digest


def _inspection_changed(content: dict, event: AuditEvent) -> str:
    data = event.data
    named = changed_parts(part_digests(content), data.get("parts"), INSPECTION_PARTS)
    if named:
        return named
    # An event from before the parts were kept: what else it recorded of the content.
    changed = []
    if "answers" in data and data["answers"] != len(content["answers"]):
        changed.append("answers (how many)")
    if "photos" in data and data["photos"] != sorted(h for a in content["answers"] for h in a["photos"]):
        changed.append("answer photos")
    if "signatures" in data and data["signatures"] != content["signatures"]:
        changed.append("signatures")
    if data.get("conclusion", content["conclusion"]) != content["conclusion"]:
        changed.append("conclusion")
    return ", ".join(changed) or "content"


def inspection_check(inspection: Inspection, events: list[AuditEvent]) -> list[Finding]:
    """What does not hold of one submitted inspection, given its "inspection.submit" events."""
    ref = str(inspection.pk)
    submits = [e for e in events if e.action == SUBMIT]
    findings = []
    if len(submits) > 1:
        seqs = ", ".join(f"#{e.seq}" for e in submits)
        findings.append(
            Finding("inspection", ref, f"submitted {len(submits)} times in the audit chain ({seqs})")
        )
    event = submits[0] if submits else None
    stored = inspection.content_hash
    recorded = (event.data.get("content_hash") or "") if event else ""
    content, digest = _recompute(inspection, {h for h in (stored, recorded) if h})
    if event is None:
        return findings + unanchored(
            kind="inspection", ref=ref, action=SUBMIT, stored=stored, recomputed=digest
        )
    mismatch = content_mismatch(
        kind="inspection",
        ref=ref,
        stored=stored,
        recorded=recorded,
        recomputed=digest,
        what=lambda: _inspection_changed(content, event),
        event=event,
    )
    if mismatch:
        findings.append(mismatch)
    submitter = submitter_mismatch(
        kind="inspection", ref=ref, submitted_by_id=inspection.submitted_by_id, event=event
    )
    if submitter:
        findings.append(submitter)
    count = getattr(inspection, "finding_count", None)
    if count is None:
        count = inspection.findings.count()
    if "findings" in event.data and event.data["findings"] != count:
        findings.append(
            Finding(
                "inspection",
                ref,
                f"findings changed after submit: event #{event.seq} recorded {event.data['findings']}, "
                f"there are {count}",
            )
        )
    return findings


def inspections_check(*, chunk_size: int, files: bool, tally: Counter) -> Iterator[Finding]:
    submitted = Inspection.objects.filter(status=Inspection.Status.SUBMITTED)
    rows = (
        submitted.select_related("enterprise")
        .prefetch_related(*inspection_content_prefetch())
        .annotate(finding_count=Count("findings"))
        .order_by("pk")
    )
    for chunk in chunks(rows, chunk_size):
        events = events_for(Inspection, [i.pk for i in chunk], [SUBMIT])
        for inspection in chunk:
            tally["inspections"] += 1
            yield from inspection_check(inspection, events.get(str(inspection.pk), []))
    yield from no_longer_submitted(
        kind="inspection", action=SUBMIT, submitted=submitted, chunk_size=chunk_size
    )


# --- orders and rectifications ----------------------------------------------------------------------------


def _normal(value):
    return json.loads(canonical(value))


def _same_moment(recorded, stored: datetime | None) -> bool:
    try:
        return datetime.fromisoformat(recorded) == stored
    except (TypeError, ValueError):
        return False


def order_issue_check(order: RectificationOrder, event: AuditEvent) -> str:
    """What of the order differs from its issue event ("" if nothing), recomputed with the
    function the submit service wrote the event with."""
    expected = _normal(order_issue_content(order, order.findings.all()))
    recorded = event.data
    changed = []
    if recorded.get("number") != expected["number"]:
        changed.append(f"number: the chain says {recorded.get('number')}, stored {expected['number']}")
    if not _same_moment(recorded.get("deadline"), order.deadline):
        changed.append(f"deadline: the chain says {recorded.get('deadline')}, stored {expected['deadline']}")
    if sorted(recorded.get("findings") or []) != expected["findings"]:
        changed.append(
            f"findings: the chain says {', '.join(sorted(recorded.get('findings') or []))}, "
            f"stored {', '.join(expected['findings'])}"
        )
    return "; ".join(changed)


def _rectification_check(number: str, rectification: Rectification, event: AuditEvent) -> Finding | None:
    ref = f"{rectification.pk} (order {number})"
    content = rectification_content(rectification)
    recorded = event.data.get("content_hash")
    if recorded:
        return content_mismatch(
            kind="rectification",
            ref=ref,
            stored=None,
            recorded=recorded,
            recomputed=content_digest(content),
            what=lambda: (
                changed_parts(part_digests(content), event.data.get("parts"), RECTIFICATION_PARTS)
                or "content"
            ),
            event=event,
        )
    # Submitted before its content was hashed: the photos are what its event kept.
    photos = sorted(h for entry in content["entries"] for h in entry["photos"])
    if photos != event.data.get("photos"):
        return Finding("rectification", ref, f"photos changed after submit (event #{event.seq})")
    return None


def _review_check(number: str, rectification: Rectification, event: AuditEvent | None) -> Finding | None:
    ref = f"{rectification.pk} (order {number})"
    if event is None:
        if rectification.status != Rectification.Status.PENDING:
            return Finding(
                "rectification", ref, f"marked {rectification.status}, but no order.verify event reviewed it"
            )
        return None
    expected = Rectification.Status.ACCEPTED if event.data.get("accepted") else Rectification.Status.REJECTED
    changed = []
    if rectification.status != expected:
        changed.append(f"status: the chain says {expected}, stored {rectification.status}")
    if rectification.review_note != event.data.get("note", rectification.review_note):
        changed.append("the reviewer's reason")
    if rectification.reviewed_by_id != event.actor_id:
        changed.append(
            f"reviewer: the chain says user {event.actor_id}, stored user {rectification.reviewed_by_id}"
        )
    if changed:
        return Finding(
            "rectification", ref, f"changed after review (event #{event.seq}): {'; '.join(changed)}"
        )
    return None


_STATUS_AFTER = {
    ISSUE: lambda data: RectificationOrder.Status.ISSUED,
    RECTIFY: lambda data: RectificationOrder.Status.SUBMITTED,
    VERIFY: lambda data: (
        RectificationOrder.Status.CLOSED if data.get("accepted") else RectificationOrder.Status.RETURNED
    ),
    ESCALATE: lambda data: RectificationOrder.Status.ESCALATED,
}


def order_check(order: RectificationOrder, events: list[AuditEvent]) -> list[Finding]:
    """What does not hold of one order and its rectifications, given the order's events."""
    ref = f"{order.pk} ({order.number})"
    rectifications = list(order.rectifications.all())
    issues = [e for e in events if e.action == ISSUE]
    if not issues:
        extra = f" (nor are its {len(rectifications)} rectifications)" if rectifications else ""
        return [Finding("order", ref, f"issued, but no order.issue event in the audit chain{extra}", True)]
    findings = []
    if len(issues) > 1:
        findings.append(Finding("order", ref, f"issued {len(issues)} times in the audit chain"))
    if changed := order_issue_check(order, issues[0]):
        findings.append(Finding("order", ref, f"changed after issue (event #{issues[0].seq}): {changed}"))
    submitted: dict[int, AuditEvent] = {}
    reviewed: dict[int, AuditEvent] = {}
    last_submitted, status, last = None, None, None
    for event in events:
        if event.action not in _STATUS_AFTER:
            continue
        if event.action == RECTIFY:
            last_submitted = event.data.get("rectification")
            submitted[last_submitted] = event
        elif event.action == VERIFY and last_submitted is not None:
            reviewed[last_submitted] = event
        status, last = _STATUS_AFTER[event.action](event.data), event
    for rectification in rectifications:
        event = submitted.pop(rectification.pk, None)
        if event is None:
            findings.append(
                Finding(
                    "rectification",
                    f"{rectification.pk} (order {order.number})",
                    "not in the audit chain: no order.rectification_submit event names it",
                )
            )
            continue
        for finding in (
            _rectification_check(order.number, rectification, event),
            _review_check(order.number, rectification, reviewed.get(rectification.pk)),
        ):
            if finding:
                findings.append(finding)
    for pk, event in submitted.items():
        findings.append(
            Finding(
                "rectification",
                f"{pk} (order {order.number})",
                f"the audit chain records its submit (event #{event.seq}), but it is gone",
            )
        )
    if status != order.status:
        findings.append(
            Finding(
                "order",
                ref,
                f"status changed after its last event: stored {order.status}, the audit chain says "
                f"{status} (event #{last.seq})",
            )
        )
    elif status == RectificationOrder.Status.CLOSED and order.closed_by_id != last.actor_id:
        findings.append(
            Finding(
                "order",
                ref,
                f"closed_by changed: stored user {order.closed_by_id}, "
                f"event #{last.seq} was by user {last.actor_id}",
            )
        )
    elif status == RectificationOrder.Status.ESCALATED and order.case_note != last.data.get("note"):
        findings.append(
            Finding("order", ref, f"the case description changed after escalation (event #{last.seq})")
        )
    return findings


def orders_check(*, chunk_size: int, files: bool, tally: Counter) -> Iterator[Finding]:
    entries = RectificationEntry.objects.prefetch_related("photos")
    rows = RectificationOrder.objects.prefetch_related(
        "findings__item",
        Prefetch(
            "rectifications",
            queryset=Rectification.objects.order_by("pk").prefetch_related(
                Prefetch("entries", queryset=entries, to_attr="content_entries")
            ),
        ),
    ).order_by("pk")
    for chunk in chunks(rows, chunk_size):
        events = events_for(RectificationOrder, [o.pk for o in chunk], ORDER_ACTIONS)
        for order in chunk:
            tally["orders"] += 1
            tally["rectifications"] += len(order.rectifications.all())
            yield from order_check(order, events.get(str(order.pk), []))
    for seq, target_id in orphan_events(
        action=ISSUE, queryset=RectificationOrder.objects.all(), chunk_size=chunk_size
    ):
        yield Finding("order", target_id, f"the audit chain records its issue (event #{seq}), but it is gone")


# --- documents --------------------------------------------------------------------------------------------

ISSUE_DOCUMENT = "document.issue"
FILE_CHUNK = 1024 * 1024


def document_file_sha256(document: Document) -> str | None:
    """The stored file's SHA-256, read a megabyte at a time; None if it is missing."""
    digest = hashlib.sha256()
    try:
        with document.file.storage.open(document.file.name, "rb") as stored:
            for chunk in iter(lambda: stored.read(FILE_CHUNK), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def document_issue_mismatch(document: Document, event: AuditEvent) -> list[str]:
    """The fields of the document that differ from what its "document.issue" event recorded
    (documents.document_for wrote them)."""
    registered = {
        "public_id": document.public_id,
        "sha256": document.sha256,
        "kind": document.kind,
        "inspection": document.inspection_id,
    }
    return [key for key, value in registered.items() if event.data.get(key) != value]


def _document_check(document: Document, events: list[AuditEvent], files: bool) -> Iterator[Finding]:
    ref = f"{document.public_id} ({document.kind} of inspection {document.inspection_id})"
    if len(events) != 1:
        found = f"no {ISSUE_DOCUMENT} event" if not events else f"{len(events)} {ISSUE_DOCUMENT} events"
        yield Finding("document", ref, f"{found} in the audit chain")
    if events and (changed := document_issue_mismatch(document, events[0])):
        recorded = ", ".join(str(events[0].data.get(key)) for key in changed)
        yield Finding(
            "document",
            ref,
            f"{', '.join(changed)} changed after issue: event #{events[0].seq} recorded {recorded}",
        )
    if files:
        actual = document_file_sha256(document)
        if actual is None:
            yield Finding("document", ref, "its file is missing from storage")
        elif actual != document.sha256:
            yield Finding(
                "document",
                ref,
                f"its file changed after issue: registered sha256 {short(document.sha256)}, "
                f"the stored file hashes to {short(actual)}",
            )


def documents_check(*, chunk_size: int, files: bool, tally: Counter) -> Iterator[Finding]:
    """Every issued document against its "document.issue" event and (``files``) its stored file
    against its registered hash; /v/<public_id> checks one the same way."""
    rows = Document.objects.order_by("pk")
    for chunk in chunks(rows, chunk_size):
        events = events_for(Document, [d.pk for d in chunk], [ISSUE_DOCUMENT])
        for document in chunk:
            tally["documents"] += 1
            yield from _document_check(document, events.get(str(document.pk), []), files)
    for seq, target_id in orphan_events(
        action=ISSUE_DOCUMENT, queryset=Document.objects.all(), chunk_size=chunk_size
    ):
        yield Finding(
            "document", f"#{target_id}", f"the audit chain records its issue (event #{seq}), but it is gone"
        )
