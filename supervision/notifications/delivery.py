"""Sending the outbox: one delivery row at a time, at most once, with retries and backoff.

The guarantee, exactly:

1. **Nothing is lost.** A row is written in the transaction of its event (outbox.py) and stays
   until it ends ``sent``, ``failed`` (visible in the admin with the provider's answer) or
   ``skipped`` (with the reason). The task queue only makes it fast: the scheduled sweep
   (``dispatch_due``, run by send_reminders every 15 minutes) sends every row that is due, so a
   lost enqueue, a worker that died or a queue that was down only delays a message.
2. **Nothing is sent twice by a retry or a restart.** A worker claims a row (a conditional update
   under a row lock: status pending and due, or sending with an expired lease) and commits
   ``sending`` with a lease *before* it calls the provider; the provider's timeout is far shorter
   than the lease, so no second worker can take a row whose first worker is still alive. Every
   attempt of a row carries the same key (Aliyun's OutId, the email's Message-ID).
3. **A send in doubt is resolved, never repeated blindly.** A row still ``sending`` after its
   lease (its worker died between the call and the record; or the provider took the request and
   no answer came back) may or may not have gone out. If the provider can be asked
   (``Provider.can_lookup``: Aliyun's QuerySendDetails by OutId, the development file), it is
   asked: found -> ``sent``; not found -> sent again with the same key; no answer -> asked again
   later. If it cannot (SMTP), the row is marked ``failed`` as in doubt, for an admin to check and
   resend by hand (the admin's "send again"), rather than risk a second copy.

So: exactly once where the provider can be asked, at most once where it cannot, and in both cases
every row that is not sent is visible as failed with the reason.

Before each attempt the row is checked again (``_gate``): what it says must still be true (a
reminder of an order answered meanwhile is not sent), the recipient must still be able to open the
record (supervision.notifications.permissions) and still want the channel (a mandatory kind
always), SMS waits out the recipient's quiet hours, and a recipient who has had
NOTIFY_<CHANNEL>_PER_HOUR messages in the last hour waits for the next one.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from checklists.models import ManualAcknowledgement
from supervision.models import Delivery, NotificationKind, NotificationSettings, RectificationOrder
from supervision.notifications import catalogue
from supervision.notifications.permissions import may_receive
from supervision.notifications.preferences import wants
from supervision.notifications.providers import Lookup, SendResult, provider_for

logger = logging.getLogger(__name__)
Status = Delivery.Status


# How long a row waits when its channel's provider is configured wrongly (ImproperlyConfigured).
MISCONFIGURED_RETRY = timedelta(minutes=15)


def lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def backoff(attempts: int) -> timedelta:
    """1 min, 5 min, 25 min, 2 h, then every 6 h: a provider's outage of a few hours loses nothing."""
    return timedelta(seconds=min(60 * 5 ** max(attempts - 1, 0), 6 * 3600))


def _due(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)


# --- the checks before each attempt -----------------------------------------------------------------------


