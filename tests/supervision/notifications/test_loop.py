"""The whole loop, told to exactly the right people in their languages: an order issued, a reminder
before its deadline, a rectification, rejected with the reason, a rectification again, accepted.

Sent the real way: each step's transaction commits, the outbox rows it wrote are handed to the task
backend ("immediate" in tests) and sent to the in-memory email backend and to a fake Alibaba Cloud
SMS endpoint on 127.0.0.1. Nobody else (another business's member, an inspector or a regulator of
another district) hears anything.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from core.models import District
from supervision.inspections import services as workflow
from supervision.models import Delivery, Inspection, Notification, RectificationOrder
from supervision.notifications.schedule import schedule_run
from tests.factories import (
    FAILING,
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    make_ready,
    make_task,
    make_team,
    rectify,
    submit,
)
from tests.supervision.notifications.builders import ZH_TEMPLATE, mail_to, said, with_prefs

BEIJING = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


@pytest.fixture
def people(enterprise, regulator_user, loop_checklist):
    zh = with_prefs(
        MembershipFactory(enterprise=enterprise).user,
        email="wang@shop.cn",
        language="zh-hans",
        phone="13800000001",
    )
    en = with_prefs(MembershipFactory(enterprise=enterprise).user, email="lee@shop.cn", language="en")
    team = make_team()
    lead = with_prefs(team[0].user, email="lead@gov.cn", language="en", phone="13900000001")
    second = with_prefs(team[1].user, email="second@gov.cn")  # no language chosen: Chinese
    strangers = [
        with_prefs(
            MembershipFactory(enterprise=EnterpriseFactory()).user, email="other@shop.cn", phone="13700000001"
        ),
        with_prefs(InspectorFactory(districts=["110108"]).user, email="haidian@gov.cn", phone="13700000002"),
        with_prefs(
            RegulatorFactory(department=None, district=District.objects.get(code="110108")).user,
            email="haidian-lead@gov.cn",
        ),
    ]
    return {"zh": zh, "en": en, "team": team, "lead": lead, "second": second, "strangers": strangers}


def step(capture, function, *args, **kwargs):
    """One request's worth: the service's transaction commits, then what it wrote is sent."""
    with capture(execute=True):
        return function(*args, **kwargs)


def test_the_loop_tells_exactly_the_right_people(
    people, enterprise, regulator_user, fake_sms, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_PUBLICATION_NOTICE_DAYS = 0  # results going public are another test's
    capture = django_capture_on_commit_callbacks
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING), tick=False) as clock:
        task = step(capture, make_task, enterprise=enterprise, team=people["team"], actor=regulator_user)
        # The task told its inspectors; the rest of the loop starts with an empty outbox.
        assert sorted(mail_to(mail.outbox)) == [
            ("lead@gov.cn", f"New inspection task #{task.pk}"),
            ("second@gov.cn", said("zh-hans", "New inspection task #%(id)d", id=task.pk)),
        ]
        assert fake_sms.texts_to("13900000001") == [
            f"New inspection task #{task.pk}, due June 2, 2025 to June 9, 2025. https://supervision.example.gov.cn/tasks/"
        ]
        mail.outbox.clear()
        fake_sms.delivered.clear()

        inspection = workflow.inspection_start(task=task, actor=people["lead"])
        make_ready(inspection, people["lead"], people["team"], FAILING)
        step(capture, submit, inspection, people["lead"], Inspection.Conclusion.RECTIFY)
        order = RectificationOrder.objects.get(inspection=inspection)
        number = order.number

        # 1. The order: both members, each in their language; the SMS short and without findings.
        issued = "Rectification order %(number)s issued"
        assert sorted(mail_to(mail.outbox)) == [
            ("lee@shop.cn", f"Rectification order {number} issued"),
            ("wang@shop.cn", said("zh-hans", issued, number=number)),
        ]
        english = next(m for m in mail.outbox if m.to == ["lee@shop.cn"])
        chinese = next(m for m in mail.outbox if m.to == ["wang@shop.cn"])
        assert "June 9, 2025, 10 a.m." in english.body and "Is item 2 compliant?" in english.body
        assert "2025年6月9日 10:00" in chinese.body and "检查项2是否符合要求？" in chinese.body
        assert chinese.extra_headers["Content-Language"] == "zh-hans"
        assert f"https://supervision.example.gov.cn/orders/{order.pk}/" in english.body
        [sms] = fake_sms.delivered
        assert sms["to"] == "13800000001" and sms["template"] == ZH_TEMPLATE
        assert number in sms["text"] and "2025年6月9日" in sms["text"] and "检查项" not in sms["text"]
        mail.outbox.clear()
        fake_sms.delivered.clear()

        # 2. Two local days before the deadline: the reminder, to the members only, once.
        clock.move_to(datetime(2025, 6, 7, 9, 0, tzinfo=BEIJING))
        with capture(execute=True):
            schedule_run()
        with capture(execute=True):
            schedule_run()  # the next run of the same day tells nobody again
        due = "Order %(number)s is due in %(days)d days, %(deadline)s"
        assert sorted(mail_to(mail.outbox)) == [
            ("lee@shop.cn", f"Order {number} is due in 2 days, June 9, 2025, 10 a.m."),
            (
                "wang@shop.cn",
                said(
                    "zh-hans",
                    due.replace("days,", "day,"),
                    due,
                    2,
                    number=number,
                    days=2,
                    deadline="2025年6月9日 10:00",
                ),
            ),
        ]
        assert [m["to"] for m in fake_sms.delivered] == ["13800000001"]
        mail.outbox.clear()
        fake_sms.delivered.clear()

        # 3. The business answers: the two inspectors of the order, email only by default.
        step(capture, rectify, order, people["zh"])
        waiting = "Rectification of order %(number)s waiting for your verification"
        assert sorted(mail_to(mail.outbox)) == [
            ("lead@gov.cn", f"Rectification of order {number} waiting for your verification"),
            ("second@gov.cn", said("zh-hans", waiting, number=number)),
        ]
        assert fake_sms.delivered == []
        mail.outbox.clear()

        # 4. Rejected with the reason: the members; the reason in the email, never in the SMS.
        reason = "The photo of the cold store does not show the thermometer."
        step(capture, workflow.order_verify, order=order, actor=people["lead"], accepted=False, note=reason)
        assert sorted(mail_to(mail.outbox)) == [
            ("lee@shop.cn", f"Rectification of order {number} rejected"),
            ("wang@shop.cn", said("zh-hans", "Rectification of order %(number)s rejected", number=number)),
        ]
        assert all(reason in m.body for m in mail.outbox)
        [sms] = fake_sms.delivered
        assert sms["to"] == "13800000001" and reason not in sms["text"] and "thermometer" not in sms["text"]
        mail.outbox.clear()
        fake_sms.delivered.clear()

        # 5. Answered again: the inspectors again (a new rectification, a new event).
        order.refresh_from_db()
        step(capture, rectify, order, people["zh"])
        assert sorted(mail_to(mail.outbox)) == [
            ("lead@gov.cn", f"Rectification of order {number} waiting for your verification"),
            ("second@gov.cn", said("zh-hans", waiting, number=number)),
        ]
        mail.outbox.clear()

        # 6. Accepted: the order is closed; the members are told, by email.
        step(capture, workflow.order_verify, order=order, actor=people["lead"], accepted=True)
        closed = "Rectification of order %(number)s accepted; the order is closed"
        assert sorted(mail_to(mail.outbox)) == [
            ("lee@shop.cn", f"Rectification of order {number} accepted; the order is closed"),
            ("wang@shop.cn", said("zh-hans", closed, number=number)),
        ]
        assert fake_sms.delivered == []

    # Nobody outside the order heard anything, on any channel, in any inbox.
    strangers = people["strangers"]
    assert not Notification.objects.filter(user__in=strangers).exists()
    assert not fake_sms.texts_to("13700000001") and not fake_sms.texts_to("13700000002")
    # Every row of the outbox went out; none waits, none failed.
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    # The inbox has it all too, for each member: issued, reminder, rejected, closed.
    for member in (people["zh"], people["en"]):
        assert list(
            Notification.objects.filter(user=member)
            .order_by("created_at", "pk")
            .values_list("kind", flat=True)
        ) == [
            "order_issued",
            "order_reminder",
            "rectification_rejected",
            "order_closed",
        ]
