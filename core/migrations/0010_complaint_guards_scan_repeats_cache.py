"""Guards of the public's reports and scans (supervision.complaints.intake, core.landing), and the
shared cache's table.

- ComplaintClient: the row locked while one client's next report is counted, so that
  COMPLAINTS_PER_CLIENT_PER_HOUR holds under concurrent reports.
- ComplaintFlood and Complaint.flood: a possible flood of reports about one enterprise, flagged for
  the regulators instead of refusing further reports.
- ScanEvent.repeats: failed scans from one client beyond SCAN_FAILURES_RECORDED_PER_MINUTE, counted
  on the last one recorded instead of a row each.
- django_cache: the table of the database cache (CACHE_URL=database, the default), where throttles
  and lock-outs are counted across workers (core.ratelimit). Created here whatever CACHES says, so
  switching to it later needs no extra step; ``createcachetable`` would do the same.
"""

import django.db.models.deletion
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations, models

CACHE_TABLE = "django_cache"


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    if CACHE_TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_audit_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="ComplaintClient",
            fields=[
                ("client", models.CharField(max_length=16, primary_key=True, serialize=False)),
            ],
            options={
                "verbose_name": "complaint client",
                "verbose_name_plural": "complaint clients",
            },
        ),
        migrations.AddField(
            model_name="scanevent",
            name="repeats",
            field=models.PositiveIntegerField(default=0, verbose_name="further failed scans"),
        ),
        migrations.CreateModel(
            name="ComplaintFlood",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="day")),
                ("flagged_at", models.DateTimeField(auto_now_add=True, verbose_name="flagged at")),
                ("received", models.PositiveIntegerField(default=0, verbose_name="reports")),
                ("clients", models.PositiveIntegerField(default=0, verbose_name="clients")),
                (
                    "enterprise",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="complaint_floods",
                        to="core.enterprise",
                    ),
                ),
            ],
            options={
                "verbose_name": "possible complaint flood",
                "verbose_name_plural": "possible complaint floods",
            },
        ),
        migrations.AddField(
            model_name="complaint",
            name="flood",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="complaints",
                to="core.complaintflood",
            ),
        ),
        migrations.AddConstraint(
            model_name="complaintflood",
            constraint=models.UniqueConstraint(fields=("enterprise", "day"), name="complaint_flood_once_a_day"),
        ),
        migrations.RunPython(create_cache_table, drop_cache_table, elidable=False),
    ]
