"""Whether the submitted records still say what their audit events recorded.

The audit chain proves its events were not edited; a record's own rows (an inspection's answers,
a rectification's texts) live in other tables, which anyone who can write to the database can
change. Each package that submits records registers a checker here (from its ``apps.py``) that
recomputes every submitted record's content with the very function its submit service hashes,
and compares it with the hash stored on the record and the one in its audit event.
``manage.py verify_audit`` runs them all; core names no feature.

A checker is ``check(*, chunk_size, files, tally) -> Iterator[Finding]``: it walks its records in
chunks (a bounded number of queries per chunk, never one per row), counts what it checked in
``tally`` and yields one Finding per mismatch.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import batched

from django.db.models import Model, QuerySet

from core.models import AuditEvent


@dataclass(frozen=True)
class Finding:
    """One record that does not hold: what (``kind``), where (``ref``: id or public id) and how."""

    kind: str  # "inspection", "self-inspection", "order", "rectification", "document"
    ref: str
    message: str
    # The record has no event in the chain at all: loaded in bulk (the demo's past) or inserted
    # behind the platform's back. Its stored hash is still checked; verify_audit --strict fails.
    unanchored: bool = False

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}: {self.message}"


Checker = Callable[..., Iterator[Finding]]
_CHECKERS: dict[str, Checker] = {}


def register(name: str, checker: Checker) -> None:
    """Called from a package's AppConfig.ready(); registering a name again replaces it."""
    _CHECKERS[name] = checker


def records_check(
    *, chunk_size: int = 500, files: bool = True, tally: Counter | None = None
) -> Iterator[Finding]:
    """Every registered checker's findings, in registration order."""
    tally = Counter() if tally is None else tally
    for checker in _CHECKERS.values():
        yield from checker(chunk_size=chunk_size, files=files, tally=tally)


# --- helpers for the checkers -------------------------------------------------------------------------


def short(digest: str | None) -> str:
    return f"{digest[:12]}.." if digest else "(none)"


def changed_parts(now: dict[str, str], recorded: dict | None, names: dict[str, str]) -> str:
    """Which parts of a record differ from the part digests its event recorded (core.audit.
    part_digests), named for people; "" if the event kept none (events from before they were)."""
    if not recorded:
        return ""
    keys = [key for key in {**recorded, **now} if now.get(key) != recorded.get(key)]
    return ", ".join(names.get(key, key) for key in keys)


def content_mismatch(
    *,
    kind: str,
    ref: str,
    stored: str | None,
    recorded: str,
    recomputed: str,
    what: Callable[[], str],
    event: AuditEvent,
    verb: str = "submit",
) -> Finding | None:
    """Compare a record's recomputed content hash with the one stored on it (None for records
    that keep none) and the one its audit event recorded; name what changed (``what()``, asked
    only on a mismatch: "answers", "the inspector's note"...)."""
    if stored is None:
        if recomputed == recorded:
            return None
        return Finding(
            kind,
            ref,
            f"{what()} changed after {verb}: event #{event.seq} recorded {short(recorded)}, "
            f"recomputed {short(recomputed)}",
        )
    if recomputed == stored == recorded:
        return None
    if stored == recorded:
        message = (
            f"{what()} changed after {verb}: stored hash {short(stored)}, recomputed {short(recomputed)}"
        )
    elif recomputed == stored:
        message = (
            f"{what()} changed after {verb}, and its stored hash with it: event #{event.seq} recorded "
            f"{short(recorded)}, stored and recomputed {short(recomputed)}"
        )
    elif recomputed == recorded:
        message = (
            f"its stored hash changed after {verb} (the content is as submitted): stored {short(stored)}, "
            f"event #{event.seq} recorded {short(recorded)}"
        )
    else:
        message = (
            f"{what()} changed after {verb}, and its stored hash was replaced: event #{event.seq} "
            f"recorded {short(recorded)}, stored {short(stored)}, recomputed {short(recomputed)}"
        )
    return Finding(kind, ref, message)


def chunks(queryset: QuerySet, size: int) -> Iterator[tuple]:
    """The queryset's rows in tuples of ``size``, fetched ``size`` at a time (its prefetches run
    once per chunk)."""
    return batched(queryset.iterator(chunk_size=size), size)


def events_for(model: type[Model], pks: Iterable, actions: Iterable[str]) -> dict[str, list[AuditEvent]]:
    """The events of ``actions`` targeting these rows, by target id, oldest first: one query on
    the audit_target index."""
    found: dict[str, list[AuditEvent]] = {}
    events = AuditEvent.objects.filter(
        target_type=model._meta.label_lower, target_id__in=[str(pk) for pk in pks], action__in=list(actions)
    ).order_by("seq")
    for event in events:
        found.setdefault(event.target_id, []).append(event)
    return found


def orphan_events(*, action: str, queryset: QuerySet, chunk_size: int) -> Iterator[tuple[int, str]]:
    """(seq, target id) of every ``action`` event whose target is not in ``queryset`` (a record
    the chain saw submitted that is gone or no longer submitted)."""
    events = (
        AuditEvent.objects.filter(action=action, target_type=queryset.model._meta.label_lower)
        .order_by("seq")
        .values_list("seq", "target_id")
    )
    for batch in chunks(events, chunk_size):
        ids = [int(target_id) for _seq, target_id in batch if target_id.isdigit()]
        present = {str(pk) for pk in queryset.filter(pk__in=ids).values_list("pk", flat=True)}
        yield from ((seq, target_id) for seq, target_id in batch if target_id not in present)


def no_longer_submitted(*, kind: str, action: str, submitted: QuerySet, chunk_size: int) -> Iterator[Finding]:
    """A finding for every ``action`` event whose record is not among ``submitted`` any more."""
    for seq, target_id in orphan_events(action=action, queryset=submitted, chunk_size=chunk_size):
        yield Finding(
            kind,
            target_id,
            f"the audit chain records its submit (event #{seq}), but it is no longer a submitted record",
        )


def unanchored(*, kind: str, ref: str, action: str, stored: str | None, recomputed: str) -> list[Finding]:
    """A submitted record with no ``action`` event in the chain: say so (unanchored), and whether
    its content still matches the hash stored on it."""
    findings = [Finding(kind, ref, f"submitted, but no {action} event in the audit chain", True)]
    if recomputed != stored:
        findings.append(
            Finding(
                kind,
                ref,
                f"content does not match its stored hash: stored {short(stored)}, "
                f"recomputed {short(recomputed)}",
            )
        )
    return findings


def submitter_mismatch(
    *, kind: str, ref: str, submitted_by_id: int | None, event: AuditEvent
) -> Finding | None:
    """The record names another submitter than the user its submit event was written for."""
    if event.actor_id == submitted_by_id:
        return None
    return Finding(
        kind,
        ref,
        f"submitted_by changed after submit: stored user {submitted_by_id}, "
        f"event #{event.seq} was by user {event.actor_id}",
    )
