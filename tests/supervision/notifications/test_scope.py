"""Nobody is told about an enterprise they may not see: recipients are chosen by the features'
permission rules when the outbox is written, checked again before each send, and the inbox hides
what a reader no longer has in scope."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from core.models import ComplaintFlood, Department, District, EnterpriseMembership
from core.permissions import can_see_enterprise
from supervision.complaints.signals import complaint_flood_suspected
from supervision.inspections import services as workflow
from supervision.models import Delivery, Notification, NotificationKind
from supervision.notifications.delivery import dispatch_due
from supervision.notifications.permissions import may_receive
from supervision.notifications.schedule import schedule_run
from supervision.notifications.selectors import inbox
from tests.factories import EnterpriseFactory, InspectorFactory, MembershipFactory, RegulatorFactory
from tests.supervision.notifications.builders import issue_order, with_prefs

BEIJING = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db
Kind = NotificationKind


@pytest.fixture
def world(enterprise, regulator_user, chaoyang_regulator, health_regulator):
    """Who is in scope of ``enterprise`` (Chaoyang, catering) and who is not."""

    def person(user, name):
        return with_prefs(user, email=f"{name}@example.cn")

    city_fire = RegulatorFactory(department=Department.objects.get(code="fire_rescue")).user
    haidian = RegulatorFactory(department=None, district=District.objects.get(code="110108")).user
    return {
        "member": person(MembershipFactory(enterprise=enterprise).user, "member"),
        "city_market": person(regulator_user, "city-market"),
        "chaoyang": person(chaoyang_regulator, "chaoyang"),
        "city_fire": person(city_fire, "city-fire"),
        # Out of scope: health does not supervise catering; Haidian is another district; another
        # business; an inspector of another district; an inspector of the district not on the task.
        "health": person(health_regulator, "health"),
        "haidian": person(haidian, "haidian"),
        "other_business": person(MembershipFactory(enterprise=EnterpriseFactory()).user, "other-business"),
        "haidian_inspector": person(InspectorFactory(districts=["110108"]).user, "haidian-inspector"),
        "idle_inspector": person(InspectorFactory(districts=["110105"]).user, "idle-inspector"),
    }


OUT_OF_SCOPE = ("health", "haidian", "other_business", "haidian_inspector", "idle_inspector")


def test_escalations_digests_and_floods_reach_only_those_in_scope(world, enterprise, regulator_user):
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING), tick=False) as clock:
        order = issue_order(enterprise, regulator_user)  # due 06-09 10:00
        team = set(Notification.objects.filter(kind=Kind.TASK_ASSIGNED).values_list("user", flat=True))
        clock.move_to(datetime(2025, 6, 10, 9, 0, tzinfo=BEIJING))
        schedule_run()  # overdue (business and the order's inspectors), and the digest of 06-09
        workflow.order_escalate(order=order, actor=regulator_user, note="did not rectify")
        flood = ComplaintFlood.objects.create(
            enterprise=enterprise, day=datetime(2025, 6, 10).date(), received=60
        )
        complaint_flood_suspected.send(sender=ComplaintFlood, flood=flood)
        dispatch_due()

    told = lambda kind: {n.user_id for n in Notification.objects.filter(kind=kind)}  # noqa: E731
    ids = {name: user.pk for name, user in world.items()}
    regulators = {ids["city_market"], ids["chaoyang"], ids["city_fire"]}
    assert told(Kind.ORDER_OVERDUE) == {ids["member"], *team}
    assert told(Kind.OVERDUE_DIGEST) == regulators
    assert told(Kind.ORDER_ESCALATED) == {ids["member"], *regulators}
    assert told(Kind.COMPLAINT_FLOOD) == regulators
    # The rule, for every notification written: its reader may open its record and its enterprise.
    for notification in Notification.objects.select_related("user"):
        user = notification.user
        assert may_receive(user, record_type=notification.record_type, record_id=notification.record_id)
        if notification.enterprise_id:
            assert can_see_enterprise(user, notification.enterprise)
    # And those out of scope got nothing at all, on any channel.
    strangers = [world[name] for name in OUT_OF_SCOPE]
    assert not Notification.objects.filter(user__in=strangers).exists()
    assert not [m for m in mail.outbox if m.to[0] in {u.email for u in strangers}]


def test_a_recipient_who_lost_the_scope_before_sending_is_not_sent_anything(
    world, enterprise, regulator_user
):
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING), tick=False):
        leaving = with_prefs(MembershipFactory(enterprise=enterprise).user, email="leaving@shop.cn")
        order = issue_order(enterprise, regulator_user)
        moved = order.inspection.task.inspectors.first()
        with_prefs(moved.user, email="moved@gov.cn")
    # Both were written to the outbox; before it is sent, one left the business, one the district.
    assert Delivery.objects.filter(notification__user=leaving).exists()
    EnterpriseMembership.objects.filter(user=leaving).delete()
    moved.districts.set(District.objects.filter(code="110108"))
    with time_machine.travel(datetime(2025, 6, 9, 11, 0, tzinfo=BEIJING), tick=False):
        schedule_run()  # overdue: the moved inspector is not even written any more
    sent_to = {m.to[0] for m in mail.outbox}
    assert "leaving@shop.cn" not in sent_to and "moved@gov.cn" not in sent_to
    skipped = Delivery.objects.get(notification__user=leaving, notification__kind=Kind.ORDER_ISSUED)
    assert skipped.status == Delivery.Status.SKIPPED
    assert skipped.provider_answer == "the recipient no longer has this record in scope"
    assert not Notification.objects.filter(user=moved.user, kind=Kind.ORDER_OVERDUE).exists()
    # Their inbox no longer shows what is about the enterprise either.
    assert Notification.objects.filter(user=leaving).exists()
    assert not inbox(user=leaving).exists()
    assert inbox(user=world["member"]).filter(kind=Kind.ORDER_ISSUED).exists()


def test_a_task_is_told_to_its_own_inspectors_only(world, enterprise, regulator_user):
    issue_order(enterprise, regulator_user)
    told = set(Notification.objects.filter(kind=Kind.TASK_ASSIGNED).values_list("user", flat=True))
    assert len(told) == 2
    assert world["idle_inspector"].pk not in told and world["haidian_inspector"].pk not in told
    assert all(
        may_receive(u, record_type="task", record_id=n.record_id)
        for n in Notification.objects.filter(kind=Kind.TASK_ASSIGNED).select_related("user")
        for u in [n.user]
    )
