# The inspectors' tablets working offline (docs/OFFLINE.md): the tablet's ids and clock beside the
# server's on records, answers and signatures; the answer history (AnswerEvent); the photos a tablet
# uploaded under its own ids (TabletPhoto).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checklists', '0001_initial'),
        ('core', '0001_initial'),
        ('supervision', '0010_notifications'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='inspection',
            name='client_id',
            field=models.UUIDField(blank=True, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='inspection',
            name='device_started_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='started at (tablet)'),
        ),
        migrations.AddField(
            model_name='inspection',
            name='device_submitted_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='submitted at (tablet)'),
        ),
        migrations.AddField(
            model_name='inspectionanswer',
            name='answered_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='answered at'),
        ),
        migrations.AddField(
            model_name='signature',
            name='device_signed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='signed at (tablet)'),
        ),
        migrations.CreateModel(
            name='TabletPhoto',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('client_id', models.UUIDField(unique=True)),
                ('taken_at', models.DateTimeField(verbose_name='taken at (tablet)')),
                ('received_at', models.DateTimeField(auto_now_add=True, verbose_name='received at')),
                ('item', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='checklists.checklistitem')),
                ('photo', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.photo')),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tablet_photos', to='supervision.inspectiontask')),
                ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'tablet photo',
                'verbose_name_plural': 'tablet photos',
            },
        ),
        migrations.CreateModel(
            name='AnswerEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('client_id', models.UUIDField(blank=True, null=True, unique=True)),
                ('source', models.CharField(choices=[('online', 'online'), ('tablet', 'tablet, synchronised')], default='online', max_length=8)),
                ('result', models.CharField(choices=[('compliant', 'compliant'), ('non_compliant', 'not compliant'), ('not_applicable', 'not applicable')], max_length=16, verbose_name='result')),
                ('note', models.TextField(blank=True, max_length=2000, verbose_name='note')),
                ('photos', models.JSONField(blank=True, default=list)),
                ('device_at', models.DateTimeField(verbose_name='answered at (tablet)')),
                ('received_at', models.DateTimeField(auto_now_add=True, verbose_name='received at')),
                ('applied', models.BooleanField(default=True)),
                ('actor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('inspection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='answer_events', to='supervision.inspection')),
                ('item', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='checklists.checklistitem')),
            ],
            options={
                'verbose_name': 'answer event',
                'verbose_name_plural': 'answer events',
                'indexes': [models.Index(fields=['inspection', 'item', 'device_at'], name='answer_event_history')],
            },
        ),
    ]
