"""The full recompute on PostgreSQL: every score written into a new table, which then replaces the
score table in one short transaction.

Rewriting 2.5 million score rows in place (INSERT ... ON CONFLICT DO UPDATE) leaves a dead row
for each, and writes every index entry of every row again: each of the score table's six indexes
is maintained row by row, in random order. Writing the scores into a new table without indexes
and building the indexes once at the end (sorted, in bulk, on several connections) is the way
PostgreSQL loads a table fastest (issue 17: bench/recompute.py).

1. A new table like the score table: its columns, defaults, NOT NULL and CHECK constraints,
   storage options, owner and grants, no index (``SHARED_PREFIX``: a run that dies leaves it
   to the next to drop).
2. The chunks INSERT their scores into it, side by side on their own connections.
3. The score table's indexes and its primary key and unique constraints are built on it, as
   ``pg_get_indexdef`` / ``pg_get_constraintdef`` describe them: an index a migration adds is
   rebuilt without a change here. Then ANALYZE, so the ranking's plans are ready at once.
4. The swap, one transaction, the score table locked (at most ``SWAP_LOCK_TIMEOUT``; readers wait
   for it, and until then read the old scores):
   - the scores written since the run began (an enterprise rescored after an inspection: its
     ``as_of`` is later than the run's) are carried over, newer than the run's;
   - the old table is dropped, the new one takes its name, its indexes and constraints the old
     ones' names, and the foreign keys are added, checked for the rows to come;
   then, the lock released, the scores of enterprises deleted during the run are deleted and the
   foreign keys checked for the rows there (VALIDATE, which blocks no one).

A statement that waited for the lock (a rescore, a reader) then finds the new table by its name.
Nothing here runs inside a transaction of the caller's: scoring.recompute_all takes this way on
PostgreSQL only outside one.
"""

import re
import secrets
from dataclasses import dataclass, field

from django.db import connection, transaction

from core.models import Enterprise
from supervision.models import EnterpriseScore
from supervision.risk import parallel
from supervision.risk.offsite_sql import SHARED_PREFIX

SWAP_LOCK_TIMEOUT = "30s"
# Sorting for an index build in memory rather than in runs on disk (2.5 million rows of a few
# numbers take some 100 MB); per connection, for the build statements only.
BUILD_MEMORY = "256MB"

_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?(\S+) (USING .*)$")


@dataclass
class Plan:
    """What the new table needs to become the score table: statements to build its indexes and
    constraints under temporary names, and the renames and foreign keys of the swap."""

    table: str
    builds: list[str] = field(default_factory=list)
    attach: list[str] = field(default_factory=list)  # after the builds: an index made a constraint
    renames: list[str] = field(default_factory=list)
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)  # (name, definition)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def create_table() -> Plan:
    """Create the new, empty table (committed, so the chunks' connections see it) and plan the
    rest from the score table's catalogue entries."""
    score = EnterpriseScore._meta.db_table
    table = f"{SHARED_PREFIX}{secrets.token_hex(4)}_scores"
    plan = Plan(table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (LIKE {_q(score)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            "SELECT pg_get_userbyid(relowner), reloptions FROM pg_class WHERE oid = %s::regclass", [score]
        )
        owner, options = cursor.fetchone()
        if options:
            cursor.execute(f"ALTER TABLE {table} SET ({', '.join(options)})")
        # The same owner (who runs the migrations) and the same grants (the app's role may own
        # nothing: docs/DEPLOY.md); both stay with the table when it is renamed.
        cursor.execute(f"ALTER TABLE {table} OWNER TO {_q(owner)}")
        cursor.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,"
            " a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = %s::regclass",
            [score],
        )
        for grantee, privilege, grantable in cursor.fetchall():
            option = " WITH GRANT OPTION" if grantable else ""
            cursor.execute(f"GRANT {privilege} ON {table} TO {grantee}{option}")
        # Constraints LIKE does not copy: primary key, unique, exclusion (each with its index)
        # and foreign keys. CHECK constraints came with their names.
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid), pg_get_indexdef(conindid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'x', 'f') ORDER BY contype, conname",
            [score],
        )
        for n, (name, kind, definition, index) in enumerate(cursor.fetchall()):
            if kind == "f":
                plan.foreign_keys.append((name, definition))
                continue
            temporary = f"{table}_c{n}"
            if kind == "p":
                # Its index built like the others, side by side (ADD CONSTRAINT would lock the
                # table for the whole build), then made the primary key.
                plan.builds.append(_index_build(index, temporary, table))
                plan.attach.append(
                    f"ALTER TABLE {table} ADD CONSTRAINT {temporary} PRIMARY KEY USING INDEX {temporary}"
                )
            else:
                plan.builds.append(f"ALTER TABLE {table} ADD CONSTRAINT {temporary} {definition}")
            plan.renames.append(f"ALTER TABLE {_q(score)} RENAME CONSTRAINT {temporary} TO {_q(name)}")
        # The other indexes (not a constraint's).
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass AND NOT EXISTS ("
            "   SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)"
            " ORDER BY c.relname",
            [score],
        )
        for n, (name, definition) in enumerate(cursor.fetchall()):
            temporary = f"{table}_i{n}"
            plan.builds.append(_index_build(definition, temporary, table))
            plan.renames.append(f"ALTER INDEX {temporary} RENAME TO {_q(name)}")
    return plan


