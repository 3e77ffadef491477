"""The scheduled job: what no single event says, computed from the state on local days (TIME_ZONE).

Run every 15 minutes by ``manage.py send_reminders`` (a systemd timer or cron, docs/DEPLOY.md), or
as the background task ``notifications_tick``. Each run:

- reminds the business of an open order's deadline on each day NOTIFY_REMINDER_DAYS says (2 and 0:
  two local days before the deadline's local day, and on that day while it has not passed);
- tells the business and the order's inspectors when an open order goes overdue;
- sends each regulator, once the local day reaches NOTIFY_DIGEST_HOUR, the digest of the orders
  in their scope that went overdue the day before (only when there were some);
- tells the business a result becomes public within NOTIFY_PUBLICATION_NOTICE_DAYS;
- asks the members of every business whose scene has a manual published in the last
  NOTIFY_MANUAL_LOOKBACK_DAYS that they have not acknowledged to read it;
- tells those who manage a data source when it has sent nothing for NOTIFY_SOURCE_SILENT_HOURS;
- then sweeps the outbox (delivery.dispatch_due): retries whose backoff is over, sends in doubt,
  anything a lost enqueue left pending.

Every event's key names its record and, where it recurs, its local day ("order.reminder:17:
2025-06-08", "digest:2025-06-07"): a second run on the same day, or two runs at once, write nothing
more (outbox.notify is idempotent per event, recipient and channel). A day the job did not run at
all is not made up for later, except overdue orders (within NOTIFY_OVERDUE_LOOKBACK_DAYS) and
manuals, which are told late rather than never.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from checklists.models import Manual, VersionStatus
from core.models import Enterprise, EnterpriseMembership, Regulator
from history.models import DataSource, SourceBatch
from supervision.inspections.permissions import orders_visible_to
from supervision.models import Inspection, Notification, NotificationKind, RectificationOrder
from supervision.notifications.catalogue import bilingual
from supervision.notifications.delivery import dispatch_due
from supervision.notifications.events import order_event
from supervision.notifications.outbox import Event, notify
from supervision.notifications.recipients import members, order_team, source_managers
from supervision.publication.selectors import PUBLISHED_SOURCES

Kind = NotificationKind
User = get_user_model()
OPEN = RectificationOrder.OPEN
CHUNK = 500


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first moment of ``day`` and of the next, local time (TIME_ZONE), as aware datetimes."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), zone)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), zone)


def _chunks(items, size=CHUNK):
    for index in range(0, len(items), size):
        yield items[index : index + size]


def _already(kind: str, keys: list[str]) -> set[str]:
    return set(Notification.objects.filter(kind=kind, event_key__in=keys).values_list("event_key", flat=True))


def _per_order(orders, kind: str, key, recipients, **params) -> int:
    """Notify each order not yet told under ``key(order)``; returns how many orders were told."""
    told = 0
    for chunk in _chunks(list(orders.select_related("enterprise", "inspection__task"))):
        done = _already(kind, [key(order) for order in chunk])
        events = [
            order_event(order, kind, key(order), recipients(order), **params)
            for order in chunk
            if key(order) not in done
        ]
        if events:
            notify(*events)
            told += len(events)
    return told


def reminders(now: datetime) -> int:
    today = timezone.localdate(now)
    told = 0
    for days in settings.NOTIFY_REMINDER_DAYS:
        target = today + timedelta(days=days)
        start, end = local_day_bounds(target)
        orders = RectificationOrder.objects.filter(
            status__in=OPEN, deadline__gte=max(start, now), deadline__lt=end
        )
        told += _per_order(
            orders,
            Kind.ORDER_REMINDER,
            lambda order, target=target: f"order.reminder:{order.pk}:{target}",
            lambda order: members(order.enterprise_id),
            days=days,
        )
    return told


def overdue(now: datetime) -> int:
    since = now - timedelta(days=settings.NOTIFY_OVERDUE_LOOKBACK_DAYS)
    orders = RectificationOrder.objects.filter(status__in=OPEN, deadline__lt=now, deadline__gte=since)
    return _per_order(
        orders,
        Kind.ORDER_OVERDUE,
        lambda order: f"order.overdue:{order.pk}:{timezone.localdate(order.deadline)}",
        lambda order: [*members(order.enterprise_id), *order_team(order)],
    )


def digests(now: datetime) -> int:
    local = timezone.localtime(now)
    if local.hour < settings.NOTIFY_DIGEST_HOUR:
        return 0
    yesterday = local.date() - timedelta(days=1)
    start, end = local_day_bounds(yesterday)
    key = f"digest:{yesterday}"
    done = set(Notification.objects.filter(event_key=key).values_list("user_id", flat=True))
    told = 0
    users = User.objects.filter(is_active=True, pk__in=Regulator.objects.values("user_id")).exclude(
        pk__in=done
    )
    for user in users.order_by("pk").iterator(chunk_size=CHUNK):
        # What they may see of the orders, by the orders' own rule.
        open_orders = orders_visible_to(user).filter(status__in=OPEN)
        count = open_orders.filter(deadline__gte=start, deadline__lt=end).count()
        if not count:
            continue
        total = open_orders.filter(deadline__lt=now).count()
        notify(
            Event(
                kind=Kind.OVERDUE_DIGEST,
                key=key,
                users=[user],
                link=reverse("monitor:loop"),
                params={"day": yesterday.isoformat(), "count": count, "total": total},
            )
        )
        told += 1
    return told


def publishing(now: datetime) -> int:
    delay = timedelta(days=settings.PUBLICATION_DELAY_DAYS)
    notice = timedelta(days=settings.NOTIFY_PUBLICATION_NOTICE_DAYS)
    if not delay or not notice:
        return 0
    # Those that go public within the notice, i.e. submitted at most ``delay`` ago and at least
    # ``delay - notice`` ago.
    inspections = Inspection.objects.filter(
        status=Inspection.Status.SUBMITTED,
        task__source__in=PUBLISHED_SOURCES,
        submitted_at__gt=now - delay,
        submitted_at__lte=now - delay + notice,
    ).select_related("enterprise")
    told = 0
    for chunk in _chunks(list(inspections)):
        done = _already(Kind.RESULT_PUBLISHING, [f"result.publishing:{i.pk}" for i in chunk])
        events = [
            Event(
                kind=Kind.RESULT_PUBLISHING,
                key=f"result.publishing:{inspection.pk}",
                users=members(inspection.enterprise_id),
                enterprise_id=inspection.enterprise_id,
                record_type="inspection",
                record_id=inspection.pk,
                link=reverse("loop:inspection", args=[inspection.pk]),
                params={
                    "inspected_on": timezone.localdate(inspection.submitted_at).isoformat(),
                    "goes_public_at": (inspection.submitted_at + delay).isoformat(),
                },
            )
            for inspection in chunk
            if f"result.publishing:{inspection.pk}" not in done
        ]
        if events:
            notify(*events)
            told += len(events)
    return told


def manuals(now: datetime, *, limit: int | None = None) -> int:
    """Members of businesses that have not acknowledged their scene's manual, published lately, and
    were not asked yet: at most ``limit`` memberships a run (the rest on the next runs), in bulk."""
    limit = limit or settings.NOTIFY_FANOUT_LIMIT
    recent = Manual.objects.filter(
        status=VersionStatus.PUBLISHED,
        published_at__gte=now - timedelta(days=settings.NOTIFY_MANUAL_LOOKBACK_DAYS),
    ).order_by("pk")
    told = 0
    for manual in recent:
        key = Concat(Value(f"manual:{manual.pk}:"), Cast(OuterRef("enterprise_id"), CharField()))
        asked = Notification.objects.filter(
            kind=Kind.MANUAL_PUBLISHED, user_id=OuterRef("user_id"), event_key=key
        )
        pending = list(
            EnterpriseMembership.objects.filter(enterprise__scene_id=manual.scene_id, user__is_active=True)
            .exclude(enterprise__acknowledgements__manual=manual)
            .exclude(Exists(asked))
            .order_by("enterprise_id", "user_id")
            .values_list("enterprise_id", "user_id")[: max(limit - told, 0)]
        )
        if not pending:
            continue
        users = User.objects.in_bulk({user_id for _e, user_id in pending})
        by_enterprise = defaultdict(list)
        for enterprise_id, user_id in pending:
            by_enterprise[enterprise_id].append(users[user_id])
        uscc = dict(Enterprise.objects.filter(pk__in=list(by_enterprise)).values_list("pk", "uscc"))
        params = {
            "title": bilingual(manual.title, manual.title_en),
            "version": manual.version,
            "manual": manual.pk,
        }
        events = [
            Event(
                kind=Kind.MANUAL_PUBLISHED,
                key=f"manual:{manual.pk}:{enterprise_id}",
                users=recipients,
                enterprise_id=enterprise_id,
                record_type="enterprise",
                record_id=enterprise_id,
                link=reverse("checklists:enterprise-manual", args=[uscc[enterprise_id]]),
                params=params,
            )
            for enterprise_id, recipients in by_enterprise.items()
        ]
        for chunk in _chunks(events):
            # Chosen by membership, the very rule the enterprise's scope has for its members:
            # checked again before each send.
            notify(*chunk, check_scope=False)
        told += len(pending)
        if told >= limit:
            break
    return told


def silent_sources(now: datetime) -> int:
    batches = SourceBatch.objects.filter(source=OuterRef("pk")).order_by("-received_at", "-pk")
    sources = (
        DataSource.objects.filter(active=True)
        .annotate(
            last_at=Subquery(batches.values("received_at")[:1]),
            last_batch=Subquery(batches.values("pk")[:1]),
        )
        .filter(last_at__lt=now - timedelta(hours=settings.NOTIFY_SOURCE_SILENT_HOURS))
    )
    told = 0
    for source in sources:
        key = f"source.silent:{source.pk}:{source.last_batch}"
        if _already(Kind.SOURCE_SILENT, [key]):
            continue
        notify(
            Event(
                kind=Kind.SOURCE_SILENT,
                key=key,
                users=source_managers(source),
                record_type="source",
                record_id=source.pk,
                link=reverse("sources:detail", args=[source.code]),
                params={
                    "source": bilingual(source.name, source.name_en),
                    "last_received_at": source.last_at.isoformat(),
                },
            )
        )
        told += 1
    return told


def schedule_run(*, now: datetime | None = None, sweep: bool = True) -> dict[str, object]:
    """One run of the job; returns what it did."""
    now = now or timezone.now()
    done: dict[str, object] = {
        "reminders": reminders(now),
        "overdue": overdue(now),
        "digests": digests(now),
        "publishing": publishing(now),
        "manuals": manuals(now),
        "silent_sources": silent_sources(now),
    }
    if sweep:
        done["sweep"] = dispatch_due(now=now)
    return done


@task()
def notifications_tick() -> None:
    """The background task of the job (``send_reminders --enqueue``)."""
    schedule_run()
