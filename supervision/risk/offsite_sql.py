"""The SQL of the off-site factors (supervision.risk.offsite): set-based subqueries that
supervision.risk.queries.features_query joins to each enterprise, for SQLite and PostgreSQL alike.

- attribute and attribute_age: one subquery for all of them, the latest value per enterprise and
  attribute name with ``valid_from`` before the day "as of" begins (as every dated fact);
- keyed: one subquery over the enterprises' own signals, one column per factor;
- nearby: a grid. Signals and enterprises are put in square cells of ``radius_m / CELLS_PER_RADIUS``
  metres (degrees of latitude, and of longitude scaled by the cosine of a reference latitude: the
  mean latitude of the enterprises with coordinates, rounded to 0.1°). Signals are summed per cell
  with their time decay; each cell where an enterprise is gets the sum over the cells whose centre
  lies within ``radius_m`` of its own centre, each weighted by the distance between the centres.
  The neighbourhood is a literal VALUES table of (dy, dx, weight) offsets computed here, so the
  join is an equality join on cell numbers the planner hashes. An enterprise takes its cell's sum.
  The cost is (cells with enterprises) x (offsets, about 80), whatever the number of signals.

Accuracy of nearby: a distance is measured between cell centres, so it is off by at most the cell's
diagonal (``radius_m / 4 * sqrt(2)``, 106 m for a 300 m radius) and by about a third of a cell on
average (25 m); a signal just outside the radius may count when its cell's centre is inside it, and
the other way round. Both sides of the grid share one reference latitude, so east-west distances
are off by the cosine ratio between it and the actual latitude (under 2 % across a city). Measured
against exact distances (bench/recompute_offsite.py, 2,000 enterprises, 160,000 complaints in the
window): the feature is off by 0.015 on average (0.046 at the 95th percentile, on a mean of 0.43),
correlation 0.998; five cells per radius cost 65 % more for 0.013.

A full recompute builds each nearby factor's cell sums once for the whole city
(``prepare``: a table, computed in parts side by side) and joins every chunk of enterprises to it;
the register values are read per chunk, for its enterprises. A single
enterprise, a back-test or a calibration computes the cells of its enterprises inline.
"""

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg

from core.models import Enterprise
from history.models import EnterpriseAttribute, Signal
from supervision.models import ScoringPolicy
from supervision.risk import offsite, parallel
from supervision.risk.sqltext import (
    Scope,
    _adapt,
    _day,
    _decay,
    _epoch_days,
    _lit,
    _local_offset_days,
    _saturate,
    _t,
)

# Cells per radius: finer is more exact and costs about pi * (CELLS_PER_RADIUS + 0.5)^2 offsets per
# cell (49 for 4, 81 for 5); the full recompute's cell sums scale with it.
CELLS_PER_RADIUS = 4
# Cell keys are row * KEY_ROW + column; a column number stays below it (radius_m >= 10: cells of
# 2.5 m and more: at most 1.6e7 columns round the equator, fewer elsewhere).
KEY_ROW = 1_000_000_007
REFERENCE_KEY = "risk:nearby:reference_latitude"
REFERENCE_SECONDS = 6 * 3600
_UNKNOWN = object()
EARTH_RADIUS_M = 6_371_000
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


@dataclass(frozen=True)
class Prepared:
    """The grid's reference latitude (None: no enterprise has coordinates) and, during a full
    recompute, what was computed once for the whole city: each nearby factor's cell sums (a table)
    by factor name."""

    reference_latitude: float | None = None
    tables: dict[str, str] = field(default_factory=dict)
    shared: bool = False  # the tables are shared between connections (prepare)


@dataclass(frozen=True)
class Grid:
    cell_m: float
    dlat: float  # cell height in degrees of latitude
    dlon: float  # cell width in degrees of longitude at the reference latitude
    offsets: tuple[tuple[int, int, float], ...]  # (dy, dx, distance weight)


@dataclass
class OffsiteSql:
    """What features_query adds: select-list columns (no placeholders), joins, their parameters,
    and the count of penalty signals for the credit rating."""

    columns: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    penalties: str = "0"


