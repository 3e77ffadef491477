"""The audit chain: every state change appends one AuditEvent whose hash covers
its content and the previous event's hash.

Writers serialise on the AuditChainHead row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers), so the
chain stays linear with concurrent requests. Call ``audit_record`` inside the
transaction that makes the change: the event and the change commit together.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from core.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


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
) -> str:
    content = canonical(
        {
            "seq": seq,
            "created_at": created_at.astimezone(UTC).isoformat(),
            "actor": actor_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "data": data,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(content.encode()).hexdigest()


def target_label(target: models.Model | None) -> tuple[str, str]:
    if target is None:
        return "", ""
    return target._meta.label_lower, str(target.pk)


@transaction.atomic
def audit_record(
    *, actor, action: str, target: models.Model | None = None, data: dict | None = None
) -> AuditEvent:
    """Append one event. ``actor`` is a user or None for the system (imports, tasks)."""
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
    )
    event.hash = compute_hash(
        seq=event.seq,
        created_at=event.created_at,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=payload,
        prev_hash=head.hash,
    )
    event.save()
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)


def verify_chain() -> ChainReport:
    """Walk the whole chain; report the first event that does not hold."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for event in _events():
        if event.seq != expected_seq:
            return ChainReport(
                False, count, expected_seq, f"event #{expected_seq} is missing (next is #{event.seq})"
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                False, count, event.seq, "its previous-hash does not match the event before it"
            )
        recomputed = compute_hash(
            seq=event.seq,
            created_at=event.created_at,
            actor_id=event.actor_id,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainReport(False, count, event.seq, "its content does not match its hash (edited)")
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (count, prev_hash):
        return ChainReport(
            False, count, count + 1, f"the chain head records #{head_seq}, but the chain ends at #{count}"
        )
    return ChainReport(True, count)


def verify_neighbourhood(event: AuditEvent) -> bool:
    """Whether one event is still stitched into the chain: its own hash holds, the event before it
    ends in its prev_hash, and the event after it (or the head) starts from its hash.

    A constant-time check for public pages (document verification); the whole chain is walked by
    ``verify_chain`` / ``manage.py verify_audit``, which nobody outside should be able to trigger.
    """
    own = compute_hash(
        seq=event.seq,
        created_at=event.created_at,
        actor_id=event.actor_id,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    if own != event.hash:
        return False
    previous = AuditEvent.objects.filter(seq=event.seq - 1).values_list("hash", flat=True).first()
    if (previous or GENESIS_HASH) != event.prev_hash or (previous is None and event.seq != 1):
        return False
    following = AuditEvent.objects.filter(seq=event.seq + 1).values_list("prev_hash", flat=True).first()
    if following is not None:
        return following == event.hash
    head = AuditChainHead.objects.filter(pk=1).first()
    return head is not None and (head.seq, head.hash) == (event.seq, event.hash)
