"""The reader's writes: marking notifications read, and their choices (language, phone, quiet hours,
which events on which channel). The outbox is written by outbox.notify, sent by delivery."""

from datetime import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError, NotFound
from supervision.models import Delivery, Notification, NotificationSettings
from supervision.notifications.catalogue import MANDATORY
from supervision.notifications.delivery import delivery_resend
from supervision.notifications.outbox import enqueue
from supervision.notifications.preferences import phone_number
from supervision.notifications.selectors import inbox


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Idempotent: reading again keeps the first moment. Another user's notification is not found."""
    notification = inbox(user=user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(_("There is no such notification."), code="not_found")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user) -> int:
    ids = inbox(user=user, unread_only=True).values("pk")
    return Notification.objects.filter(pk__in=ids).update(read_at=timezone.now())


@transaction.atomic
def preferences_update(
    *,
    user,
    language: str,
    phone: str,
    quiet_start: time | None,
    quiet_end: time | None,
    choices: dict[str, bool],
) -> NotificationSettings:
    """Save a user's choices. ``choices``: "<kind>:<channel>" -> on/off; a mandatory kind cannot be
    switched off (refused, nothing saved)."""
    errors = {}
    if language and language not in dict(settings.LANGUAGES):
        errors["language"] = _("Choose one of the languages offered.")
    phone = (phone or "").strip()
    if phone and not phone_number(phone):
        errors["phone"] = _("Enter a mobile phone number, digits only (a leading + is allowed).")
    if (quiet_start is None) != (quiet_end is None):
        errors["quiet_start"] = _("Give both ends of the quiet hours, or neither.")
    unknown = [key for key in choices if key.partition(":")[2] not in Delivery.Channel.values]
    if unknown:
        errors["choices"] = _("Unknown channel.")
    forced = sorted(key for key, on in choices.items() if not on and key.partition(":")[0] in MANDATORY)
    if forced:
        raise DomainError(
            _("These notifications are mandatory and cannot be switched off."),
            code="mandatory_notification",
            status=422,
            details={"choices": forced},
        )
    if errors:
        raise DomainError(
            _("Some choices are not valid."), code="invalid_preferences", status=422, details=errors
        )
    prefs, _created = NotificationSettings.objects.select_for_update().get_or_create(user=user)
    prefs.language, prefs.phone = language, phone
    prefs.quiet_start, prefs.quiet_end = quiet_start, quiet_end
    prefs.choices = {
        key: bool(on) for key, on in sorted(choices.items()) if key.partition(":")[0] not in MANDATORY
    }
    prefs.save()
    # Which choices, not the phone number itself: the audit chain is read more widely than settings.
    audit_record(
        actor=user,
        action="notifications.preferences",
        target=prefs,
        data={
            "language": language,
            "sms_phone": bool(phone),
            "quiet": [str(quiet_start), str(quiet_end)] if quiet_start else None,
            "off": sorted(key for key, on in prefs.choices.items() if not on),
            "on": sorted(key for key, on in prefs.choices.items() if on),
        },
    )
    return prefs


def delivery_resend_by_admin(*, delivery: Delivery, actor) -> bool:
    """An admin's "send again" for a failed row (after checking it did not arrive), audited."""
    with transaction.atomic():
        resent = delivery_resend(delivery=delivery)
        if resent:
            audit_record(
                actor=actor,
                action="notifications.resend",
                target=delivery,
                data={"channel": delivery.channel},
            )
            transaction.on_commit(lambda: enqueue([delivery.pk]))
    return resent