def reference_latitude(*, fresh: bool = False) -> float | None:
    """The mean latitude of the enterprises with coordinates, rounded to 0.1° so that it stays put
    as enterprises come and go (a recompute of one enterprise and of all agree). Kept in the cache
    for REFERENCE_SECONDS: reading it is a scan of the register (0.3 s at 2.5 million), too much
    for every rescore after an inspection; a full recompute reads it ``fresh``."""
    if not fresh:
        cached = cache.get(REFERENCE_KEY, _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached
    mean = Enterprise.objects.filter(latitude__isnull=False, longitude__isnull=False).aggregate(
        mean=Avg("latitude")
    )["mean"]
    value = None if mean is None else max(-85.0, min(85.0, round(float(mean), 1)))
    cache.set(REFERENCE_KEY, value, REFERENCE_SECONDS)
    return value


def has_nearby(params) -> bool:
    return any(d.get("type") == "nearby" for d in offsite.definitions(params))


def prepared_for(policy: ScoringPolicy, *, fresh: bool = False) -> Prepared:
    """The grid's reference for ``policy``: one query (or the cache), only when it has a nearby
    factor; nothing computed ahead."""
    return Prepared(reference_latitude(fresh=fresh) if has_nearby(policy.params) else None)


def offsets(*, radius_m: float, cell_m: float, decay_m: float | None) -> tuple[tuple[int, int, float], ...]:
    """Every (dy, dx) whose cell centre lies within ``radius_m`` of the centre of cell (0, 0), with
    the weight of that distance (halving every ``decay_m`` metres; 1 without decay)."""
    reach = math.ceil(radius_m / cell_m)
    found = []
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            distance = cell_m * math.hypot(dy, dx)
            # A hair of tolerance: a centre exactly on the radius counts, whatever the rounding.
            if distance <= radius_m * (1 + 1e-9):
                weight = 0.5 ** (distance / decay_m) if decay_m else 1.0
                found.append((dy, dx, weight))
    return tuple(found)


def grid(definition: dict, latitude: float) -> Grid:
    radius = float(definition["radius_m"])
    cell = radius / CELLS_PER_RADIUS
    dlat = cell / METRES_PER_DEGREE
    dlon = cell / (METRES_PER_DEGREE * math.cos(math.radians(latitude)))
    decay = definition.get("distance_decay_m")
    return Grid(cell, dlat, dlon, offsets(radius_m=radius, cell_m=cell, decay_m=decay and float(decay)))


def _cell(column: str, origin: float, size: float) -> str:
    """The cell number of a coordinate: floor((value + origin) / size), origin making it positive."""
    if connection.vendor == "postgresql":
        return f"FLOOR(({column}::float8 + {_lit(origin)}) / {_lit(size)})::int8"
    # Positive, so CAST truncates to the floor, without a Python-defined FLOOR on SQLite.
    return f"CAST((CAST({column} AS REAL) + {_lit(origin)}) / {_lit(size)} AS INTEGER)"


def cell_key(latitude: str, longitude: str, g: Grid) -> str:
    """One integer per cell, row * KEY_ROW + column: a single join key (two keys hash slower), and
    not a power of two, which PostgreSQL's int8 hash would fold into collisions."""
    return f"({_cell(latitude, 90, g.dlat)} * {KEY_ROW} + {_cell(longitude, 180, g.dlon)})"


def _offsets_table(g: Grid) -> str:
    rows = ", ".join(f"({dy * KEY_ROW + dx}, {_lit(w)})" for dy, dx, w in g.offsets)
    return f"(SELECT column1 AS dk, column2 AS w FROM (VALUES {rows}) AS v)"


def nearby_cells(
    *, definition: dict, g: Grid, as_of: datetime, scope: Scope, part: tuple[int, int] = (0, 1)
) -> tuple[str, list]:
    """(k, pts): for each cell holding an enterprise in ``scope`` (its key), the decayed, distance-
    weighted signals of the definition's kind around it. ``part`` (n, of): only the cells whose key
    is n modulo ``of``, to compute a city's cells in parts side by side."""
    ts_day = _epoch_days(as_of) - _local_offset_days(as_of)
    age = f"{_lit(ts_day)} - {_day('s.occurred_at', timestamp=True)}"
    window_from = as_of - timedelta(days=float(definition["window_days"]))
    signal_cell = cell_key("s.latitude", "s.longitude", g)
    near = ""
    if scope.ids is not None:
        # A few enterprises (one rescored, a back-test's): only the signals around them are summed.
        reach = float(definition["radius_m"]) + 2 * g.cell_m
        dlat, dlon = reach / METRES_PER_DEGREE, reach * g.dlon / g.cell_m
        real = "float8" if connection.vendor == "postgresql" else "REAL"
        box = {
            f"{bound}_{axis}": f"(SELECT {bound}(CAST(e2.{axis} AS {real})) FROM {_t(Enterprise)} e2 "
            f"WHERE {scope.sql('e2.id')})"
            for bound in ("MIN", "MAX")
            for axis in ("latitude", "longitude")
        }
        near = (
            f"AND s.latitude BETWEEN {box['MIN_latitude']} - {_lit(dlat)} "
            f"AND {box['MAX_latitude']} + {_lit(dlat)} "
            f"AND s.longitude BETWEEN {box['MIN_longitude']} - {_lit(dlon)} "
            f"AND {box['MAX_longitude']} + {_lit(dlon)}"
        )
    enterprise_cell = cell_key("e.latitude", "e.longitude", g)
    n, of = part
    in_part = f"AND MOD({enterprise_cell}, {int(of)}) = {int(n)}" if of > 1 else ""
    sql = f"""
        SELECT ec.k, SUM(o.w * sc.pts) AS pts
        FROM (SELECT DISTINCT {enterprise_cell} AS k
              FROM {_t(Enterprise)} e
              WHERE {scope.sql("e.id")} AND e.latitude IS NOT NULL AND e.longitude IS NOT NULL {in_part}) ec
        CROSS JOIN {_offsets_table(g)} o
        JOIN (SELECT {signal_cell} AS k, SUM({_decay(age, definition["half_life_days"])}) AS pts
              FROM {_t(Signal)} s
              WHERE s.kind = '{definition["kind"]}' AND s.latitude IS NOT NULL AND s.longitude IS NOT NULL
                AND s.occurred_at >= %s AND s.occurred_at < %s {near}
              GROUP BY {signal_cell}) sc
          ON sc.k = ec.k + o.dk
        GROUP BY ec.k"""
    return sql, [window_from, as_of]


# Tables a full recompute shares between its connections are named with this prefix; one left by
# a recompute that died is dropped by the next (recomputes take turns: an advisory lock).
SHARED_PREFIX = "risk_prepared_"
RECOMPUTE_LOCK = 74_100_001  # pg_advisory_lock key of the full recompute


def prepare(
    *, policy: ScoringPolicy, as_of: datetime, prepared: Prepared, shared: bool = False, workers: int = 1
) -> Prepared:
    """Compute, once for the whole city, what a full recompute's chunks would otherwise each
    compute again for their enterprises (tables dropped by ``drop``): each nearby factor's cell
    sums (the signals are summed once, not once per chunk). The register values are read by each
    chunk for its enterprises: an index range per chunk, the chunks side by side (a city-wide
    table of them cost more than it saved, its build on one core: bench/recompute_offsite.py).

    ``shared``: for chunks that run on other connections, committed UNLOGGED tables (no WAL: they
    are rebuilt by every recompute) with names of this run, instead of this session's temporary
    tables, each computed in ``workers`` parts side by side. PostgreSQL only."""
    if shared:
        _take_turn()
    tables: dict[str, str] = {}
    try:
        _prepare_tables(policy, as_of, prepared, tables, shared=shared, workers=workers)
    except BaseException:
        drop(Prepared(prepared.reference_latitude, tables, shared=shared))
        raise
    return Prepared(prepared.reference_latitude, tables, shared=shared)


def _prepare_tables(
    policy: ScoringPolicy, as_of: datetime, prepared: Prepared, tables: dict, *, shared: bool, workers: int
) -> None:
    nearby = [d for d in offsite.definitions(policy.params) if d["type"] == "nearby"]
    if prepared.reference_latitude is None or not nearby:
        return
    # The signal cells' hash table and the sums per cell in memory rather than in batches on disk
    # (a city's cells take some tens of MB).
    setup = ["SET LOCAL work_mem = '256MB'"] if connection.vendor == "postgresql" else []
    if not shared:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in setup:
                cursor.execute(statement)
            for index, definition in enumerate(nearby):
                g = grid(definition, prepared.reference_latitude)
                select, params = nearby_cells(definition=definition, g=g, as_of=as_of, scope=Scope())
                tables[definition["name"]] = _create(cursor, f"risk_nearby_{index}", select, params)
        return
    prefix = f"{SHARED_PREFIX}{secrets.token_hex(4)}_"
    statements = []
    with connection.cursor() as cursor:
        for index, definition in enumerate(nearby):
            table = tables[definition["name"]] = f"{prefix}nearby_{index}"
            cursor.execute(f"CREATE UNLOGGED TABLE {table} (k bigint, pts double precision)")
            g = grid(definition, prepared.reference_latitude)
            for part in range(workers):
                select, params = nearby_cells(
                    definition=definition, g=g, as_of=as_of, scope=Scope(), part=(part, workers)
                )
                statements.append((f"INSERT INTO {table} (k, pts) {select}", _adapt(params)))
    parallel.run_all(statements, workers=workers, setup=setup)
    with connection.cursor() as cursor:
        for table in tables.values():
            _index(cursor, table)


def _take_turn() -> None:
    """Wait for any other full recompute (session advisory lock, released by ``drop``), then drop
    what a recompute that died left behind."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RECOMPUTE_LOCK])
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s",
            [SHARED_PREFIX.replace("_", r"\_") + "%"],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE IF EXISTS "{table}"')


def _create(cursor, table: str, select: str, params: list) -> str:
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMPORARY TABLE {table} AS {select}", _adapt(params))
    _index(cursor, table)
    return table


def _index(cursor, table: str) -> None:
    # Each chunk looks its enterprises' cells up, instead of hashing the whole table.
    cursor.execute(f"CREATE INDEX {table}_k ON {table} (k)")
    cursor.execute(f"ANALYZE {table}")


def drop(prepared: Prepared) -> None:
    with connection.cursor() as cursor:
        for table in prepared.tables.values():
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        if prepared.shared:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RECOMPUTE_LOCK])


# --- dates held as text ------------------------------------------------------------------------------


def _date_days(value: str) -> str:
    """Days since 1970-01-01 of a YYYY-MM-DD or YYYYMMDD text, NULL for anything else; never an
    error (a register may hold any text under a name), so no cast of a non-date is attempted."""
    digits = f"REPLACE({value}, '-', '')"
    y = f"SUBSTR({digits}, 1, 4)"
    m = f"SUBSTR({digits}, 5, 2)"
    d = f"SUBSTR({digits}, 7, 2)"
    if connection.vendor != "postgresql":
        # julianday() is NULL for what is not a date; shallow, as SQLite's parser needs.
        shaped = (
            f"({value} GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' "
            f"OR {value} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')"
        )
        return f"CASE WHEN {shaped} THEN julianday({y} || '-' || {m} || '-' || {d}) - 2440587.5 END"
    y, m, d = (f"CAST({part} AS INTEGER)" for part in (y, m, d))
    shaped = f"{value} ~ '^([0-9]{{8}}|[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})$'"
    # The first of the month plus the days: 2014-02-30 reads as 2014-03-02 (as in SQLite) instead
    # of failing the whole recompute as a cast to date would. Nested CASEs: PostgreSQL may evaluate
    # the operands of AND in any order, a CASE's branches only when reached.
    return (
        f"CASE WHEN {shaped} THEN (CASE WHEN {m} BETWEEN 1 AND 12 AND {y} >= 1 AND {d} BETWEEN 1 AND 31 "
        f"THEN (make_date({y}, {m}, 1) - DATE '1970-01-01') + {d} - 1 END) END"
    )


# --- the features ------------------------------------------------------------------------------------


def _attribute_select(defs: list[dict], *, begun, scope: Scope) -> tuple[str, list]:
    """(eid, x_<name> of each attribute factor, d_<name> the date of each attribute_age factor)
    for the enterprises in ``scope`` with a register value of one of the attributes.

    One pass over the scope's register values, grouped by enterprise: per attribute name, the
    latest value is the greatest "valid_from value" text (the day as fixed-width text sorts like
    the date; on a tie, two sources on the same day, the greater value). No window function and
    no sort: the rows come in enterprise order from the attribute table's index, or are split
    between parallel workers for the whole city."""
    attributes = sorted({d["attribute"] for d in defs})
    if connection.vendor == "postgresql":
        # Days since 1970 plus 100000, six digits from 1696 to 2243: sorts like the date, and
        # formats several times faster than to_char.
        day, start = "(a.valid_from - DATE '1970-01-01' + 100000)::text", 8
    else:
        day, start = "a.valid_from", 12  # SQLite keeps dates as YYYY-MM-DD text
    latest = ", ".join(
        f"MAX(CASE WHEN a.name = '{name}' THEN {day} || ' ' || a.value END) AS v{index}"
        for index, name in enumerate(attributes)
    )
    columns, params = [], []
    for d in defs:
        value = f"SUBSTR(la.v{attributes.index(d['attribute'])}, {start})"
        if d["type"] == "attribute":
            cases = " ".join(f"WHEN %s THEN {_lit(v)}" for v in d["values"].values())
            params += list(d["values"])
            columns.append(f"CASE {value} {cases} ELSE {_lit(d.get('missing', 0))} END AS x_{d['name']}")
        else:
            # The date is read here, the age measured outside: the long date expression once.
            columns.append(f"{_date_days(value)} AS d_{d['name']}")
    names = ", ".join(f"'{a}'" for a in attributes)
    sql = f"""
        SELECT la.eid, {", ".join(columns)}
        FROM (SELECT a.enterprise_id AS eid, {latest}
              FROM {_t(EnterpriseAttribute)} a
              WHERE a.valid_from < %s AND a.name IN ({names}) AND {scope.sql("a.enterprise_id")}
              GROUP BY a.enterprise_id) la"""
    return sql, [*params, begun]


def _attributes(defs: list[dict], *, as_of: datetime, begun, scope: Scope, out: OffsiteSql) -> None:
    if not defs:
        return
    as_of_day = _epoch_days(as_of)
    for d in defs:
        if d["type"] == "attribute":
            out.columns.append(f"COALESCE(oa.x_{d['name']}, {_lit(d.get('missing', 0))}) AS x_{d['name']}")
        else:
            out.columns.append(f"{_age(d, as_of_day)} AS x_{d['name']}")
    select, params = _attribute_select(defs, begun=begun, scope=scope)
    out.joins.append(f"LEFT JOIN ({select}) oa ON oa.eid = e.id")
    out.params += params


def _age(definition: dict, as_of_day: float) -> str:
    """1 - age / days, clipped to [0, 1]; 0 without a date."""
    one, zero = _lit(1), _lit(0)
    age = f"({_lit(as_of_day)} - oa.d_{definition['name']})"
    days = _lit(definition["days"])
    return (
        f"CASE WHEN oa.d_{definition['name']} IS NULL THEN {zero} WHEN {age} <= 0 THEN {one} "
        f"WHEN {age} >= {days} THEN {zero} ELSE {one} - {age} / {days} END"
    )


def _signal_value(definition: dict) -> str:
    if not definition.get("use_value"):
        return _lit(1)
    value = f"COALESCE(s.value, {_lit(1)})"
    return f"(CASE WHEN {value} > 0 THEN {value} ELSE {_lit(0)} END)"


def _keyed(defs: list[dict], *, as_of: datetime, scope: Scope, out: OffsiteSql) -> None:
    if not defs:
        return
    ts_day = _epoch_days(as_of) - _local_offset_days(as_of)
    age = f"{_lit(ts_day)} - {_day('s.occurred_at', timestamp=True)}"
    columns, params = [], []
    for d in defs:
        weight = f"{_decay(age, d['half_life_days'])} * {_signal_value(d)}"
        columns.append(
            f"SUM(CASE WHEN s.kind = '{d['kind']}' AND s.occurred_at >= %s "
            f"THEN {weight} ELSE {_lit(0)} END) AS k_{d['name']}"
        )
        params.append(as_of - timedelta(days=float(d["window_days"])))
        out.columns.append(f"{_saturate(f'COALESCE(ok.k_{d["name"]}, 0)', d['saturation'])} AS x_{d['name']}")
    kinds = ", ".join(f"'{k}'" for k in sorted({d["kind"] for d in defs}))
    out.joins.append(
        f"""LEFT JOIN (
        SELECT s.enterprise_id AS eid, {", ".join(columns)}
        FROM {_t(Signal)} s
        WHERE s.enterprise_id IS NOT NULL AND {scope.sql("s.enterprise_id")} AND s.kind IN ({kinds})
          AND s.occurred_at >= %s AND s.occurred_at < %s
        GROUP BY s.enterprise_id) ok ON ok.eid = e.id"""
    )
    out.params += [*params, min(params), as_of]


def _nearby(defs: list[dict], *, as_of: datetime, scope: Scope, prepared: Prepared, out: OffsiteSql) -> None:
    for index, d in enumerate(defs):
        name = d["name"]
        if prepared.reference_latitude is None:
            out.columns.append(f"{_lit(0)} AS x_{name}")
            continue
        g = grid(d, prepared.reference_latitude)
        alias = f"nb{index}"
        if name in prepared.tables:
            source, params = prepared.tables[name], []
        else:
            select, params = nearby_cells(definition=d, g=g, as_of=as_of, scope=scope)
            source = f"({select})"
        key = cell_key("e.latitude", "e.longitude", g)
        out.joins.append(f"LEFT JOIN {source} {alias} ON {alias}.k = {key}")
        out.params += params
        out.columns.append(f"{_saturate(f'COALESCE({alias}.pts, 0)', d['saturation'])} AS x_{name}")


def _penalties(params: dict, *, as_of: datetime, scope: Scope, out: OffsiteSql) -> None:
    kinds = offsite.penalty_kinds(params)
    if not kinds:
        return
    listed = ", ".join(f"'{k}'" for k in sorted(set(kinds)))
    out.joins.append(
        f"""LEFT JOIN (
        SELECT s.enterprise_id AS eid, COUNT(*) AS n
        FROM {_t(Signal)} s
        WHERE s.enterprise_id IS NOT NULL AND {scope.sql("s.enterprise_id")} AND s.kind IN ({listed})
          AND s.occurred_at >= %s AND s.occurred_at < %s
        GROUP BY s.enterprise_id) sp ON sp.eid = e.id"""
    )
    out.params += [as_of - timedelta(days=float(params["credit"]["repair_days"])), as_of]
    out.penalties = "COALESCE(sp.n, 0)"


def offsite_features(
    *, policy: ScoringPolicy, as_of: datetime, begun, scope: Scope, prepared: Prepared | None
) -> OffsiteSql:
    """The off-site columns x_<name> (in the policy's order) and the signal penalties, as joins to
    the enterprise row ``e`` of features_query. Signals count when they occurred before ``as_of``,
    register values when their day has begun (``begun``: the first day not yet known)."""
    defs = offsite.definitions(policy.params)
    out = OffsiteSql()
    if prepared is None:
        prepared = prepared_for(policy)
    attributes = [d for d in defs if d["type"] in ("attribute", "attribute_age")]
    _attributes(attributes, as_of=as_of, begun=begun, scope=scope, out=out)
    _keyed([d for d in defs if d["type"] == "keyed"], as_of=as_of, scope=scope, out=out)
    nearby = [d for d in defs if d["type"] == "nearby"]
    _nearby(nearby, as_of=as_of, scope=scope, prepared=prepared, out=out)
    _penalties(policy.params, as_of=as_of, scope=scope, out=out)
    # The select list in the policy's order, whatever the order of the joins.
    order = {d["name"]: i for i, d in enumerate(defs)}
    out.columns.sort(key=lambda column: order[column.rsplit(" AS x_", 1)[1]])
    return out
