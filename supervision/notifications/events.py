"""The events about orders and tasks, as the receivers and the scheduled job both tell them: the
record, its page and the values of the texts (catalogue)."""

from django.urls import reverse

from supervision.models import InspectionTask, RectificationOrder
from supervision.notifications.outbox import Event
from supervision.notifications.recipients import team


def order_event(order: RectificationOrder, kind: str, key: str, users, **params) -> Event:
    return Event(
        kind=kind,
        key=key,
        users=users,
        enterprise_id=order.enterprise_id,
        record_type="order",
        record_id=order.pk,
        link=reverse("loop:order", args=[order.pk]),
        params={
            "number": order.number,
            "deadline": order.deadline.isoformat(),
            "enterprise": order.enterprise.name,
            **params,
        },
    )


def task_event(task: InspectionTask, kind: str, key: str, **params) -> Event:
    """To the task's inspectors; their page is the day's task list (there is no page per task)."""
    return Event(
        kind=kind,
        key=key,
        users=team(task),
        enterprise_id=task.enterprise_id,
        record_type="task",
        record_id=task.pk,
        link=reverse("loop:today"),
        params={
            "task": task.pk,
            "enterprise": task.enterprise.name,
            "address": task.enterprise.address,
            "due_from": task.due_from.isoformat(),
            "due_to": task.due_to.isoformat(),
            **params,
        },
    )
