"""Reminders fire on the right local day (TIME_ZONE, Asia/Shanghai), however close to midnight the
job runs, in Beijing or in UTC; once per day whatever the number of runs."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from supervision.models import Delivery, Notification, NotificationKind
from supervision.notifications.schedule import schedule_run
from tests.factories import MembershipFactory, rectify
from tests.supervision.notifications.builders import issue_order, with_prefs

BEIJING, UTC = ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_nights(settings):
    settings.NOTIFY_QUIET_HOURS = (time(22), time(7))


@pytest.fixture
def order(enterprise, regulator_user):
    """Due 2025-06-10 15:00 Beijing time: reminders on the local days 06-08 (2 days) and 06-10 (0)."""
    with_prefs(
        MembershipFactory(enterprise=enterprise).user,
        email="boss@shop.cn",
        phone="13800000001",
        language="en",
    )
    with time_machine.travel(datetime(2025, 6, 1, 10, 0, tzinfo=BEIJING), tick=False):
        return issue_order(enterprise, regulator_user, deadline=datetime(2025, 6, 10, 15, 0, tzinfo=BEIJING))


def reminders():
    return list(
        Notification.objects.filter(kind=NotificationKind.ORDER_REMINDER)
        .order_by("pk")
        .values_list("params__days", flat=True)
    )


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return schedule_run()


def test_it_waits_for_beijing_midnight_not_utc_midnight(order):
    run_at(datetime(2025, 6, 7, 23, 59, 30, tzinfo=BEIJING))  # 15:59 UTC
    assert reminders() == []
    # Half a minute later it is 06-08 in Beijing, still 06-07 in UTC: two days before the deadline.
    run_at(datetime(2025, 6, 8, 0, 0, 30, tzinfo=BEIJING))
    assert reminders() == [2]
    [email] = [m for m in mail.outbox if m.subject.startswith(f"Order {order.number} is due in 2 days")]
    assert email.to == ["boss@shop.cn"]


def test_a_run_before_utc_midnight_is_already_the_beijing_day_and_the_next_run_adds_nothing(order):
    run_at(datetime(2025, 6, 7, 23, 59, 30, tzinfo=UTC))  # 07:59 on 06-08 in Beijing
    assert reminders() == [2]
    run_at(datetime(2025, 6, 8, 0, 0, 30, tzinfo=UTC))  # 08:00 on 06-08 in Beijing: the same local day
    run_at(datetime(2025, 6, 8, 15, 59, 0, tzinfo=UTC))  # 23:59 in Beijing
    assert reminders() == [2]


def test_on_the_day_until_the_deadline_then_overdue(order):
    run_at(datetime(2025, 6, 9, 23, 59, 30, tzinfo=BEIJING))  # one day before: not a reminder day
    assert reminders() == []
    run_at(datetime(2025, 6, 10, 0, 0, 30, tzinfo=BEIJING))
    assert reminders() == [0]
    assert any(m.subject.startswith(f"Order {order.number} is due today") for m in mail.outbox)
    # The SMS waits for the end of the quiet hours (22:00-07:00); the email does not.
    sms = Delivery.objects.get(
        notification__kind=NotificationKind.ORDER_REMINDER, channel=Delivery.Channel.SMS
    )
    assert sms.status == Delivery.Status.PENDING
    assert sms.next_attempt_at == datetime(2025, 6, 10, 7, 0, tzinfo=BEIJING)
    run_at(datetime(2025, 6, 10, 7, 0, 30, tzinfo=BEIJING))
    sms.refresh_from_db()
    assert sms.status == Delivery.Status.SENT
    # Past the deadline: no "due today" any more, but overdue, once.
    run_at(datetime(2025, 6, 10, 15, 0, 30, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 10, 15, 30, tzinfo=BEIJING))
    assert reminders() == [0]
    assert (
        Notification.objects.filter(kind=NotificationKind.ORDER_OVERDUE).count() == 3
    )  # member, two inspectors


def test_a_closed_order_is_not_reminded(order, enterprise):
    from supervision.models import RectificationOrder

    RectificationOrder.objects.filter(pk=order.pk).update(status=RectificationOrder.Status.CLOSED)
    run_at(datetime(2025, 6, 8, 9, 0, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 10, 16, 0, tzinfo=BEIJING))
    assert reminders() == []
    assert not Notification.objects.filter(kind=NotificationKind.ORDER_OVERDUE).exists()


def test_an_sms_held_by_the_quiet_hours_is_not_sent_once_the_order_is_answered(order):
    run_at(datetime(2025, 6, 10, 0, 0, 30, tzinfo=BEIJING))
    sms = Delivery.objects.get(
        notification__kind=NotificationKind.ORDER_REMINDER, channel=Delivery.Channel.SMS
    )
    assert sms.status == Delivery.Status.PENDING
    with time_machine.travel(datetime(2025, 6, 10, 6, 0, tzinfo=BEIJING), tick=False):
        rectify(order, order.enterprise.memberships.first().user)
    run_at(datetime(2025, 6, 10, 7, 0, 30, tzinfo=BEIJING))
    sms.refresh_from_db()
    assert sms.status == Delivery.Status.SKIPPED and sms.provider_answer.startswith("no longer true")