def quiet_until(prefs: NotificationSettings | None, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours (local time) if ``now`` falls in them, else None."""
    start, end = settings.NOTIFY_QUIET_HOURS
    if prefs is not None and prefs.quiet_start is not None and prefs.quiet_end is not None:
        start, end = prefs.quiet_start, prefs.quiet_end
    if start == end:
        return None
    local = timezone.localtime(now)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, end), timezone.get_current_timezone())


def _rate_limited_until(row: Delivery, now: datetime) -> datetime | None:
    limit = (
        settings.NOTIFY_SMS_PER_HOUR
        if row.channel == Delivery.Channel.SMS
        else settings.NOTIFY_EMAIL_PER_HOUR
    )
    recent = list(
        Delivery.objects.filter(
            channel=row.channel, address=row.address, status=Status.SENT, sent_at__gt=now - timedelta(hours=1)
        )
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    return recent[-1] + timedelta(hours=1, seconds=1)


def _no_longer_true(notification) -> bool:
    """A reminder or an overdue notice whose order was answered meanwhile, or a manual acknowledged,
    says what is no longer so (an SMS held by the quiet hours, a retry hours later): not sent."""
    kind = notification.kind
    if kind in (NotificationKind.ORDER_REMINDER, NotificationKind.ORDER_OVERDUE):
        open_ = RectificationOrder.objects.filter(
            pk=notification.record_id, status__in=RectificationOrder.OPEN
        )
        return not open_.exists()
    if kind == NotificationKind.MANUAL_PUBLISHED:
        return ManualAcknowledgement.objects.filter(
            manual_id=notification.params.get("manual"), enterprise_id=notification.record_id
        ).exists()
    return False


def _gate(row: Delivery, now: datetime) -> tuple[str, str | datetime | None]:
    """("send", None), ("skip", reason) or ("defer", until)."""
    notification = row.notification
    user = notification.user
    prefs = None
    if _no_longer_true(notification):
        return "skip", "no longer true: the order was answered or the manual acknowledged meanwhile"
    if user is not None:
        if not may_receive(user, record_type=notification.record_type, record_id=notification.record_id):
            return "skip", "the recipient no longer has this record in scope"
        prefs = NotificationSettings.objects.filter(user=user).first()
        if not wants(prefs, notification.kind, row.channel):
            return "skip", "the recipient switched this channel off"
    if row.channel == Delivery.Channel.SMS and (until := quiet_until(prefs, now)):
        return "defer", until
    if until := _rate_limited_until(row, now):
        return "defer", until
    return "send", None


# --- one attempt ------------------------------------------------------------------------------------------


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Try to send one row if it is due; returns its status afterwards (None: not due or taken)."""
    now = now or timezone.now()
    token = secrets.token_hex(8)
    with transaction.atomic():
        row = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__user")
            .filter(_due(now), pk=delivery_id)
            .first()
        )
        if row is None:
            return None
        in_doubt = row.status == Status.SENDING
        last_attempt_at = row.updated_at
        try:
            provider = provider_for(row.channel)
        except ImproperlyConfigured as exc:
            # A provider configured wrongly: nothing is sent or lost; tried again once it is fixed.
            _update(row, next_attempt_at=now + MISCONFIGURED_RETRY, provider_answer=f"configuration: {exc}")
            return row.status
        if not in_doubt:
            decision, value = _gate(row, now)
            if decision == "skip":
                _update(row, status=Status.SKIPPED, provider_answer=value, lease_until=None, claim="")
                return Status.SKIPPED
            if decision == "defer":
                _update(row, next_attempt_at=value)
                return Status.PENDING
            row.attempts += 1
        # Claimed: committed as "sending" before the provider is called.
        _update(row, status=Status.SENDING, claim=token, lease_until=now + lease(), attempts=row.attempts)
    if provider is None:
        return _record(
            row, token, SendResult(ok=False, answer="this channel is switched off", permanent=True)
        )
    if in_doubt:
        return _resolve(row, token, provider, now, last_attempt_at)
    return _send(row, token, provider)


def _send(row: Delivery, token: str, provider) -> str:
    notification = row.notification
    language = notification.language or settings.LANGUAGE_CODE
    try:
        message = catalogue.render(notification, language=language)
    except Exception as exc:  # a notification that cannot be put into words is not retried
        logger.exception("notification %s cannot be rendered", notification.pk)
        return _record(row, token, SendResult(ok=False, answer=f"render: {exc!r}", permanent=True))
    text = message.sms if row.channel == Delivery.Channel.SMS else message.body
    try:
        result = provider.send(
            to=row.address, subject=message.title, text=text, language=language, key=str(row.idempotency_key)
        )
    except Exception as exc:
        # A provider that raised instead of answering: treated as an answer that did not come back.
        logger.exception("provider %s raised for delivery %s", provider.name, row.pk)
        result = SendResult(ok=False, answer=f"{type(exc).__name__}: {exc}", uncertain=True)
    return _record(row, token, result)