def _index_build(definition: str, name: str, table: str) -> str:
    """An index's CREATE INDEX (as pg_get_indexdef writes it) under another name, on another table."""
    match = _INDEX_DEF.match(definition)
    if match is None:  # pragma: no cover - PostgreSQL writes every index this way
        raise RuntimeError(f"unexpected index definition: {definition}")
    return f"CREATE {match[1] or ''}INDEX {name} ON {table} {match[4]}"


def build_indexes(plan: Plan, *, workers: int) -> None:
    """The indexes and constraints, each built once over the loaded rows, ``workers`` at once."""
    parallel.run_all(
        [(sql, []) for sql in plan.builds],
        workers=workers,
        setup=[f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"],
    )
    with connection.cursor() as cursor:
        for sql in plan.attach:
            cursor.execute(sql)
        cursor.execute(f"ANALYZE {plan.table}")


def swap(plan: Plan, *, as_of) -> None:
    """Replace the score table by the new one (see the module's docstring, step 4)."""
    score = _q(EnterpriseScore._meta.db_table)
    columns = [f.column for f in EnterpriseScore._meta.concrete_fields]
    listed = ", ".join(_q(c) for c in columns)
    updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in columns if c != "enterprise_id")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        cursor.execute(f"LOCK TABLE {score} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f"INSERT INTO {plan.table} ({listed}) SELECT {listed} FROM {score} WHERE as_of > %s"
            f" ON CONFLICT (enterprise_id) DO UPDATE SET {updates}",
            [as_of],
        )
        cursor.execute(f"DROP TABLE {score}")
        cursor.execute(f"ALTER TABLE {plan.table} RENAME TO {score}")
        for sql in plan.renames:
            cursor.execute(sql)
        for name, definition in plan.foreign_keys:
            cursor.execute(f"ALTER TABLE {score} ADD CONSTRAINT {_q(name)} {definition} NOT VALID")
    # After the swap, so that the score table is locked for the carry-over only: the scores of
    # enterprises deleted during the run go (every reader joins the enterprise, so none showed
    # meanwhile), then VALIDATE reads every row under a lock that lets readers and writers on.
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {score} s WHERE NOT EXISTS"
            f" (SELECT 1 FROM {_q(Enterprise._meta.db_table)} e WHERE e.id = s.enterprise_id)"
        )
        for name, _definition in plan.foreign_keys:
            cursor.execute(f"ALTER TABLE {score} VALIDATE CONSTRAINT {_q(name)}")


def drop(plan: Plan) -> None:
    """After a failure before the swap: the new table goes, the score table was not touched."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {plan.table}")
