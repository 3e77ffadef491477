"""The inspection loop's panels on the scan landing and the business home page
(composed in supervision.landing)."""

from core.models import Enterprise
from core.permissions import roles_of
from supervision.inspections.permissions import inspections_visible_to, orders_visible_to, tasks_visible_to
from supervision.models import Inspection, InspectionTask, RectificationOrder


def inspector_panel(*, user, enterprise: Enterprise) -> dict:
    """The entity card's actions: the viewer's own open tasks here (each one a "Start inspection"),
    and the enterprise's open orders."""
    inspector = roles_of(user).inspector
    tasks = (
        tasks_visible_to(user)
        .filter(
            enterprise=enterprise,
            inspectors=inspector,
            status__in=(InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS),
        )
        .order_by("due_to", "pk")[:10]
        if inspector
        else []
    )
    return {
        "my_tasks": list(tasks),
        "open_orders": list(
            orders_visible_to(user)
            .filter(enterprise=enterprise, status__in=RectificationOrder.OPEN)
            .order_by("deadline")[:10]
        ),
    }


def business_panel(*, user, enterprise: Enterprise) -> dict:
    """What a member sees first: the orders waiting for the business (or for the inspector's
    check), the latest inspections, and the latest one still to be rated (一业一评).
    The business home page shows it per enterprise too."""
    status = RectificationOrder.Status
    submitted = (
        inspections_visible_to(user)
        .filter(enterprise=enterprise, status=Inspection.Status.SUBMITTED)
        .order_by("-submitted_at")
    )
    return {
        "open_orders": list(
            orders_visible_to(user)
            .filter(enterprise=enterprise, status__in=(status.ISSUED, status.SUBMITTED, status.RETURNED))
            .order_by("deadline")[:10]
        ),
        "recent_inspections": list(submitted[:5]),
        "unrated_inspection": submitted.filter(evaluation__isnull=True).first(),
    }
