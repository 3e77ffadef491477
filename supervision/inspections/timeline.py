"""An enterprise's timeline (core.timeline): its submitted inspections with their conclusion and
findings, and its rectification orders from issue to closure (issued, answered, accepted and
closed, rejected and returned, overdue, escalated).

The rows follow inspections_visible_to and orders_visible_to: the business's members and
officials with the enterprise in scope. The public's part of an inspection (its published result)
is contributed by supervision.publication.
"""

from collections import defaultdict
from datetime import datetime

from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from checklists.models import Severity
from core.models import Enterprise
from core.timeline import Entry, joined, local_minute, newest_rows, say
from supervision.inspections.permissions import (
    department_wall,
    inspections_visible_to,
    item_walls,
    orders_visible_to,
)
from supervision.models import Finding, Inspection, Rectification, RectificationOrder

FINDINGS = _("findings: %(critical)s critical, %(major)s major, %(minor)s minor")
CONCLUSIONS = dict(Inspection.Conclusion.choices)


def conclusion_label(conclusion: str):
    """The conclusion in words (lazy), for supervision.publication's entries too."""
    return CONCLUSIONS.get(conclusion, conclusion)


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    return _inspection_entries(enterprise, viewer, limit) + _order_entries(enterprise, viewer, limit, now)


# --- inspections -----------------------------------------------------------------------------------------


