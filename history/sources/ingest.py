"""Batches of attributes and signals into the tables: whole or not at all, idempotent, audited.

- Every row is checked (history.sources.rows), then what needs the database: business keys,
  duplicates within the batch, rows already stored. Any problem refuses the whole batch with every
  problem listed (``invalid_rows``, 422; ``conflict``, 409, when the only problems are rows that
  contradict what is stored); nothing is written.
- A row already stored with the same content is left alone, so a retried batch changes nothing: a
  batch with no new row writes nothing at all (no SourceBatch, no audit event).
- A batch with new rows: one SourceBatch, its rows (bulk_create), one ``source.batch`` audit event,
  in one transaction that holds the source's row lock, so concurrent batches of one source (another
  gunicorn worker) queue, see each other's rows and count against one rate limit.
- Keyed signals whose business is not an enterprise here are kept (enterprise NULL, business key
  set) and counted in the batch and the answer, never dropped.
"""

import hashlib
import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.audit import audit_record, canonical
from core.errors import DomainError
from history.models import DataSource, EnterpriseAttribute, Signal, SourceBatch, SourceCredential
from history.sources.prepare import Prepared, prepare
from history.sources.rows import RowError

UNMATCHED_LISTED = 100  # distinct unmatched keys kept on a batch and returned; all are counted
BULK_SIZE = 2000
RATE_WINDOW = timedelta(minutes=1)
Content = SourceBatch.Content
Channel = SourceBatch.Channel


class IngestError(DomainError):
    status = 422


class RateLimited(IngestError):
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, code="rate_limited", details={"retry_after": retry_after})
        self.retry_after = retry_after


@dataclass
class BatchResult:
    batch: SourceBatch | None  # None: nothing new, nothing written
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    unmatched_count: int = 0
    unmatched: list[str] = field(default_factory=list)


def refusal(errors: list[RowError]) -> IngestError:
    """The one error for a batch (or a file) with bad rows: every problem, in row order."""
    errors = sorted(errors, key=lambda e: (e.row, e.field, e.code))
    details = {"errors": [error.as_dict() for error in errors], "error_count": len(errors)}
    if all(error.code == "conflict" for error in errors):
        message = ngettext(
            "%(n)d row conflicts with what is stored; nothing was written.",
            "%(n)d rows conflict with what is stored; nothing was written.",
            len(errors),
        ) % {"n": len(errors)}
        return IngestError(message, code="conflict", status=409, details=details)
    message = ngettext(
        "%(n)d problem in the rows; nothing was written.",
        "%(n)d problems in the rows; nothing was written.",
        len(errors),
    ) % {"n": len(errors)}
    return IngestError(message, code="invalid_rows", details=details)


def _lock(source: DataSource) -> DataSource:
    source = DataSource.objects.select_for_update().get(pk=source.pk)
    if not source.active:
        raise IngestError(_("This data source is not active."), code="inactive_source", status=403)
    return source


def _check_rate(source: DataSource) -> None:
    """At most rate_limit_per_minute accepted API batches in any minute, counted in the database."""
    limit = source.rate_limit_per_minute
    now = timezone.now()
    recent = list(
        SourceBatch.objects.filter(source=source, channel=Channel.API, received_at__gt=now - RATE_WINDOW)
        .order_by("-received_at")
        .values_list("received_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        wait = max(1, math.ceil((recent[-1] + RATE_WINDOW - now).total_seconds()))
        raise RateLimited(
            ngettext(
                "This source may send %(n)d batch a minute; try again in %(wait)d seconds.",
                "This source may send %(n)d batches a minute; try again in %(wait)d seconds.",
                limit,
            )
            % {"n": limit, "wait": wait},
            retry_after=wait,
        )


def _write(
    source: DataSource,
    content: str,
    prepared: Prepared,
    rows: list,
    *,
    channel: str,
    credential: SourceCredential | None,
) -> BatchResult:
    unmatched = sorted(prepared.unmatched)[:UNMATCHED_LISTED]
    result = BatchResult(
        batch=None,
        rows=prepared.rows,
        created=len(prepared.new),
        unchanged=prepared.unchanged,
        unmatched_count=sum(prepared.unmatched.values()),
        unmatched=unmatched,
    )
    if not prepared.new:
        return result
    digest = hashlib.sha256(canonical(rows).encode()).hexdigest()
    batch = SourceBatch.objects.create(
        source=source,
        content=content,
        channel=channel,
        credential=credential,
        rows=result.rows,
        created=result.created,
        unmatched=unmatched,
        unmatched_count=result.unmatched_count,
        sha256=digest,
    )
    for instance in prepared.new:
        instance.batch = batch
    model = EnterpriseAttribute if content == Content.ATTRIBUTES else Signal
    model.objects.bulk_create(prepared.new, batch_size=BULK_SIZE)
    audit_record(
        actor=None,
        action="source.batch",
        target=batch,
        data={
            "source": source.code,
            "content": content,
            "channel": channel,
            "credential": credential.prefix if credential else None,
            "rows": result.rows,
            "created": result.created,
            "unchanged": result.unchanged,
            "unmatched_count": result.unmatched_count,
            "sha256": digest,
        },
    )
    result.batch = batch
    return result


def batch_ingest(
    *, source: DataSource, content: str, rows: list, credential: SourceCredential | None = None
) -> BatchResult:
    """One API batch: accepted whole (or, all of it already stored, a no-op) or refused whole."""
    if len(rows) > source.max_batch_rows:
        raise IngestError(
            _("A batch of this source holds at most %(n)d rows; this one has %(rows)d.")
            % {"n": source.max_batch_rows, "rows": len(rows)},
            code="too_many_rows",
            status=413,
            details={"max_rows": source.max_batch_rows, "rows": len(rows)},
        )
    with transaction.atomic():
        source = _lock(source)
        _check_rate(source)
        prepared = prepare(source, content, rows)
        if prepared.errors:
            raise refusal(prepared.errors)
        return _write(source, content, prepared, rows, channel=Channel.API, credential=credential)


@dataclass
class FileResult:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    unmatched_count: int = 0
    unmatched: list[str] = field(default_factory=list)
    batches: list[SourceBatch] = field(default_factory=list)


def file_ingest(*, source: DataSource, content: str, rows: list, chunk_rows: int) -> FileResult:
    """A whole file, through the same checks as an API batch, one SourceBatch per chunk of
    ``chunk_rows``: accepted whole, or refused whole with every problem of every chunk."""
    result = FileResult(rows=len(rows))
    errors: list[RowError] = []
    with transaction.atomic():
        source = _lock(source)
        for start in range(0, len(rows), chunk_rows):
            chunk = rows[start : start + chunk_rows]
            prepared = prepare(source, content, chunk, offset=start)
            errors += prepared.errors
            if errors:
                continue  # keep checking, to list every problem; nothing will be kept
            written = _write(source, content, prepared, chunk, channel=Channel.FILE, credential=None)
            result.created += written.created
            result.unchanged += written.unchanged
            result.unmatched_count += written.unmatched_count
            result.unmatched = sorted(set(result.unmatched) | set(written.unmatched))[:UNMATCHED_LISTED]
            if written.batch is not None:
                result.batches.append(written.batch)
        if errors:
            raise refusal(errors)
    return result
