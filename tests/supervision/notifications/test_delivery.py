"""Delivery that loses nothing and sends nothing twice: retries with backoff, a worker killed between
the provider's call and the record, the same event written twice, an event rolled back, permanent
failures visible with the provider's answer, the per-recipient limit and the recipient's choices."""

import os
import signal
import subprocess
import sys
import time as clock
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from core.signals import enterprise_changed
from supervision.models import Delivery, Inspection, Notification, NotificationKind, RectificationOrder
from supervision.notifications import delivery as engine
from supervision.notifications.outbox import Event, notify
from supervision.notifications.schedule import schedule_run
from tests.factories import FAILING, MembershipFactory, make_ready, make_task, make_team, submit
from tests.supervision.notifications.builders import PHONE, issue_order, received, said, with_prefs
from tests.supervision.notifications.fake_sms import KEY_ID, SECRET

Status = Delivery.Status
# The lookup of a send in doubt asks the provider about each Beijing day from the send to now
# (providers.AliyunSms.lookup): the tests that count its requests run at a set time of day.
MIDDAY = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BEFORE_MIDNIGHT = datetime(2026, 6, 1, 23, 59, 50, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def midday():
    with time_machine.travel(MIDDAY):
        yield


@pytest.mark.django_db
def test_a_provider_answering_500_then_200_delivers_one_message(fake_sms):
    fake_sms.script = [{"status": 500}, {"status": 200}]
    [pk] = received()
    assert engine.delivery_attempt(delivery_id=pk) == Status.PENDING
    row = Delivery.objects.get(pk=pk)
    assert row.attempts == 1 and "HTTP 500" in row.provider_answer
    assert fake_sms.delivered == []
    # Not due before its backoff (one minute); then the sweep sends it.
    assert engine.dispatch_due() == {}
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        assert engine.dispatch_due() == {Status.SENT: 1}
        assert engine.dispatch_due() == {}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_id) == (Status.SENT, 2, "biz-1")
    assert len(fake_sms.delivered) == 1
    # Both attempts carried the same key as OutId.
    assert [r["OutId"] for r in fake_sms.requests] == [str(row.idempotency_key)] * 2


@pytest.mark.django_db
def test_a_permanent_refusal_fails_at_once_with_the_providers_answer(fake_sms, admin_client):
    fake_sms.script = [{"code": "isv.MOBILE_NUMBER_ILLEGAL"}]
    [pk] = received()
    assert engine.delivery_attempt(delivery_id=pk) == Status.FAILED
    row = Delivery.objects.get(pk=pk)
    assert "isv.MOBILE_NUMBER_ILLEGAL" in row.provider_answer and row.attempts == 1
    # The admins see it among the failed, with the answer.
    page = admin_client.get("/admin/supervision/delivery/?status__exact=failed")
    assert page.status_code == 200 and "isv.MOBILE_NUMBER_ILLEGAL" in page.text


@pytest.mark.django_db
def test_it_gives_up_after_the_last_attempt(fake_sms, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    fake_sms.script = [{"status": 503}, {"status": 503}, {"status": 200}]
    [pk] = received()
    engine.delivery_attempt(delivery_id=pk)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert engine.dispatch_due() == {Status.FAILED: 1}
    assert len(fake_sms.requests) == 2 and fake_sms.delivered == []


@pytest.mark.django_db
def test_the_same_event_twice_is_one_message(fake_sms):
    first = received()
    assert received() == []
    assert Notification.objects.count() == 1 and Delivery.objects.count() == 1
    engine.dispatch_due()
    engine.dispatch_due()
    assert len(fake_sms.delivered) == 1 and first


def _die_after_the_call(monkeypatch):
    """The worker dies right after the provider's call returned, before the outcome is recorded."""

    def die(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(engine, "_record", die)


@pytest.mark.django_db
def test_sms_in_doubt_is_looked_up_not_sent_again(fake_sms, monkeypatch, settings, midday):
    [pk] = received()
    with monkeypatch.context() as patch:
        _die_after_the_call(patch)
        with pytest.raises(SystemExit):
            engine.delivery_attempt(delivery_id=pk)
    assert Delivery.objects.get(pk=pk).status == Status.SENDING
    assert engine.dispatch_due() == {}  # its lease is not over: nobody else takes it
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)):
        assert engine.dispatch_due() == {Status.SENT: 1}
    assert len(fake_sms.delivered) == 1
    assert [r["Action"] for r in fake_sms.requests] == ["SendSms", "QuerySendDetails"]
    assert "found after a send in doubt" in Delivery.objects.get(pk=pk).provider_answer


