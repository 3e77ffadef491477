"""Statements side by side: the full recompute's chunks, its prepared cell sums and its index
builds each run in their own transaction, ``workers`` at once on connections of their own.

PostgreSQL runs an INSERT ... SELECT on one core (version 15 plans no parallel workers for it),
so statements side by side use the others. Only outside a transaction of the caller's: other
connections would neither see its uncommitted rows nor be undone with it (scoring.recompute_workers).
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.db import connection, transaction

Statement = tuple[str, list]


def run(sql: str, params: list, *, setup: Sequence[str] = (), fetch: bool = False) -> list[dict] | None:
    """One statement in its own transaction (or the caller's), after ``setup`` (SET LOCAL ...);
    ``fetch``: its rows as dictionaries. ``params`` as the database takes them (sqltext._adapt).

    PostgreSQL's JIT stays off for the scoring statements through the connection options
    (config/settings.py): compiling the score's long expression costs more than it saves, and
    LLVM's compiler does not answer cancel requests."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in setup:
            cursor.execute(statement)
        cursor.execute(sql, params or None)
        if not fetch:
            return None
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _run_apart(sql: str, params: list, setup: Sequence[str]) -> None:
    """On this worker thread's own connection, closed after (threads do not outlive the run, and
    Django would not close a thread's connection by itself)."""
    try:
        run(sql, params, setup=setup)
    finally:
        connection.close()


def run_all(
    statements: Sequence[Statement],
    *,
    workers: int,
    setup: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Every statement, ``workers`` at once (one: one after another on this connection). A failed
    statement fails the run once the others have finished."""
    if workers > 1 and len(statements) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recompute") as pool:
            running = [pool.submit(_run_apart, sql, params, setup) for sql, params in statements]
            for done, future in enumerate(as_completed(running), 1):
                future.result()
                if progress:
                    progress(done, len(statements))
        return
    for done, (sql, params) in enumerate(statements, 1):
        run(sql, params, setup=setup)
        if progress:
            progress(done, len(statements))