def _resolve(row: Delivery, token: str, provider, now: datetime, last_attempt_at: datetime) -> str:
    """A row left "sending": ask the provider, or give it up as in doubt (never resend blindly)."""
    if not provider.can_lookup:
        return _record(
            row,
            token,
            SendResult(
                ok=False,
                permanent=True,
                answer="in doubt: the send was interrupted and this provider cannot say whether it "
                f"went out; not sent again automatically. Last answer: {row.provider_answer}",
            ),
        )
    since = last_attempt_at - timedelta(minutes=5)
    found, answer = provider.lookup(to=row.address, key=str(row.idempotency_key), since=since)
    if found == Lookup.SENT:
        return _record(row, token, SendResult(ok=True, answer=f"found after a send in doubt: {answer}"))
    if found == Lookup.NOT_SENT:
        # Certainly not sent: an attempt like any other, with the same key.
        row.attempts += 1
        Delivery.objects.filter(pk=row.pk, claim=token).update(attempts=row.attempts)
        return _send(row, token, provider)
    # The provider could not be asked: ask again later, still in doubt.
    if row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        return _record(
            row, token, SendResult(ok=False, permanent=True, answer=f"in doubt, gave up: {answer}")
        )
    Delivery.objects.filter(pk=row.pk, claim=token).update(
        lease_until=now + backoff(row.attempts), provider_answer=answer[:2000], attempts=row.attempts + 1
    )
    return Status.SENDING


def _record(row: Delivery, token: str, result: SendResult) -> str:
    """Write the outcome of this worker's attempt, if the row is still its own."""
    now = timezone.now()
    mine = Delivery.objects.filter(pk=row.pk, claim=token, status=Status.SENDING)
    if result.ok:
        changes = {
            "status": Status.SENT,
            "sent_at": now,
            "provider_id": result.provider_id,
            "lease_until": None,
        }
    elif result.uncertain:
        # Left "sending": resolved once the lease is over, by lookup or as in doubt.
        changes = {"lease_until": now + backoff(row.attempts)}
    elif result.permanent or row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        changes = {"status": Status.FAILED, "lease_until": None}
    else:
        wait = result.retry_after or backoff(row.attempts)
        changes = {"status": Status.PENDING, "next_attempt_at": now + wait, "lease_until": None}
    changes["provider_answer"] = result.answer[:2000]
    if not mine.update(**changes, updated_at=now):
        logger.warning("delivery %s was taken over before its attempt was recorded", row.pk)
        return Delivery.objects.get(pk=row.pk).status
    status = changes.get("status", Status.SENDING)
    if status == Status.PENDING or (status == Status.SENDING and result.uncertain):
        _retry_later(row.pk, changes.get("next_attempt_at") or changes["lease_until"])
    return status


def _update(row: Delivery, **changes) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(update_fields=[*changes, "updated_at"])


def _retry_later(pk: int, when: datetime) -> None:
    """Enqueue the next attempt for ``when`` where the task backend can defer; the sweep otherwise."""
    try:
        if deliver.get_backend().supports_defer:
            deliver.using(run_after=when + timedelta(seconds=1)).enqueue(pk)
    except Exception:
        logger.exception("could not enqueue the retry of delivery %s; the sweep will", pk)


def dispatch_due(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """The sweep: attempt every row that is due (oldest first, at most ``limit``). Counts by outcome."""
    now = now or timezone.now()
    limit = limit or settings.NOTIFY_SWEEP_LIMIT
    ids = list(
        Delivery.objects.filter(_due(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for pk in ids:
        try:
            outcome = delivery_attempt(delivery_id=pk, now=now) or "taken"
        except Exception:
            # One row's trouble (a database error, a bug) must not hold up the others; it stays
            # pending or in doubt and is tried again by the next sweep.
            logger.exception("delivery %s: the attempt failed", pk)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def delivery_resend(*, delivery: Delivery) -> bool:
    """The admin's "send again" for a failed row (after checking that it did not arrive): pending
    now, with a fresh count of attempts and the same key."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, status=Status.FAILED).update(
            status=Status.PENDING, next_attempt_at=timezone.now(), attempts=0, claim="", lease_until=None
        )
    )


@task()
def deliver(delivery_id: int) -> None:
    """The background task: one attempt of one row (an id, never a model: a queued task outlives
    the transaction that wrote it)."""
    delivery_attempt(delivery_id=delivery_id)
