"""Notifications: who was told what about the loop, and the outbox that carries it by email and SMS.

One ``Notification`` is one event told to one recipient: the entry of a user's inbox, or (for a
complainant who left a contact and has no account) the message to that address. Each channel that
carries it beyond the inbox is one ``Delivery`` row of the outbox. Both are written in the
transaction of the event that causes them (supervision.notifications.outbox), and the unique
constraints make the event, the recipient and the channel one row: writing the same event twice
writes nothing the second time. Sending is supervision.notifications.delivery's.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise


class NotificationKind(models.TextChoices):
    # Business members
    ORDER_ISSUED = "order_issued", _("rectification order issued")
    ORDER_REMINDER = "order_reminder", _("rectification deadline reminder")
    RECTIFICATION_REJECTED = "rectification_rejected", _("rectification rejected")
    ORDER_CLOSED = "order_closed", _("rectification accepted, order closed")
    ORDER_OVERDUE = "order_overdue", _("rectification order overdue")
    ORDER_ESCALATED = "order_escalated", _("overdue order escalated to a case")
    MANUAL_PUBLISHED = "manual_published", _("new manual to acknowledge")
    RESULT_PUBLISHING = "result_publishing", _("inspection result about to be published")
    # Inspectors
    TASK_ASSIGNED = "task_assigned", _("task assigned")
    TASK_MOVED = "task_moved", _("task changed")
    TASK_CANCELLED = "task_cancelled", _("task cancelled")
    REINSPECTION_PLANNED = "reinspection_planned", _("re-inspection planned")
    RECTIFICATION_SUBMITTED = "rectification_submitted", _("rectification waiting for verification")
    # Regulators
    OVERDUE_DIGEST = "overdue_digest", _("daily digest of overdue orders")
    COMPLAINT_FLOOD = "complaint_flood", _("suspected complaint flood")
    SOURCE_SILENT = "source_silent", _("data source stopped sending")
    # Complainants
    COMPLAINT_RECEIVED = "complaint_received", _("report received")
    COMPLAINT_OUTCOME = "complaint_outcome", _("what became of a report")


class Notification(models.Model):
    """One event told to one recipient: a user (their inbox, and the channels they chose) or, with
    no user, an outside address (a complainant's phone number or email, by SMS or email only)."""

    event_key = models.CharField(max_length=120)
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    address = models.CharField(_("address"), max_length=254, blank=True)
    # The recipient's language when it was written: email and SMS are put into words in it. The
    # inbox speaks the reader's language of the moment instead.
    language = models.CharField(_("language"), max_length=10)
    # The enterprise it is about, when it says something only those with the enterprise in scope may
    # read: the inbox shows it only while the reader still has it in scope. None: nothing private.
    enterprise = models.ForeignKey(
        Enterprise, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The record it is about, for the permission check before sending (supervision.notifications.
    # permissions.RECORDS) and for the scheduled job's "already told?" (by kind and record).
    record_type = models.CharField(max_length=20, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    # The values the texts are made of (supervision.notifications.catalogue), and the record's page.
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            # Idempotent per event and recipient: a receiver or a scheduled run that writes the same
            # event again writes nothing (INSERT ... ON CONFLICT DO NOTHING).
            models.UniqueConstraint(
                fields=["event_key", "user"],
                condition=Q(user__isnull=False),
                name="notification_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["event_key", "address"],
                condition=Q(user__isnull=True),
                name="notification_once_per_address",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(address=""), name="notification_has_recipient"
            ),
        ]
        indexes = [
            # The inbox and GET /api/v1/notifications: a user's notifications, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_inbox"),
            # The bell's unread count on every page.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
            # The scheduled job's "was this record already told about?" (overdue, publishing, manuals).
            models.Index(fields=["record_type", "record_id", "kind"], name="notification_record"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id or self.address} ({self.event_key})"


class Delivery(models.Model):
    """The outbox: one notification on one channel beyond the inbox, and how sending it went.

    pending -> sending (claimed under a lease, committed before the provider is called)
            -> sent | pending again (a temporary failure: next_attempt_at backs off) | failed
    A row left "sending" by a worker that died is in doubt: it is asked of the provider where the
    provider can say whether it arrived, and otherwise marked failed for an admin, never sent again
    blindly (supervision.notifications.delivery). ``skipped``: not sent on purpose (the recipient
    switched the channel off, or no longer has the record in scope), with the reason.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # The claim: who holds the row while it is "sending", and until when.
    lease_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    # Sent to the provider with every attempt of this row (Aliyun's OutId, the email's Message-ID),
    # so that the provider can tell an in-doubt send apart, and never changes.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    provider_id = models.CharField(_("provider's id"), max_length=100, blank=True)
    provider_answer = models.TextField(_("provider's answer"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            # Idempotent per event, recipient (the notification) and channel.
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
        ]
        indexes = [
            # The sweep: rows due now (pending past next_attempt_at, or sending past their lease).
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due"),
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="delivery_in_doubt"),
            # The per-recipient rate limit: what went to this address on this channel in the last hour.
            models.Index(fields=["channel", "address", "sent_at"], name="delivery_recent_to_address"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.status})"


class NotificationSettings(models.Model):
    """A user's choices: language, phone for SMS, quiet hours, and which events on which channel.

    No row: the defaults (supervision.notifications.catalogue.DEFAULT_CHANNELS, the language of
    the last sign-in, settings.NOTIFY_QUIET_HOURS)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    # Blank: the language of the user's last sign-in (signin_language), else settings.LANGUAGE_CODE.
    language = models.CharField(_("language"), max_length=10, blank=True)
    signin_language = models.CharField(max_length=10, blank=True)
    phone = models.CharField(_("mobile phone for SMS"), max_length=20, blank=True)
    quiet_start = models.TimeField(_("no SMS from"), null=True, blank=True)
    quiet_end = models.TimeField(_("no SMS until"), null=True, blank=True)
    # "<kind>:<channel>" -> bool, only where the user departs from the default; mandatory kinds
    # ignore it.
    choices = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"notification settings of user #{self.user_id}"
