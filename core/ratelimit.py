"""Limits that hold across every worker: counters and slots in the shared cache.

``settings.CACHES`` is Redis where one is deployed and the database's cache table otherwise, so a
limit counted here is the same for every worker process and machine and survives a restart of any
one of them (a limit kept in a process's memory multiplies with the workers and resets with each).

Every count is atomic on both backends without relying on ``cache.incr`` (which the database cache
implements as a read then a write, so two workers can both take the last place): each event claims
its own numbered slot with ``cache.add`` (Redis ``SET NX``, an INSERT against a unique key on the
database cache), and only one claimant can win a slot. A hint remembers where the free slots start,
so a claim usually costs one read and one write.
"""

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Hit:
    allowed: bool
    retry_after: int  # seconds until the window that refused it ends (0 when allowed)


def _base(scope: str, ident: str, window: int, now: float) -> tuple[str, int]:
    bucket = int(now // window)
    # Hashed: the cache key stays short and free of characters some backends refuse, whatever
    # ``ident`` is (a username may hold anything).
    digest = hashlib.sha256(f"{scope}\0{ident}".encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window}:{bucket}", int((bucket + 1) * window - now) + 1


def rate_hit(scope: str, ident: str, *, limit: int, window: int) -> Hit:
    """Count one event of ``ident`` in the current window of ``window`` seconds (fixed windows);
    refused, and not counted, once ``limit`` were counted in it."""
    base, remaining = _base(scope, ident, window, time.time())
    start = cache.get(f"{base}:next", 0)
    # Slot keys outlive their window a little: a slow claimant must not find an expired slot free.
    timeout = window + 60
    for slot in range(max(0, int(start)), limit):
        if cache.add(f"{base}:{slot}", 1, timeout):
            cache.set(f"{base}:next", slot + 1, timeout)
            return Hit(True, 0)
    return Hit(False, remaining)


def rate_reached(scope: str, ident: str, *, limit: int, window: int) -> Hit:
    """Whether ``limit`` events of ``ident`` were counted in the current window, counting none:
    the last slot is taken only once all before it were."""
    base, remaining = _base(scope, ident, window, time.time())
    if cache.get(f"{base}:{limit - 1}") is not None:
        return Hit(False, remaining)
    return Hit(True, 0)


@contextmanager
def shared_slot(scope: str, *, slots: int, timeout: int) -> Iterator[bool]:
    """Take one of ``slots`` places shared by every worker for the duration of the block; yields
    False (and takes nothing) when all are taken. A worker that dies holding a place loses it after
    ``timeout`` seconds."""
    mine = uuid.uuid4().hex
    for slot in range(slots):
        key = f"slot:{scope}:{slot}"
        if cache.add(key, mine, timeout):
            try:
                yield True
            finally:
                # Not someone else's: a block that outlived its timeout may have lost the place.
                if cache.get(key) == mine:
                    cache.delete(key)
            return
    yield False
