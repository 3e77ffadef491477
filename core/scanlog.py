"""Shown scans, written in batches.

Every scan of a code is recorded (core.landing). A shown scan is the busiest write of the platform
(each diner who scans a restaurant's code makes one) and nothing reads it back within the second,
so each worker process keeps the shown scans it served in memory and writes them in one statement:
when SCAN_LOG_BATCH are waiting, when the oldest has waited SCAN_LOG_FLUSH_MS (a timer thread
writes them if no request comes), and when the process stops gracefully (atexit, and gunicorn's
``worker_exit`` hook in config/gunicorn.py). A worker killed outright loses at most the shown scans
of its last SCAN_LOG_FLUSH_MS; failed scans are written at once, in their request (core.landing
counts them per client and minute from the table).

A batch that cannot be written (the database is away) is kept and tried again with the next one,
up to SCAN_LOG_BATCH * 10 rows; beyond that the oldest are dropped and the loss is logged.
"""

import atexit
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction

from core.models import ScanEvent

logger = logging.getLogger(__name__)


class ScanLog:
    def __init__(self) -> None:
        self._rows: list[ScanEvent] = []
        self._oldest = 0.0  # self.clock() when the oldest waiting row came
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.clock = time.monotonic  # what the age of a batch is measured on

    def add(self, event: ScanEvent) -> None:
        """Keep ``event`` (not saved) for the next batch; write the batch if it is full or old."""
        batch = settings.SCAN_LOG_BATCH
        if batch <= 1:
            event.save(force_insert=True)
            return
        with self._lock:
            if not self._rows:
                self._oldest = self.clock()
            self._rows.append(event)
            due = len(self._rows) >= batch or self._age_ms() >= settings.SCAN_LOG_FLUSH_MS
            if not due and self._timer is None:
                self._start_timer()
        if due:
            self.flush()

    def pending(self) -> int:
        return len(self._rows)

    def flush(self) -> int:
        """Write every waiting row now, in one statement (_write); how many were written."""
        with self._lock:
            rows, self._rows = self._rows, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if not rows:
            return 0
        try:
            _write(rows)
        except DatabaseError:
            logger.exception("scan log: %d shown scans not written, kept for the next batch", len(rows))
            self._keep(rows)
            return 0
        return len(rows)

    def _keep(self, rows: list[ScanEvent]) -> None:
        limit = settings.SCAN_LOG_BATCH * 10
        with self._lock:
            self._rows = rows + self._rows
            if len(self._rows) > limit:
                lost = len(self._rows) - limit
                del self._rows[:lost]
                logger.error("scan log: %d shown scans dropped, the database refused them too long", lost)
            if self._rows and self._timer is None:
                self._oldest = self.clock()
                self._start_timer()

    def _age_ms(self) -> float:
        return (self.clock() - self._oldest) * 1000

    def _start_timer(self) -> None:
        self._timer = threading.Timer(settings.SCAN_LOG_FLUSH_MS / 1000, self._flush_from_timer)
        self._timer.daemon = True
        self._timer.start()

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        finally:
            # This thread's own connection: closed, not left idle until the process ends.
            connections.close_all()


def _write(rows: list[ScanEvent]) -> None:
    """One batch in one statement: on PostgreSQL a COPY, which the server takes without parsing a
    statement of some 2,000 parameters and Python without compiling one (a third of a shown scan's
    database time went there); elsewhere an INSERT of them all. The rows get no primary key."""
    alias = router.db_for_write(ScanEvent)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        ScanEvent.objects.using(alias).bulk_create(rows)
        return
    fields = [f for f in ScanEvent._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    statement = (
        f"COPY {quote(ScanEvent._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    )
    with (
        transaction.atomic(using=alias),
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row([f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields])


scan_log = ScanLog()
atexit.register(scan_log.flush)
