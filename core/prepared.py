"""One row and the rows its foreign keys lead to, read by a statement written once per database.

Some lookups run on every request of the busiest paths: a bearer token with its user (every tablet
request), an identity code with its enterprise, the enterprise's district and scene (every scan).
Through the ORM each of them compiles a select_related query on each call, and on those paths the
compiling cost more CPU than the database did (issue 17: bench/autosave.py, bench/side_by_side.py).
``PreparedGet`` writes that SELECT once per database alias and turns a row into the same model
instances select_related would give: every concrete field loaded, the backend's converters applied
(SQLite returns datetimes as text), the related objects cached on their foreign keys.

    codes = PreparedGet(IdentityCode, by="token", related=("enterprise__scene", "enterprise__district"))
    code = codes.get("AbC...")  # or None

The column ``by`` names must be unique: the first row found is the answer.

On PostgreSQL the statements are also prepared on the server, once per connection (prepared_cursor): the
server then neither parses nor plans them again, which was half of its time on a scan.
"""

import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, router
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.models import Model
from psycopg import Cursor, adapters
from psycopg.pq import Format


class _PreparingCursor(Cursor):
    """Binds its parameters on the server and prepares every statement it runs (prepared_cursor)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def prepared_cursor(connection):
    """A cursor of ``connection`` for statements that run on every request of a busy path (this
    module's, the autosave's single statement), through Django's cursor wrapper (the
    query log, execute_wrapper and the test suite's statement counts see them as any other).

    On PostgreSQL, with DB_PREPARED_STATEMENTS, a psycopg cursor that binds on the server and
    prepares each statement: psycopg keeps it prepared on the connection and from then on sends
    only its parameters. Django's own cursors bind on the client and prepare nothing, so that
    poolers in transaction mode work; DEPLOY.md says when to turn this off. The connection's
    ``prepare_threshold`` (config/settings.py) lets psycopg prepare: without one it prepares
    nothing, whatever is asked."""
    if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        return connection.cursor()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        # What Django's create_cursor does: a connection whose time zone disagrees (a test that
        # changed the settings) gets the cursor's own loader.
        cursor = connection._prepare_cursor(_PreparingCursor(connection.connection))
        _time_zone(connection, cursor.cursor)
    return cursor


def _time_zone(connection, cursor) -> None:
    loader = connection.connection.adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)


@dataclass
class _Node:
    """A model in the join: its table's alias, its fields' place in the row, the nodes its foreign
    keys lead to."""

    model: type[Model]
    alias: str
    via: object = None  # the ForeignKey from the parent that leads here
    children: list["_Node"] = field(default_factory=list)
    start: int = 0
    stop: int = 0


class PreparedGet:
    def __init__(self, model: type[Model], *, by: str, related: tuple[str, ...] = ()):
        self.model = model
        self.by = model._meta.get_field(by)
        self.related = related
        self._statements: dict[str, _Statement] = {}
        self._lock = threading.Lock()

    def get(self, value, *, using: str | None = None) -> Model | None:
        alias = using or router.db_for_read(self.model)
        statement = self._statements.get(alias)
        if statement is None:
            with self._lock:
                statement = self._statements.setdefault(alias, _Statement(self, alias))
        connection = connections[alias]
        with prepared_cursor(connection) as cursor:
            cursor.execute(statement.sql, [self.by.get_db_prep_value(value, connection)])
            row = cursor.fetchone()
        return None if row is None else statement.load(row, connection)


class PreparedValues:
    """One column's values, in order, of the rows where the column ``by`` names holds a value: a
    statement written once per database, as PreparedGet's.

        PreparedValues(EnterpriseMembership, "enterprise_id", by="user").get(user.pk)  # [3, 17]
    """

    def __init__(self, model: type[Model], column: str, *, by: str):
        self.model = model
        self.column = model._meta.get_field(column)
        self.by = model._meta.get_field(by)
        self._sql: dict[str, str] = {}

    def get(self, value, *, using: str | None = None) -> list:
        alias = using or router.db_for_read(self.model)
        connection = connections[alias]
        sql = self._sql.get(alias)
        if sql is None:
            quote = connection.ops.quote_name
            column = quote(self.column.column)
            sql = self._sql[alias] = (
                f"SELECT {column} FROM {quote(self.model._meta.db_table)}"
                f" WHERE {quote(self.by.column)} = %s ORDER BY {column}"
            )
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, [self.by.get_db_prep_value(value, connection)])
            return [row[0] for row in cursor.fetchall()]


class _Statement:
    """The SELECT and the row's conversion for one database alias. The statement and the converters
    depend on the backend and the settings only: the same for every thread's connection."""

    def __init__(self, prepared: PreparedGet, alias: str):
        connection = connections[alias]
        quote = connection.ops.quote_name
        self.alias = alias
        self.root = _Node(prepared.model, "t0")
        aliases = iter(f"t{n}" for n in range(1, 100))
        for path in prepared.related:
            node = self.root
            for name in path.split("__"):
                fk = node.model._meta.get_field(name)
                child = next((c for c in node.children if c.via is fk), None)
                if child is None:
                    child = _Node(fk.related_model, next(aliases), via=fk)
                    node.children.append(child)
                node = child

        columns, joins, self.fields = [], [], []

        def place(node: _Node, parent: _Node | None) -> None:
            node.start = len(self.fields)
            for f in node.model._meta.concrete_fields:
                columns.append(f"{node.alias}.{quote(f.column)}")
                self.fields.append(f)
            node.stop = len(self.fields)
            if parent is not None:
                # A nullable foreign key may lead nowhere: its related object is then None, as with
                # select_related's LEFT OUTER JOIN.
                kind = "LEFT OUTER JOIN" if node.via.null else "INNER JOIN"
                target = node.via.target_field.column
                joins.append(
                    f" {kind} {quote(node.model._meta.db_table)} {node.alias}"
                    f" ON {node.alias}.{quote(target)} = {parent.alias}.{quote(node.via.column)}"
                )
            for child in node.children:
                place(child, node)

        place(self.root, None)
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(prepared.model._meta.db_table)} t0"
            f"{''.join(joins)} WHERE t0.{quote(prepared.by.column)} = %s"
        )
        self.converters = [
            (n, converters) for n, f in enumerate(self.fields) if (converters := _converters(f, connection))
        ]

    def load(self, row, connection) -> Model:
        values = list(row)
        for n, converters in self.converters:
            for converter, column in converters:
                values[n] = converter(values[n], column, connection)
        return self._instance(self.root, values)

    def _instance(self, node: _Node, values: list) -> Model:
        instance = node.model.from_db(self.alias, None, values[node.start : node.stop])
        for child in node.children:
            pk = values[child.start + child.model._meta.concrete_fields.index(child.model._meta.pk)]
            related = None if pk is None else self._instance(child, values)
            child.via.set_cached_value(instance, related)
        return instance


def _converters(f, connection) -> list:
    column = f.get_col(f.model._meta.db_table)
    return [
        (converter, column)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    ]