@pytest.mark.django_db
def test_sms_that_never_reached_the_provider_is_sent_after_the_lookup(fake_sms, monkeypatch, midday):
    _never_reached_the_provider(monkeypatch)
    assert [r["Action"] for r in fake_sms.requests] == ["QuerySendDetails", "SendSms"]
    assert len(fake_sms.delivered) == 1


@pytest.mark.django_db
def test_a_lookup_across_beijing_midnight_asks_about_both_days(fake_sms, monkeypatch):
    with time_machine.travel(BEFORE_MIDNIGHT):
        _never_reached_the_provider(monkeypatch)
    dates = [r["SendDate"] for r in fake_sms.requests if r["Action"] == "QuerySendDetails"]
    assert dates == ["20260601", "20260602"]
    assert [r["Action"] for r in fake_sms.requests][-1] == "SendSms"
    assert len(fake_sms.delivered) == 1


def _never_reached_the_provider(monkeypatch) -> None:
    """A send killed before the provider's call; the sweep after its lease looks it up, finds
    nothing and sends it."""
    [pk] = received()

    def die_before_sending(*args, **kwargs):
        raise SystemExit("killed before the call")

    with monkeypatch.context() as patch:
        patch.setattr(engine, "provider_for", lambda channel: type("P", (), {"send": die_before_sending})())
        with pytest.raises(SystemExit):
            engine.delivery_attempt(delivery_id=pk)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)):
        assert engine.dispatch_due() == {Status.SENT: 1}


@pytest.mark.django_db
def test_email_in_doubt_is_never_sent_again_and_shows_as_failed(monkeypatch, settings):
    settings.SMS_BACKEND = "none"
    [pk] = received(to="reporter@example.com")
    with monkeypatch.context() as patch:
        _die_after_the_call(patch)
        with pytest.raises(SystemExit):
            engine.delivery_attempt(delivery_id=pk)
    assert len(mail.outbox) == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)):
        assert engine.dispatch_due() == {Status.FAILED: 1}
        assert engine.dispatch_due() == {}
    assert len(mail.outbox) == 1
    row = Delivery.objects.get(pk=pk)
    assert row.provider_answer.startswith("in doubt")
    # An admin who checked that it did not arrive sends it again, by hand.
    from supervision.notifications.services import delivery_resend_by_admin

    assert delivery_resend_by_admin(delivery=row, actor=None)
    assert engine.dispatch_due() == {Status.SENT: 1}
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_an_order_and_its_notifications_commit_together_or_not_at_all(
    enterprise, regulator_user, loop_checklist
):
    member = with_prefs(MembershipFactory(enterprise=enterprise).user, email="boss@shop.cn")
    team = make_team()
    inspection_task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    from supervision.inspections import services as workflow

    inspection = workflow.inspection_start(task=inspection_task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, FAILING)

    def fail(sender, **kwargs):
        raise RuntimeError("the rescore broke")

    enterprise_changed.connect(fail, dispatch_uid="test.fail")
    try:
        with pytest.raises(RuntimeError):
            submit(inspection, team[0].user, Inspection.Conclusion.RECTIFY)
    finally:
        enterprise_changed.disconnect(dispatch_uid="test.fail")
    assert not RectificationOrder.objects.exists()
    assert not Notification.objects.filter(user=member).exists()
    submit(inspection, team[0].user, Inspection.Conclusion.RECTIFY)
    assert Notification.objects.filter(user=member, kind=NotificationKind.ORDER_ISSUED).count() == 1


@pytest.mark.django_db
def test_the_per_recipient_limit_delays_without_dropping(fake_sms, settings):
    settings.NOTIFY_SMS_PER_HOUR = 2
    ids = [received(n)[0] for n in (1, 2, 3)]
    assert [engine.delivery_attempt(delivery_id=pk) for pk in ids] == [
        Status.SENT,
        Status.SENT,
        Status.PENDING,
    ]
    held = Delivery.objects.get(pk=ids[2])
    first_sent = Delivery.objects.get(pk=ids[0]).sent_at
    assert held.next_attempt_at == first_sent + timedelta(hours=1, seconds=1)
    with time_machine.travel(held.next_attempt_at + timedelta(seconds=1)):
        assert engine.dispatch_due() == {Status.SENT: 1}
    assert len(fake_sms.delivered) == 3


