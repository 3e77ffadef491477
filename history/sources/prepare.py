"""The checks of a batch that need the database: business keys to enterprises, duplicates within
the batch, rows already stored (the same content: unchanged; another content: a conflict).
Rows are checked one by one before (history.sources.rows); writing is history.sources.ingest's."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from core.models import Enterprise
from history.models import DataSource, EnterpriseAttribute, Signal, Source, SourceBatch, SourceRecord
from history.sources.rows import AttributeRow, RowChecker, RowError, SignalRow

LOOKUP_CHUNK = 2000  # keys per IN (...) lookup: well below SQLite's bound-parameter limit
Content = SourceBatch.Content


@dataclass
class Prepared:
    rows: int
    new: list = field(default_factory=list)
    unchanged: int = 0
    unmatched: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enterprises_by_key(source: DataSource, keys) -> dict[str, int]:
    """Business key (as normalised by history.sources.rows) -> enterprise id, for the keys that match."""
    keys = sorted(set(keys))
    found: dict[str, int] = {}
    for chunk in _chunks(keys, LOOKUP_CHUNK):
        if source.business_key == DataSource.BusinessKey.USCC:
            found.update(Enterprise.objects.filter(uscc__in=chunk).values_list("uscc", "pk"))
        else:
            found.update(
                SourceRecord.objects.filter(source=Source.LIVES, source_id__in=chunk).values_list(
                    "source_id", "enterprise_id"
                )
            )
    return found


def prepare_attributes(source: DataSource, rows: list, offset: int, checker: RowChecker) -> Prepared:
    prepared = Prepared(rows=len(rows))
    parsed: list[AttributeRow] = [
        row for row in (checker.attribute(offset + i, raw) for i, raw in enumerate(rows)) if row is not None
    ]
    enterprise_ids = enterprises_by_key(source, (row.business_key for row in parsed))
    first: dict[tuple, int] = {}
    candidates: list[tuple[AttributeRow, int]] = []
    for row in parsed:
        enterprise_id = enterprise_ids.get(row.business_key)
        if enterprise_id is None:
            checker.errors.append(
                RowError(
                    row.position, "business_key", "unknown_business", _("no enterprise has this business key")
                )
            )
            continue
        key = (enterprise_id, row.name, row.valid_from)
        if key in first:
            checker.errors.append(
                RowError(
                    row.position,
                    "valid_from",
                    "duplicate",
                    _("the same business, name and valid_from as row %(row)d") % {"row": first[key]},
                    duplicate_of=first[key],
                )
            )
            continue
        first[key] = row.position
        candidates.append((row, enterprise_id))
    stored: dict[tuple, str] = {}
    if candidates:
        # Only the batch's names and dates: a register's long history of other facts stays unread
        # (the attribute_unique index serves enterprise, source, name, valid_from).
        names = sorted({row.name for row, _id in candidates})
        days = (
            min(row.valid_from for row, _id in candidates),
            max(row.valid_from for row, _id in candidates),
        )
        for chunk in _chunks(sorted({enterprise_id for _row, enterprise_id in candidates}), LOOKUP_CHUNK):
            for enterprise_id, name, valid_from, value in EnterpriseAttribute.objects.filter(
                source=source, enterprise_id__in=chunk, name__in=names, valid_from__range=days
            ).values_list("enterprise_id", "name", "valid_from", "value"):
                stored[(enterprise_id, name, valid_from)] = value
    for row, enterprise_id in candidates:
        known = stored.get((enterprise_id, row.name, row.valid_from))
        if known is None:
            prepared.new.append(
                EnterpriseAttribute(
                    source=source,
                    enterprise_id=enterprise_id,
                    name=row.name,
                    value=row.value,
                    valid_from=row.valid_from,
                )
            )
        elif known == row.value:
            prepared.unchanged += 1
        else:
            checker.errors.append(
                RowError(
                    row.position,
                    "value",
                    "conflict",
                    _(
                        "conflicts with the stored value %(stored)r of this business, name and valid_from: "
                        "a stored fact is not overwritten; send a change with the date it took effect"
                    )
                    % {"stored": known},
                )
            )
    prepared.errors = checker.errors
    return prepared


def prepare_signals(source: DataSource, rows: list, offset: int, checker: RowChecker) -> Prepared:
    prepared = Prepared(rows=len(rows))
    parsed: list[SignalRow] = []
    first: dict[str, int] = {}
    for i, raw in enumerate(rows):
        row = checker.signal(offset + i, raw)
        if row is None:
            continue
        if row.source_ref in first:
            checker.errors.append(
                RowError(
                    row.position,
                    "signal_id",
                    "duplicate",
                    _("the same signal_id as row %(row)d") % {"row": first[row.source_ref]},
                    duplicate_of=first[row.source_ref],
                )
            )
            continue
        first[row.source_ref] = row.position
        parsed.append(row)
    enterprise_ids = enterprises_by_key(source, (row.business_key for row in parsed if row.business_key))
    stored: dict[str, tuple] = {}
    for chunk in _chunks([row.source_ref for row in parsed], LOOKUP_CHUNK):
        for ref, *payload in Signal.objects.filter(source=source, source_ref__in=chunk).values_list(
            "source_ref",
            "kind",
            "occurred_at",
            "latitude",
            "longitude",
            "business_key",
            "value",
            "description",
        ):
            stored[ref] = tuple(payload)
    names = ("kind", "occurred_at", "latitude", "longitude", "business_key", "value", "description")
    for row in parsed:
        enterprise_id = enterprise_ids.get(row.business_key) if row.business_key else None
        if row.business_key and enterprise_id is None:
            prepared.unmatched[row.business_key] += 1
        known = stored.get(row.source_ref)
        if known is None:
            prepared.new.append(
                Signal(
                    source=source,
                    source_ref=row.source_ref,
                    kind=row.kind,
                    occurred_at=row.occurred_at,
                    latitude=row.latitude,
                    longitude=row.longitude,
                    business_key=row.business_key,
                    enterprise_id=enterprise_id,
                    value=row.value,
                    description=row.description,
                )
            )
        elif known == row.payload():
            prepared.unchanged += 1
        else:
            differ = [name for name, old, new in zip(names, known, row.payload(), strict=True) if old != new]
            checker.errors.append(
                RowError(
                    row.position,
                    "signal_id",
                    "conflict",
                    _(
                        "conflicts with the stored signal of this signal_id (%(fields)s differ): "
                        "a stored signal is not overwritten"
                    )
                    % {"fields": ", ".join(differ)},
                )
            )
    prepared.errors = checker.errors
    return prepared


def prepare(source: DataSource, content: str, rows: list, *, offset: int = 0) -> Prepared:
    checker = RowChecker(source)
    if content == Content.ATTRIBUTES:
        return prepare_attributes(source, rows, offset, checker)
    return prepare_signals(source, rows, offset, checker)
