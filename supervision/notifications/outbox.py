"""Writing the outbox: an event told to its recipients, in the transaction of the event.

``notify`` writes, for every recipient, the notification (their inbox entry) and one delivery row
per channel they receive it on, and asks the task workers to send those rows once the transaction
commits. Called by the receivers of the features' signals, inside the features' own transactions,
so an order issued and its notifications commit together or not at all; and by the scheduled job.

Idempotent per event, recipient and channel: the rows' unique constraints turn a second write of
the same event (a retried request, two scheduled runs at once) into nothing (INSERT ... ON
CONFLICT DO NOTHING), and only the rows written now are handed to the workers.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from supervision.models import Delivery, Notification, NotificationSettings
from supervision.notifications.catalogue import EMAIL, SMS
from supervision.notifications.delivery import deliver
from supervision.notifications.permissions import may_receive
from supervision.notifications.preferences import (
    channels_enabled,
    email_address,
    language_of,
    phone_number,
    user_address,
    wants,
)

logger = logging.getLogger(__name__)


@dataclass
class Event:
    """One thing to tell: its kind, its key (what makes it the same event when written twice), who
    hears of it, and the values its texts are made of (supervision.notifications.catalogue)."""

    kind: str
    key: str
    params: dict
    users: Iterable = ()
    # Outside recipients (a complainant's contact): a phone number or an email address.
    addresses: Iterable[str] = ()
    # The language of outside recipients (users have their own).
    language: str = ""
    enterprise_id: int | None = None
    record_type: str = ""
    record_id: int | None = None
    link: str = ""


def notify(*events: Event, check_scope: bool = True) -> list[int]:
    """Write the events' notifications and deliveries; the deliveries written now are sent by the
    task workers after commit. Returns their ids.

    ``check_scope``: each user must be able to open the event's record now (supervision.
    notifications.permissions.may_receive); a caller that chose the users by that very rule in bulk
    (the scheduled job's manuals) may skip it. Delivery checks it again before sending anyway.
    """
    with transaction.atomic():
        delivery_ids = _write(events, check_scope)
    if delivery_ids:
        transaction.on_commit(lambda: enqueue(delivery_ids))
    return delivery_ids


def enqueue(delivery_ids: list[int]) -> None:
    """Hand the rows to the workers. A queue that is down loses nothing: the rows stay pending and
    the scheduled sweep (send_reminders, every 15 minutes) sends them."""
    for pk in delivery_ids:
        try:
            deliver.enqueue(pk)
        except Exception:
            logger.exception("could not enqueue notification delivery %s; the sweep will send it", pk)


def _write(events, check_scope: bool) -> list[int]:
    enabled = channels_enabled()
    users = {}
    for event in events:
        event.users = [u for u in {u.pk: u for u in event.users if u is not None}.values()]
        if check_scope:
            event.users = [
                u
                for u in event.users
                if may_receive(u, record_type=event.record_type, record_id=event.record_id)
            ]
        else:
            event.users = [u for u in event.users if u.is_active]
        users.update({u.pk: u for u in event.users})
    prefs = {p.user_id: p for p in NotificationSettings.objects.filter(user_id__in=list(users))}

    # Who already has each event (written before): they get nothing new.
    keys = {event.key for event in events}
    told_users = set(
        Notification.objects.filter(event_key__in=keys, user_id__in=list(users)).values_list(
            "event_key", "user_id"
        )
    )
    told_addresses = set(
        Notification.objects.filter(event_key__in=keys, user__isnull=True).values_list("event_key", "address")
    )
    rows, wanted = [], {}
    for event in events:
        common = {
            "event_key": event.key,
            "kind": event.kind,
            "enterprise_id": event.enterprise_id,
            "record_type": event.record_type,
            "record_id": event.record_id,
            "params": event.params,
            "link": event.link,
        }
        for user in event.users:
            if (event.key, user.pk) in told_users:
                continue
            p = prefs.get(user.pk)
            rows.append(Notification(user=user, language=language_of(p), **common))
            wanted[(event.key, user.pk, "")] = [
                (channel, address)
                for channel in sorted(enabled)
                if wants(p, event.kind, channel) and (address := user_address(user, p, channel))
            ]
        for raw in dict.fromkeys(event.addresses):
            channel, address = (SMS, phone_number(raw)) if phone_number(raw) else (EMAIL, email_address(raw))
            if not address or channel not in enabled or (event.key, address) in told_addresses:
                continue
            rows.append(
                Notification(address=address, language=event.language or settings.LANGUAGE_CODE, **common)
            )
            wanted[(event.key, None, address)] = [(channel, address)]
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    # Read back what was written (ignore_conflicts gives no ids), then its deliveries.
    written = Notification.objects.filter(event_key__in=keys).filter(
        Q(user_id__in=[r.user_id for r in rows if r.user_id])
        | Q(user__isnull=True, address__in=[r.address for r in rows if not r.user_id])
    )
    deliveries = []
    for notification in written.only("pk", "event_key", "user_id", "address"):
        target = (
            notification.event_key,
            notification.user_id,
            "" if notification.user_id else notification.address,
        )
        for channel, address in wanted.pop(target, []):
            deliveries.append(Delivery(notification_id=notification.pk, channel=channel, address=address))
    if not deliveries:
        return []
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return list(
        Delivery.objects.filter(
            notification_id__in=[d.notification_id for d in deliveries],
            status=Delivery.Status.PENDING,
            attempts=0,
        ).values_list("pk", flat=True)
    )
