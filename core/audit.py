"""The audit chain: every state change appends one AuditEvent whose hash covers its content and
the previous event's hash.

The hash is an HMAC-SHA256 under a key that is not in the database (core/audit_keys.py): whoever
can write to the database can edit an event, but cannot compute the hash the edited event needs,
nor re-hash every event after it. Each event records its key's id, so keys can be rotated. Events
written before the chain was keyed carry no key id and a plain SHA-256; the chain head remembers
where they end (``AuditChainHead.legacy_seq``), and no unkeyed event is accepted after that.

What a database writer can still do to a sound chain is cut its end off and move the head back;
the checkpoints (core/checkpoints.py), signed and kept outside the database, catch that, and
``verify_chain`` checks the chain against every one of them.

Writers serialise on the AuditChainHead row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
IMMEDIATE transactions already serialise writers), so the chain stays linear with concurrent
requests. Call ``audit_record`` inside the transaction that makes the change: the event and the
change commit together. On PostgreSQL a trigger refuses UPDATE and DELETE on the events
(core/migrations/0009_audit_append_only.py).
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from core.audit_keys import LEGACY_KEY_ID, UnknownKey, key_ring, mac
from core.checkpoints import Checkpoint, checkpoint_after_commit, checkpoint_due
from core.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
# How many problems a report keeps word for word; the rest are counted.
MAX_PROBLEMS = 200


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"audit data cannot hold {type(value).__name__}")


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def content_digest(content) -> str:
    """SHA-256 of a record's canonical content: what a submit stores as the record's content hash
    and writes into its audit event; verify_audit recomputes it from the stored rows."""
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def part_digests(content: dict) -> dict[str, str]:
    """A short digest of each top-level part of a record's content, kept in its audit event, so
    that a later mismatch can say which part changed (the answers, the note...). The full
    content_digest is what proves; these only point."""
    return {key: content_digest(value)[:16] for key, value in content.items()}


def compute_hash(
    *,
    seq: int,
    created_at: datetime,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    data: dict,
    prev_hash: str,
    key_id: str,
) -> str:
    """The event's hash: HMAC-SHA256 under the key ``key_id`` names, or for a legacy event
    (``key_id`` "") the plain SHA-256 it was written with. UnknownKey if the key is not held."""
    content = {
        "seq": seq,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "actor": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "data": data,
        "prev": prev_hash,
    }
    if key_id == LEGACY_KEY_ID:
        return hashlib.sha256(canonical(content).encode()).hexdigest()
    return mac(key_id, canonical({**content, "key": key_id}).encode())


def event_hash(event: AuditEvent) -> str:
    """The hash ``event`` should carry, recomputed from its stored fields."""
    return compute_hash(
        seq=event.seq,
        created_at=event.created_at,
        actor_id=event.actor_id,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        data=event.data,
        prev_hash=event.prev_hash,
        key_id=event.key_id,
    )


def target_label(target: models.Model | None) -> tuple[str, str]:
    if target is None:
        return "", ""
    return target._meta.label_lower, str(target.pk)


@transaction.atomic(savepoint=False)
def audit_record(
    *, actor, action: str, target: models.Model | None = None, data: dict | None = None
) -> AuditEvent:
    """Append one event. ``actor`` is a user or None for the system (imports, tasks).

    Inside the caller's transaction it takes no savepoint of its own (two statements fewer per
    event): the event is written with the change it records or not at all. If it fails, the whole
    transaction is marked for rollback, so a caller cannot catch the error and commit the change
    without its event."""
    # Normalise through JSON once, so what is stored is exactly what was hashed.
    payload = json.loads(canonical(data or {}))
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"hash": GENESIS_HASH})
    target_type, target_id = target_label(target)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    event = AuditEvent(
        seq=head.seq + 1,
        created_at=timezone.now(),
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=payload,
        prev_hash=head.hash,
        key_id=key_ring().current_id,
    )
    event.hash = event_hash(event)
    event.save()
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    if checkpoint_due(event.seq):
        checkpoint_after_commit(seq=event.seq, head=event.hash, legacy_seq=head.legacy_seq)
    return event


# --- verification ------------------------------------------------------------------------------------


@dataclass
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""  # the first problem
    problems: list[str] = field(default_factory=list)  # every problem, up to MAX_PROBLEMS
    problem_count: int = 0
    legacy_seq: int = 0
    checkpoints: int = 0
    newest_checkpoint: Checkpoint | None = None

    def add(self, seq: int | None, message: str) -> None:
        if self.ok:
            self.ok, self.broken_seq, self.reason = False, seq, message
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


def _events(after: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(seq__gt=after).order_by("seq").iterator(chunk_size=5000)


def _own_problem(event: AuditEvent, legacy_seq: int) -> str:
    """What is wrong with one event on its own (its key, its hash), or ""."""
    if event.key_id == LEGACY_KEY_ID and event.seq > legacy_seq:
        return (
            f"event #{event.seq} carries no key, but the keyed chain began after #{legacy_seq}: "
            "it was written or re-hashed without the key"
        )
    try:
        recomputed = event_hash(event)
    except UnknownKey:
        return (
            f"event #{event.seq} was keyed with key {event.key_id}, which this installation does not "
            "hold (AUDIT_CHAIN_KEY, AUDIT_CHAIN_OLD_KEYS)"
        )
    if recomputed != event.hash:
        return (
            f"event #{event.seq}: its content does not match its hash (edited, or re-hashed without the key)"
        )
    return ""


def verify_chain(*, checkpoints: Iterable[Checkpoint] = (), after: Checkpoint | None = None) -> ChainReport:
    """Walk the chain (from the start, or from the event after the checkpoint ``after``) and
    report every event that does not hold, and every checkpoint the chain disagrees with."""
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash, legacy_seq = (head.seq, head.hash, head.legacy_seq) if head else (0, GENESIS_HASH, 0)
    by_seq = {c.seq: c for c in checkpoints}
    report = ChainReport(ok=True, events=0, legacy_seq=legacy_seq, checkpoints=len(by_seq))
    report.newest_checkpoint = by_seq[max(by_seq)] if by_seq else None
    for checkpoint in sorted(by_seq.values(), key=lambda c: c.seq):
        if problem := checkpoint.signature_problem():
            report.add(checkpoint.seq, f"checkpoint {checkpoint.name}: {problem}")
        elif checkpoint.legacy_seq != legacy_seq:
            report.add(
                checkpoint.seq,
                f"checkpoint {checkpoint.name} saw the keyed chain begin after #{checkpoint.legacy_seq}, "
                f"the database now says after #{legacy_seq}",
            )
    expected_seq, prev_hash = (after.seq + 1, after.head) if after else (1, GENESIS_HASH)
    last_seq = expected_seq - 1
    for event in _events(expected_seq - 1):
        if event.seq != expected_seq:
            report.add(expected_seq, f"event #{expected_seq} is missing (next is #{event.seq})")
            for seq in range(expected_seq, event.seq):
                if seq in by_seq:
                    report.add(seq, f"event #{seq}, which checkpoint {by_seq[seq].name} saw, is missing")
        elif event.prev_hash != prev_hash:
            report.add(event.seq, f"event #{event.seq}: its previous-hash does not match the event before it")
        if problem := _own_problem(event, legacy_seq):
            report.add(event.seq, problem)
        checkpoint = by_seq.get(event.seq)
        if checkpoint is not None and checkpoint.head != event.hash:
            report.add(
                event.seq,
                f"event #{event.seq}: its hash differs from checkpoint {checkpoint.name} "
                "(the chain was rewritten after the checkpoint)",
            )
        prev_hash, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
        report.events += 1
    for checkpoint in sorted(by_seq.values(), key=lambda c: c.seq):
        if checkpoint.seq > last_seq:
            report.add(
                last_seq + 1,
                f"the chain ends at #{last_seq} but checkpoint {checkpoint.name} saw #{checkpoint.seq}: "
                "events were removed",
            )
    if (head_seq, head_hash) != (last_seq, prev_hash):
        report.add(last_seq + 1, f"the chain head records #{head_seq}, but the chain ends at #{last_seq}")
    return report


def verify_neighbourhood(event: AuditEvent) -> bool:
    """Whether one event is still stitched into the chain: its own keyed hash holds, the event
    before it ends in its prev_hash, and the event after it (or the head) starts from its hash.

    A constant-time check for public pages (document verification); the whole chain is walked by
    ``verify_chain`` / ``manage.py verify_audit``, which nobody outside should be able to trigger.
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    if _own_problem(event, head.legacy_seq if head else 0):
        return False
    previous = AuditEvent.objects.filter(seq=event.seq - 1).values_list("hash", flat=True).first()
    if (previous or GENESIS_HASH) != event.prev_hash or (previous is None and event.seq != 1):
        return False
    following = AuditEvent.objects.filter(seq=event.seq + 1).values_list("prev_hash", flat=True).first()
    if following is not None:
        return following == event.hash
    return head is not None and (head.seq, head.hash) == (event.seq, event.hash)
