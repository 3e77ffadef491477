"""PostgreSQL refuses UPDATE and DELETE on the audit events, whoever sends them.

A row-level trigger, so that a stray ``UPDATE``/``DELETE`` from a shell, a script or a bug fails
with "audit events are append-only" instead of breaking the chain. It does not stop TRUNCATE (a
statement the app never sends; pytest-django's flush between transactional tests uses it) nor
the table's owner, who can drop the trigger: against that, run the app as a role that owns
nothing and has only INSERT and SELECT on the table (docs/DEPLOY.md). SQLite has no roles; the
model's save() and delete() refuse there, and verify_audit catches what gets past.
"""

from django.db import migrations

TABLE = "core_auditevent"
FUNCTION = "core_auditevent_append_only"

CREATE = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER {FUNCTION} BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""
DROP = f"""
DROP TRIGGER IF EXISTS {FUNCTION} ON {TABLE};
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL on PostgreSQL, nothing elsewhere (SQLite has no plpgsql)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_audit_keyed_chain"),
    ]

    operations = [PostgresOnlySQL(CREATE, DROP, elidable=False)]
