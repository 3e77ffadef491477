"""The audit chain becomes keyed (core/audit.py, core/audit_keys.py).

Existing events keep the plain SHA-256 they were written with: history is never rewritten, not
even by a migration (re-hashing every event is exactly what the key is there to prevent, and an
existing checkpoint or exported copy would then disagree). Instead the head records where they
end, ``legacy_seq``: verify_audit checks events up to it as plain SHA-256 and refuses any unkeyed
event after it. Run ``manage.py audit_checkpoint`` right after migrating: the first checkpoint
anchors that boundary outside the database (docs/DEPLOY.md, "Upgrading an existing installation").
"""

from django.db import migrations, models


def record_legacy_boundary(apps, schema_editor):
    head = apps.get_model("core", "AuditChainHead")
    head.objects.filter(pk=1).update(legacy_seq=models.F("seq"))


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_audit_head_plural"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=16),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="legacy_seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(record_legacy_boundary, migrations.RunPython.noop, elidable=False),
    ]
