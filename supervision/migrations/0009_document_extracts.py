# Documents rendered for officials who may see only some departments' items of a joint inspection
# (supervision.inspections.documents.document_for_viewer): one current document per kind AND extract.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0008_offsite_scores"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="document",
            name="document_one_current_per_kind",
        ),
        migrations.AddField(
            model_name="document",
            name="extract_departments",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.UniqueConstraint(
                condition=models.Q(("superseded_at__isnull", True)),
                fields=("inspection", "kind", "extract_departments"),
                name="document_one_current_per_kind",
            ),
        ),
    ]
