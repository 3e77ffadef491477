# Notifications: the inbox, the outbox of email and SMS, and each user's choices (supervision/notifications).

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('supervision', '0009_document_extracts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_key', models.CharField(max_length=120)),
                ('kind', models.CharField(choices=[('order_issued', 'rectification order issued'), ('order_reminder', 'rectification deadline reminder'), ('rectification_rejected', 'rectification rejected'), ('order_closed', 'rectification accepted, order closed'), ('order_overdue', 'rectification order overdue'), ('order_escalated', 'overdue order escalated to a case'), ('manual_published', 'new manual to acknowledge'), ('result_publishing', 'inspection result about to be published'), ('task_assigned', 'task assigned'), ('task_moved', 'task changed'), ('task_cancelled', 'task cancelled'), ('reinspection_planned', 're-inspection planned'), ('rectification_submitted', 'rectification waiting for verification'), ('overdue_digest', 'daily digest of overdue orders'), ('complaint_flood', 'suspected complaint flood'), ('source_silent', 'data source stopped sending'), ('complaint_received', 'report received'), ('complaint_outcome', 'what became of a report')], max_length=32, verbose_name='kind')),
                ('address', models.CharField(blank=True, max_length=254, verbose_name='address')),
                ('language', models.CharField(max_length=10, verbose_name='language')),
                ('record_type', models.CharField(blank=True, max_length=20)),
                ('record_id', models.BigIntegerField(blank=True, null=True)),
                ('params', models.JSONField(blank=True, default=dict)),
                ('link', models.CharField(blank=True, max_length=300, verbose_name='link')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('read_at', models.DateTimeField(blank=True, null=True, verbose_name='read at')),
                ('enterprise', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.enterprise')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'notification',
                'verbose_name_plural': 'notifications',
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(choices=[('email', 'email'), ('sms', 'SMS')], max_length=8, verbose_name='channel')),
                ('address', models.CharField(max_length=254, verbose_name='address')),
                ('status', models.CharField(choices=[('pending', 'pending'), ('sending', 'sending'), ('sent', 'sent'), ('failed', 'failed'), ('skipped', 'skipped')], default='pending', max_length=8, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='next attempt at')),
                ('lease_until', models.DateTimeField(blank=True, null=True)),
                ('claim', models.CharField(blank=True, max_length=32)),
                ('idempotency_key', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                ('provider_id', models.CharField(blank=True, max_length=100, verbose_name="provider's id")),
                ('provider_answer', models.TextField(blank=True, verbose_name="provider's answer")),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('notification', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='supervision.notification')),
            ],
            options={
                'verbose_name': 'delivery',
                'verbose_name_plural': 'deliveries',
            },
        ),
        migrations.CreateModel(
            name='NotificationSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('language', models.CharField(blank=True, max_length=10, verbose_name='language')),
                ('signin_language', models.CharField(blank=True, max_length=10)),
                ('phone', models.CharField(blank=True, max_length=20, verbose_name='mobile phone for SMS')),
                ('quiet_start', models.TimeField(blank=True, null=True, verbose_name='no SMS from')),
                ('quiet_end', models.TimeField(blank=True, null=True, verbose_name='no SMS until')),
                ('choices', models.JSONField(blank=True, default=dict)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='notification_settings', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'notification settings',
                'verbose_name_plural': 'notification settings',
            },
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(fields=['user', '-created_at', '-id'], name='notification_inbox'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(condition=models.Q(('read_at__isnull', True)), fields=['user'], name='notification_unread'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(fields=['record_type', 'record_id', 'kind'], name='notification_record'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('event_key', 'user'), name='notification_once_per_user'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.UniqueConstraint(condition=models.Q(('user__isnull', True)), fields=('event_key', 'address'), name='notification_once_per_address'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.CheckConstraint(condition=models.Q(('user__isnull', False), models.Q(('address', ''), _negated=True), _connector='OR'), name='notification_has_recipient'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['next_attempt_at'], name='delivery_due'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('status', 'sending')), fields=['lease_until'], name='delivery_in_doubt'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['channel', 'address', 'sent_at'], name='delivery_recent_to_address'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('notification', 'channel'), name='delivery_once_per_channel'),
        ),
    ]
