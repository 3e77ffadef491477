"""Writing the demo enterprises (demo.rows) to the register, and finding them there.

Rows are generated and written one chunk at a time and never held all at once. On
PostgreSQL they stream in through COPY: 300,000 rows took 13 s that way against 27 s
with bulk_create, and bench/seed_demo.py times whole runs (1 million in about 30 s).
Elsewhere (SQLite) bulk_create, about 10,000 rows/s.
"""

import time
from collections.abc import Callable, Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from core.errors import DomainError
from core.models import District, Enterprise, Scene
from demo.rows import (
    DEMO_MARKER,
    DISTRICT_PROFILES,
    ORG_SPACE,
    SCENE_PROFILES,
    EnterpriseRow,
    enterprise_rows,
)

CHUNK_SIZE = 10_000


def demo_enterprises() -> QuerySet[Enterprise]:
    # Position 9 is 1-based, as SQL's SUBSTR is: characters 9-10 of the USCC.
    return Enterprise.objects.annotate(marker=Substr("uscc", 9, len(DEMO_MARKER))).filter(marker=DEMO_MARKER)


def demo_enterprise_count() -> int:
    return demo_enterprises().count()


class _Writer:
    """Writes one chunk of rows; COPY on PostgreSQL, bulk_create elsewhere (or when asked)."""

    FIELDS = (
        "uscc",
        "name",
        "address",
        "district",
        "scene",
        "legal_representative",
        "licence_status",
        "opened_on",
        "latitude",
        "longitude",
        "created_at",
        "updated_at",
        "features",
    )

    def __init__(self, method: str):
        if method not in ("auto", "copy", "bulk"):
            raise DomainError(f"unknown write method {method!r}: auto, copy or bulk", code="invalid_method")
        if method == "auto":
            method = "copy" if connection.vendor == "postgresql" else "bulk"
        if method == "copy" and connection.vendor != "postgresql":
            raise DomainError("COPY needs PostgreSQL", code="copy_needs_postgresql")
        self.method = method
        self.district_ids = dict(
            District.objects.filter(code__in=list(DISTRICT_PROFILES)).values_list("code", "id")
        )
        self.scene_ids = dict(Scene.objects.filter(code__in=list(SCENE_PROFILES)).values_list("code", "id"))
        meta = Enterprise._meta
        columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in self.FIELDS)
        self.copy_sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"

    def write(self, rows: Iterable[EnterpriseRow]) -> None:
        now = timezone.now()
        if self.method == "copy":
            self._copy(rows, now)
        else:
            self._bulk_create(rows, now)

    def _copy(self, rows, now) -> None:
        # Rows stream into COPY as they are generated, so the server indexes one part of
        # a chunk while Python builds the next.
        d, s = self.district_ids, self.scene_ids
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.copy(self.copy_sql) as copy,
        ):
            for r in rows:
                copy.write_row(
                    (
                        r.uscc,
                        r.name,
                        r.address,
                        d[r.district_code],
                        s[r.scene_code],
                        r.legal_representative,
                        r.licence_status,
                        r.opened_on,
                        r.latitude,
                        r.longitude,
                        now,
                        now,
                        "[]",
                    )
                )

    def _bulk_create(self, rows, now) -> None:
        d, s = self.district_ids, self.scene_ids
        Enterprise.objects.bulk_create(
            [
                Enterprise(
                    uscc=r.uscc,
                    name=r.name,
                    address=r.address,
                    district_id=d[r.district_code],
                    scene_id=s[r.scene_code],
                    legal_representative=r.legal_representative,
                    licence_status=r.licence_status,
                    opened_on=r.opened_on,
                    latitude=r.latitude,
                    longitude=r.longitude,
                    created_at=now,
                    updated_at=now,
                )
                for r in rows
            ],
            batch_size=2_000,
        )


Progress = Callable[[int, int, float], None]  # (demo enterprises now, target, rows per second)


def enterprises_seed(*, total: int, method: str = "auto", progress: Progress | None = None) -> int:
    """Create the missing demo enterprises up to ``total``; returns how many were created.

    One transaction per chunk: an interrupted run keeps what it wrote, and the next
    run carries on from there.
    """
    if not 1 <= total <= ORG_SPACE:
        raise DomainError(f"the number of demo enterprises must be 1 to {ORG_SPACE:,}", code="invalid_total")
    existing = demo_enterprise_count()
    if existing >= total:
        return 0
    writer = _Writer(method)
    started = time.monotonic()
    for chunk_start in range(existing, total, CHUNK_SIZE):
        chunk_stop = min(chunk_start + CHUNK_SIZE, total)
        try:
            with transaction.atomic():
                writer.write(enterprise_rows(chunk_start, chunk_stop))
        except IntegrityError as exc:
            raise DomainError(
                f"demo enterprises from #{chunk_start:,} on exist already ({exc}): either another "
                "seed_demo is running, or demo enterprises were deleted partly; delete all of them "
                f"(USCC characters 9-10 '{DEMO_MARKER}') or none",
                code="demo_set_inconsistent",
            ) from exc
        if progress is not None:
            elapsed = max(time.monotonic() - started, 1e-9)
            progress(chunk_stop, total, (chunk_stop - existing) / elapsed)
    if connection.vendor == "postgresql" and total - existing >= CHUNK_SIZE:
        # Fresh statistics now, not when autovacuum gets round to it: the planner would
        # otherwise plan the first demo queries for the table it saw before the load.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Enterprise._meta.db_table)}")
    return total - existing


def business_enterprise() -> Enterprise:
    """Demo enterprise #0, the one the business logins belong to."""
    row = next(enterprise_rows(0, 1))
    try:
        return Enterprise.objects.select_related("district", "scene").get(uscc=row.uscc)
    except Enterprise.DoesNotExist:
        raise DomainError(
            f"demo enterprise #0 ({row.uscc}) is missing: demo enterprises were deleted partly; "
            "delete all of them or none",
            code="demo_set_inconsistent",
        ) from None