@pytest.mark.django_db
def test_a_channel_switched_off_before_sending_is_skipped_but_mandatory_ones_are_not(
    enterprise, regulator_user
):
    member = with_prefs(MembershipFactory(enterprise=enterprise).user, email="boss@shop.cn")
    with time_machine.travel(timezone.now(), tick=False):
        order = issue_order(enterprise, regulator_user)
    closed = notify(
        Event(
            kind=NotificationKind.ORDER_CLOSED,
            key="test.closed",
            users=[member],
            enterprise_id=enterprise.pk,
            record_type="order",
            record_id=order.pk,
            params={"number": order.number},
        )
    )
    prefs = member.notification_settings
    prefs.choices = {"order_closed:email": False, "order_issued:email": False}
    prefs.save()
    assert engine.dispatch_due() == {Status.SENT: 1, Status.SKIPPED: 1}
    assert Delivery.objects.get(pk=closed[0]).provider_answer == "the recipient switched this channel off"
    assert [m.subject for m in mail.outbox] == [
        said("zh-hans", "Rectification order %(number)s issued", number=order.number)
    ]


# --- a real worker process, killed ------------------------------------------------------------------------


@pytest.fixture
def database_url():
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_send_and_record_sends_nothing_twice_after_restart(
    fake_sms, database_url, settings, tmp_path
):
    # Written straight to the outbox: no enqueue after commit, which would send it in this process.
    notification = Notification.objects.create(
        event_key="complaint.received:1",
        kind=NotificationKind.COMPLAINT_RECEIVED,
        address=PHONE,
        language="zh-hans",
        params={"complaint": 1, "enterprise": "测试企业"},
    )
    pk = Delivery.objects.create(notification=notification, channel=Delivery.Channel.SMS, address=PHONE).pk
    fake_sms.script = [{"hang": True}]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SMS_", "NOTIFY_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SMS_BACKEND": "aliyun",
        "SMS_ALIYUN_ENDPOINT": fake_sms.url.rstrip("/"),
        "SMS_ALIYUN_ACCESS_KEY_ID": KEY_ID,
        "SMS_ALIYUN_ACCESS_KEY_SECRET": SECRET,
        "SMS_ALIYUN_SIGN_NAME": settings.SMS_ALIYUN_SIGN_NAME,
        "SMS_ALIYUN_TEMPLATES": settings.SMS_ALIYUN_TEMPLATES,
        "SMS_TIMEOUT": "30",
        "NOTIFY_QUIET_HOURS": "00:00-00:00",
    }
    code = (
        "import django; django.setup();"
        "from supervision.notifications.delivery import delivery_attempt;"
        f"delivery_attempt(delivery_id={pk})"
    )
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], env=env)
    try:
        deadline = clock.monotonic() + 30
        while not fake_sms.delivered and clock.monotonic() < deadline and worker.poll() is None:
            clock.sleep(0.05)
        assert fake_sms.delivered, "the worker never reached the provider"
        # The provider has the message; the worker waits for its answer: kill it there.
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    row = Delivery.objects.get(pk=pk)
    assert row.status == Status.SENDING and row.attempts == 1
    fake_sms.release.set()
    # A new worker, now and after the lease: nothing is sent again; the provider is asked instead.
    assert engine.dispatch_due() == {}
    with time_machine.travel(row.lease_until + timedelta(seconds=1)):
        assert engine.dispatch_due() == {Status.SENT: 1}
        assert engine.dispatch_due() == {}
    assert [r["Action"] for r in fake_sms.requests] == ["SendSms", "QuerySendDetails"]
    assert len(fake_sms.delivered) == 1
    assert Delivery.objects.get(pk=pk).status == Status.SENT


@pytest.mark.django_db
def test_the_scheduled_run_sweeps_what_a_lost_enqueue_left(fake_sms):
    # notify() outside on_commit capture: the enqueue never ran, as if the queue had been down.
    received()
    assert fake_sms.delivered == []
    assert schedule_run()["sweep"] == {Status.SENT: 1}
    assert len(fake_sms.delivered) == 1
