"""The small pieces of SQL text the scoring queries are built from (supervision.risk.queries,
supervision.risk.offsite_sql): float literals, day numbers, decay and saturation, the scope of
enterprises, for SQLite and PostgreSQL alike.

Policy numbers go into the text as literals (validated numbers, never user text); moments, dates
and any text a policy holds (an attribute's values) go in as parameters.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone


def _lit(value) -> str:
    """A policy number as an SQL float literal. Policies are validated numbers, never user text.

    PostgreSQL reads a bare ``0.5`` as numeric, and numeric arithmetic is several times slower
    than double precision (and comes back as Decimal): say float8.
    """
    number = repr(float(value))
    return f"{number}::float8" if connection.vendor == "postgresql" else number


def _day(column: str, *, timestamp: bool = False) -> str:
    """Days since 1970-01-01 of a date (or timestamp) column, as a number, in this database."""
    if connection.vendor == "postgresql":
        return (
            f"(EXTRACT(EPOCH FROM {column})::float8 / 86400)"
            if timestamp
            else f"({column} - DATE '1970-01-01')::float8"
        )
    return f"(julianday({column}) - 2440587.5)"


def _to_date(column: str, moment: datetime) -> str:
    """The local date of a UTC timestamp column (the project's time zone, at ``moment``'s offset)."""
    if connection.vendor == "postgresql":
        zone = str(timezone.get_current_timezone()).replace("'", "")
        return f"CAST({column} AT TIME ZONE '{zone}' AS date)"
    minutes = round(_local_offset_days(moment) * 1440)
    return f"date({column}, '{minutes:+d} minutes')"


def _epoch_days(moment: datetime) -> float:
    """Days since 1970-01-01 on the local wall clock, the scale dates are on (a date is its local
    midnight). Timestamps in the database are UTC: ``_day(..., timestamp=True)`` plus the local
    offset puts them on the same scale."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return (local.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds() / 86400.0


def _local_offset_days(moment: datetime) -> float:
    offset = timezone.localtime(moment).utcoffset() if timezone.is_aware(moment) else None
    return offset.total_seconds() / 86400.0 if offset else 0.0


# PostgreSQL's EXP fails the statement ("value out of range: underflow") where the result is below
# the smallest double, an exponent under about -708, instead of answering 0: a fact a few hundred
# half-lives old, or points a few hundred times the saturation, failed the whole recompute. The
# exponent stops at -700 (e^-700 is 1e-304, nothing in any sum).
_EXPONENT_FLOOR = 700


def _decay(age_days_sql: str, half_life) -> str:
    rate = _lit(math.log(2) / float(half_life))
    return f"EXP(-{_least(f'({age_days_sql}) * {rate}', _lit(_EXPONENT_FLOOR))})"


def _saturate(x_sql: str, saturation) -> str:
    return f"({_lit(1)} - EXP(-{_least(f'({x_sql}) / {_lit(saturation)}', _lit(_EXPONENT_FLOOR))}))"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _adapt(params: list) -> list:
    """Raw SQL gets no field conversion: store datetimes the way the ORM does (SQLite keeps UTC
    text, and an aware +08:00 value would compare as text against it, hours off)."""
    return [
        connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
        for value in params
    ]


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@dataclass(frozen=True)
class Scope:
    """Which enterprises a query covers: an id range [lo, hi), or an explicit list."""

    lo: int | None = None
    hi: int | None = None
    ids: tuple[int, ...] | None = None

    def sql(self, column: str) -> str:
        if self.ids is not None:
            return f"{column} IN ({', '.join(str(int(i)) for i in self.ids) or 'NULL'})"
        parts = []
        if self.lo is not None:
            parts.append(f"{column} >= {int(self.lo)}")
        if self.hi is not None:
            parts.append(f"{column} < {int(self.hi)}")
        return " AND ".join(parts) or "1 = 1"


def begun_day(as_of: datetime) -> date:
    """The first local day not yet known at ``as_of``: a dated fact (an imported inspection, a
    credit event, a register value) counts once its day has begun, so as of midnight (the
    back-test's START) that day is not yet known, as of 15:00 it is."""
    local = timezone.localtime(as_of) if timezone.is_aware(as_of) else as_of
    return local.date() if local.time() == datetime.min.time() else local.date() + timedelta(days=1)
