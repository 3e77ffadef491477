"""Inspectors hear of their tasks: assigned, a re-inspection planned, moved by a joint merge, cancelled."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Department
from planning.joint import task_merge_joint
from supervision.inspections import services as workflow
from supervision.models import Notification, NotificationKind
from tests.factories import InspectorFactory, make_task, make_team
from tests.supervision.notifications.builders import issue_order

pytestmark = pytest.mark.django_db
Kind = NotificationKind


def told(kind, task) -> set[int]:
    return set(Notification.objects.filter(kind=kind, record_id=task.pk).values_list("user_id", flat=True))


def test_a_joint_merge_moves_one_task_and_cancels_the_other(enterprise, chaoyang_regulator):
    today = timezone.localdate()
    market = make_team()
    fire = [InspectorFactory(department=Department.objects.get(code="fire_rescue")) for _ in range(2)]
    market_task = make_task(
        enterprise=enterprise, team=market, actor=chaoyang_regulator, due_to=today + timedelta(days=9)
    )
    fire_task = make_task(
        enterprise=enterprise,
        team=fire,
        actor=chaoyang_regulator,
        due_from=today + timedelta(days=2),
        due_to=today + timedelta(days=5),
    )
    assert told(Kind.TASK_ASSIGNED, market_task) == {i.user_id for i in market}
    task_merge_joint(task=market_task, actor=chaoyang_regulator)
    everyone = {i.user_id for i in market + fire}
    assert told(Kind.TASK_MOVED, market_task) == everyone
    [moved] = Notification.objects.filter(kind=Kind.TASK_MOVED, user=market[0].user)
    assert (moved.params["due_from"], moved.params["due_to"]) == (
        str(today + timedelta(days=2)),
        str(today + timedelta(days=5)),
    )
    assert told(Kind.TASK_CANCELLED, fire_task) == {i.user_id for i in fire}
    assert (
        "Merged into joint task"
        in Notification.objects.filter(kind=Kind.TASK_CANCELLED).first().params["reason"]
    )


def test_a_reinspection_is_announced_to_its_team_and_a_cancelled_task_too(enterprise, regulator_user):
    order = issue_order(enterprise, regulator_user)
    lead = order.inspection.task.inspectors.first().user
    again = make_team(prefix="again")
    today = timezone.localdate()
    task = workflow.order_reinspect(order=order, actor=lead, inspectors=again, due_from=today, due_to=today)
    [planned] = Notification.objects.filter(kind=Kind.REINSPECTION_PLANNED, user=again[0].user)
    assert planned.params["number"] == order.number and planned.record_id == task.pk
    assert not Notification.objects.filter(kind=Kind.TASK_ASSIGNED, record_id=task.pk).exists()
    workflow.task_cancel(task=task, actor=regulator_user, reason="the business closed")
    assert told(Kind.TASK_CANCELLED, task) == {i.user_id for i in again}