def _findings_by_severity(viewer, inspections: list[Inspection]) -> dict[int, dict[str, int]]:
    # The department walls: the viewer counts the findings of the items they see (permissions.item_walls).
    walls = item_walls(viewer, inspections)
    counts: dict[int, dict[str, int]] = {inspection.pk: defaultdict(int) for inspection in inspections}
    if not inspections:
        return counts
    rows = (
        Finding.objects.filter(inspection_id__in=counts)
        .values_list("inspection_id", "severity", "item__checklist__department_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for inspection_id, severity, department_id, n in rows:
        if walls[inspection_id].allows(department_id):
            counts[inspection_id][severity] += n
    return counts


def _inspection_entries(enterprise: Enterprise, viewer, limit: int) -> list[Entry]:
    inspections = list(
        inspections_visible_to(viewer)
        .filter(enterprise=enterprise, status=Inspection.Status.SUBMITTED)
        .only("pk", "enterprise_id", "task_id", "conclusion", "submitted_at")
        .order_by("-submitted_at", "-pk")[:limit]
    )
    counts = _findings_by_severity(viewer, inspections)
    found = []
    for inspection in inspections:
        severities = counts[inspection.pk]
        conclusion = conclusion_label(inspection.conclusion)
        found.append(
            Entry(
                inspection.submitted_at,
                "inspection",
                say(_("Inspected: %(conclusion)s"), conclusion=conclusion),
                say(
                    FINDINGS,
                    critical=severities[Severity.CRITICAL],
                    major=severities[Severity.MAJOR],
                    minor=severities[Severity.MINOR],
                ),
                reverse("loop:inspection", args=[inspection.pk]),
                inspection.pk,
            )
        )
    return found


# --- rectification orders ---------------------------------------------------------------------------------


def _owed_at_deadline(order: RectificationOrder, rectifications: list[Rectification]) -> bool:
    """Whether the business still owed an answer when the deadline passed (the rule of
    inspections.selectors.overdue_q, read back in time): no rectification was then waiting for
    verification or already accepted."""
    for rectification in rectifications:
        if rectification.submitted_at > order.deadline:
            continue
        if rectification.reviewed_at is None or rectification.reviewed_at > order.deadline:
            return False
        if rectification.status == Rectification.Status.ACCEPTED:
            return False
    return True


def _findings_seen(viewer, orders: list[RectificationOrder]) -> dict[int, int]:
    """Findings per order that the viewer sees (the department walls, permissions.item_walls): the
    order rows carry both counts, all findings and those of the viewer's own departments; the
    record's wall says which applies (its business and its inspectors see every item)."""
    records = [
        Inspection(
            pk=order.inspection_id, task_id=order.inspection_task_id, enterprise_id=order.enterprise_id
        )
        for order in orders
    ]
    walls = item_walls(viewer, records)
    return {
        order.pk: order.findings_n if walls[order.inspection_id].whole else order.findings_own
        for order in orders
    }


def _order_entries(enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    def later(since: datetime) -> Q:
        return (
            Q(escalated_at__gte=since)
            | Q(deadline__gte=since)
            | Q(
                pk__in=Rectification.objects.filter(
                    Q(submitted_at__gte=since) | Q(reviewed_at__gte=since)
                ).values("order_id")
            )
        )

    own = department_wall(viewer)
    orders = newest_rows(
        orders_visible_to(viewer)
        .filter(enterprise=enterprise)
        .only(
            "pk",
            "number",
            "status",
            "deadline",
            "issued_at",
            "escalated_at",
            "case_note",
            "inspection_id",
            "enterprise_id",
        )
        .annotate(
            findings_n=Count("findings"),
            # The findings of the viewer's own departments, for the records they see behind walls.
            findings_own=Count("findings", filter=own.q("findings__item__checklist__department"))
            if not own.whole
            else Count("findings"),
            inspection_task_id=F("inspection__task_id"),
        ),
        limit=limit,
        born="issued_at",
        later=later,
    )
    findings_n = _findings_seen(viewer, orders)
    answers: dict[int, list[Rectification]] = defaultdict(list)
    for rectification in Rectification.objects.filter(order__in=[order.pk for order in orders]).order_by(
        "submitted_at", "pk"
    ):
        answers[rectification.order_id].append(rectification)
    found = []
    for order in orders:
        url = reverse("loop:order", args=[order.pk])
        number = order.number
        found.append(
            Entry(
                order.issued_at,
                "order_issued",
                say(_("Rectification order %(number)s issued"), number=number),
                joined(
                    say(_("rectify by %(deadline)s"), deadline=local_minute(order.deadline)),
                    say(
                        ngettext_lazy("%(n)d finding to rectify", "%(n)d findings to rectify", "n"),
                        n=findings_n[order.pk],
                    ),
                ),
                url,
                order.pk,
            )
        )
        for rectification in answers[order.pk]:
            late = rectification.submitted_at > order.deadline
            found.append(
                Entry(
                    rectification.submitted_at,
                    "order_answered",
                    say(_("Rectification submitted for order %(number)s"), number=number),
                    _("after the deadline") if late else _("within the deadline"),
                    url,
                    order.pk,
                )
            )
            if rectification.status == Rectification.Status.ACCEPTED:
                # Accepting the rectification is what closes the order (order_verify): one entry.
                found.append(
                    Entry(
                        rectification.reviewed_at,
                        "order_closed",
                        say(_("Rectification accepted, order %(number)s closed"), number=number),
                        "",
                        url,
                        order.pk,
                    )
                )
            elif rectification.status == Rectification.Status.REJECTED:
                found.append(
                    Entry(
                        rectification.reviewed_at,
                        "order_returned",
                        say(
                            _("Rectification rejected, order %(number)s returned to the business"),
                            number=number,
                        ),
                        say(_("Reason: %(reason)s"), reason=rectification.review_note),
                        url,
                        order.pk,
                    )
                )
        if order.deadline < now and _owed_at_deadline(order, answers[order.pk]):
            found.append(
                Entry(
                    order.deadline,
                    "order_overdue",
                    say(_("Order %(number)s overdue"), number=number),
                    _("The deadline passed while the business still owed a rectification."),
                    url,
                    order.pk,
                )
            )
        if order.escalated_at is not None:
            found.append(
                Entry(
                    order.escalated_at,
                    "order_escalated",
                    say(_("Order %(number)s escalated to a case"), number=number),
                    order.case_note,
                    url,
                    order.pk,
                )
            )
    return found
