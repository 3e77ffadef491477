"""Tampering with the audit chain as someone with write access to the database would: raw SQL
past the model's refusals. On PostgreSQL the append-only trigger refuses UPDATE and DELETE on the
events (core/migrations/0009_audit_append_only.py); the table's owner can switch it off, and
``tampering()`` does, for the statements inside it only."""

import json
from contextlib import contextmanager

from django.db import connection

from core.audit import GENESIS_HASH, canonical, compute_hash, event_hash
from core.audit_keys import LEGACY_KEY_ID
from core.models import AuditChainHead, AuditEvent

TRIGGER = "core_auditevent_append_only"


def events_table() -> str:
    return connection.ops.quote_name(AuditEvent._meta.db_table)


@contextmanager
def tampering():
    """A cursor that may UPDATE and DELETE audit events (the trigger off on PostgreSQL)."""
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            # The test's own inserts leave deferred foreign-key checks pending, which ALTER TABLE
            # refuses to run past; an intruder's fresh session has none.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {events_table()} DISABLE TRIGGER {TRIGGER}")
        try:
            yield cursor
        finally:
            if postgres:
                cursor.execute(f"ALTER TABLE {events_table()} ENABLE TRIGGER {TRIGGER}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def tamper(sql: str, params=None) -> None:
    """One statement on the audit table, as a database writer would send it."""
    with tampering() as cursor:
        cursor.execute(sql, params)


def attacker_hash(event: AuditEvent) -> str:
    """The hash an intruder without the key computes: the chain's published recipe, plain
    SHA-256 over the event's fields (what the chain was before it was keyed)."""
    return compute_hash(
        seq=event.seq,
        created_at=event.created_at,
        actor_id=event.actor_id,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        data=event.data,
        prev_hash=event.prev_hash,
        key_id=LEGACY_KEY_ID,
    )


def rechain(
    from_seq: int, *, data: dict | None = None, with_key: bool = False, as_legacy: bool = False
) -> None:
    """Rewrite event ``from_seq`` (its data replaced by ``data`` if given), then re-hash it and
    every event after it and move the head to match, as a database writer would cover an edit.
    ``with_key``: an insider who holds the chain's key (only a checkpoint can catch that one);
    otherwise the intruder's plain SHA-256, under the event's own key id, or (``as_legacy``) with
    the key id removed, passing the events off as written before the chain was keyed."""
    events = list(AuditEvent.objects.filter(seq__gte=from_seq).order_by("seq"))
    prev = AuditEvent.objects.filter(seq=from_seq - 1).values_list("hash", flat=True).first() or GENESIS_HASH
    placeholder = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with tampering() as cursor:
        for event in events:
            if data is not None and event.seq == from_seq:
                event.data = json.loads(canonical(data))
            event.prev_hash = prev
            if as_legacy:
                event.key_id = LEGACY_KEY_ID
            event.hash = event_hash(event) if with_key else attacker_hash(event)
            cursor.execute(
                f"UPDATE {events_table()} SET data = {placeholder}, prev_hash = %s, hash = %s, key_id = %s "
                "WHERE id = %s",
                [json.dumps(event.data), event.prev_hash, event.hash, event.key_id, event.pk],
            )
            prev = event.hash
    AuditChainHead.objects.filter(pk=1).update(hash=prev)


def truncate(to_seq: int) -> None:
    """Delete the events after ``to_seq`` and move the head back to it: what is left is a
    sound chain."""
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {events_table()} WHERE seq > %s", [to_seq])
    last = AuditEvent.objects.get(seq=to_seq)
    AuditChainHead.objects.filter(pk=1).update(seq=last.seq, hash=last.hash)
