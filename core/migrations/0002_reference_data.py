from django.db import migrations


def load_reference_data(apps, schema_editor):
    from core import reference

    reference.load(apps.get_model("core", "District"), apps.get_model("core", "Department"), apps.get_model("core", "Scene"))
    apps.get_model("core", "AuditChainHead").objects.get_or_create(pk=1, defaults={"seq": 0, "hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(load_reference_data, migrations.RunPython.noop)]
