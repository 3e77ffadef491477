"""Checkpoints of the audit chain, kept outside the database.

A keyed chain (core/audit.py) stops anyone without the key from re-hashing edited events, but not
from deleting the newest events and moving the chain head back: what is left is still a sound
chain. A checkpoint records (sequence number, head hash, time) of the chain as it was, signed
(HMAC-SHA256 under the chain's key, core/audit_keys.py), in a store the database cannot rewrite:

- a directory (``AUDIT_CHECKPOINT_DIR``, default ``$VAR_DIR/audit-checkpoints``) where each
  checkpoint is a new file ``<seq, 12 digits>.json`` created with O_EXCL, so an existing one is
  never overwritten; in production a write-once store (object lock, docs/DEPLOY.md);
- and the public page ``/audit/checkpoints/`` (``GET /api/v1/audit/checkpoints``), which lists them,
  so that copies exist beyond the operator's reach.

``manage.py verify_audit`` checks the chain against every checkpoint: an event whose hash differs
from a checkpoint's was rewritten, a chain that ends before a checkpoint's sequence was truncated.

Written every ``AUDIT_CHECKPOINT_EVERY`` events (after the event's transaction commits) and by
``manage.py audit_checkpoint`` (cron, so that quiet hours are anchored too).
"""

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit_keys import UnknownKey, key_ring, mac

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{12})\.json$")
_SIGNED = ("seq", "head", "at", "legacy_seq", "key_id")


class CheckpointError(Exception):
    """A checkpoint file that cannot be read, or one that disagrees with what is being written."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str
    at: datetime
    legacy_seq: int  # events up to this one were written before the chain was keyed
    key_id: str
    signature: str
    name: str = ""  # the file's name in the store

    def payload(self) -> dict:
        return {
            "seq": self.seq,
            "head": self.head,
            "at": self.at.astimezone(UTC).isoformat(),
            "legacy_seq": self.legacy_seq,
            "key_id": self.key_id,
        }

    def signature_problem(self) -> str:
        """ "" when the signature holds; otherwise what is wrong with it."""
        try:
            expected = _sign(self.payload(), self.key_id)
        except UnknownKey:
            return (
                f"it is signed with key {self.key_id}, which this installation does not hold "
                "(AUDIT_CHAIN_KEY, AUDIT_CHAIN_OLD_KEYS)"
            )
        if expected != self.signature:
            return "its signature does not hold (forged or altered)"
        return ""


def _message(payload: dict) -> bytes:
    # Domain-separated from the chain's own hashes, which are HMACs of JSON objects too.
    return b"core.audit.checkpoint\x00" + json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _sign(payload: dict, key_id: str) -> str:
    return mac(key_id, _message(payload))


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def _file_name(seq: int) -> str:
    return f"{seq:012d}.json"


def _parse(name: str, raw: bytes) -> Checkpoint:
    try:
        data = json.loads(raw)
        checkpoint = Checkpoint(
            seq=int(data["seq"]),
            head=str(data["head"]),
            at=datetime.fromisoformat(data["at"]),
            legacy_seq=int(data["legacy_seq"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
            name=name,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {name}: unreadable ({exc})") from None
    if _file_name(checkpoint.seq) != name:
        raise CheckpointError(f"checkpoint {name}: it names event #{checkpoint.seq}, not its file's")
    return checkpoint


def checkpoint_read(name: str) -> Checkpoint:
    try:
        raw = (checkpoint_dir() / name).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"checkpoint {name}: unreadable ({exc.strerror})") from None
    return _parse(name, raw)


def checkpoint_names() -> list[str]:
    """The checkpoint files in the store, oldest first; none if the store does not exist yet."""
    try:
        names = os.listdir(checkpoint_dir())
    except FileNotFoundError:
        return []
    return sorted(name for name in names if _NAME.match(name))


def checkpoints_all() -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint, oldest first, and a problem for each file that cannot be read."""
    checkpoints, problems = [], []
    for name in checkpoint_names():
        try:
            checkpoints.append(checkpoint_read(name))
        except CheckpointError as exc:
            problems.append(str(exc))
    return checkpoints, problems


class CheckpointListing(Sequence):
    """Newest first, read from the store only for the slice asked for (core.pagination.Page
    slices it like a queryset). A file that cannot be read is left out of the listing and logged;
    verify_audit reports it."""

    def __init__(self):
        self.names = checkpoint_names()[::-1]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [c for c in (self._read(name) for name in self.names[index]) if c is not None]
        checkpoint = self._read(self.names[index])
        if checkpoint is None:
            raise IndexError(index)
        return checkpoint

    @staticmethod
    def _read(name: str) -> Checkpoint | None:
        try:
            return checkpoint_read(name)
        except CheckpointError as exc:
            logger.warning("%s", exc)
            return None


def checkpoint_write(*, seq: int, head: str, legacy_seq: int) -> tuple[Checkpoint, bool]:
    """Write the checkpoint of event ``seq``; ``(checkpoint, created)``.

    The file is created with O_EXCL: an existing checkpoint is never replaced. If one exists for
    this sequence number with the same head it is returned (``created`` False); one with another
    head means the chain changed after it was taken, and CheckpointError says so.
    """
    key_id = key_ring().current_id
    unsigned = Checkpoint(
        seq=seq,
        head=head,
        at=timezone.now().replace(microsecond=0),
        legacy_seq=legacy_seq,
        key_id=key_id,
        signature="",
    )
    payload = unsigned.payload()
    content = json.dumps({**payload, "signature": _sign(payload, key_id)}, sort_keys=True, indent=1) + "\n"
    directory = checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = _file_name(seq)
    try:
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except FileExistsError:
        existing = checkpoint_read(name)
        if existing.head != head:
            raise CheckpointError(
                f"checkpoint {name} saw event #{seq} with hash {existing.head[:12]}.., the chain now "
                f"has {head[:12]}..: the chain was rewritten after that checkpoint"
            ) from None
        return existing, False
    try:
        os.write(fd, content.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(directory)
    return _parse(name, content.encode()), True


def _fsync_dir(directory: Path) -> None:
    """The new name is durable too, not only the bytes (a crash could lose the directory entry)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def checkpoint_due(seq: int) -> bool:
    every = getattr(settings, "AUDIT_CHECKPOINT_EVERY", 0)
    return every > 0 and seq % every == 0


def checkpoint_after_commit(*, seq: int, head: str, legacy_seq: int) -> None:
    """Called by core.audit.audit_record for an event at a checkpoint interval: written once the
    event's transaction commits (a rolled-back event must never be anchored). A failure is
    logged, never raised: the change is committed and the next checkpoint covers it."""

    def write():
        try:
            checkpoint_write(seq=seq, head=head, legacy_seq=legacy_seq)
        except (OSError, CheckpointError, UnknownKey):
            logger.exception("audit checkpoint of event #%s not written", seq)

    transaction.on_commit(write)
