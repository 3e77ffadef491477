"""An enterprise's timeline (core.timeline): its submitted inspections with their conclusion and
findings, and its rectification orders from issue to closure (issued, answered, accepted and
closed, rejected and returned, overdue, escalated).

The rows follow inspections_visible_to and orders_visible_to: the business's members and
officials with the enterprise in scope. The public's part of an inspection (its published result)
is contributed by supervision.publication.
"""

from collections import defaultdict
from datetime import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from checklists.models import Severity
from core.models import Enterprise
from core.permissions import roles_of
from core.timeline import Entry, joined, local_minute, newest_rows, say
from supervision.inspections.permissions import inspections_visible_to, orders_visible_to
from supervision.models import Finding, Inspection, InspectionTask, Rectification, RectificationOrder

FINDINGS = _("findings: %(critical)s critical, %(major)s major, %(minor)s minor")
CONCLUSIONS = dict(Inspection.Conclusion.choices)


def conclusion_label(conclusion: str):
    """The conclusion in words (lazy), for supervision.publication's entries too."""
    return CONCLUSIONS.get(conclusion, conclusion)


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    return _inspection_entries(enterprise, viewer, limit) + _order_entries(enterprise, viewer, limit, now)


# --- inspections -----------------------------------------------------------------------------------------


def _departments_seen(viewer, inspections: list[Inspection]) -> dict[int, set[int] | None]:
    """inspection_departments_visible for a page of records in at most one query: whose checklist
    items' findings the viewer counts on each (None: all of them). Same rule: admins, the business,
    regulators without a department and the record's assigned inspectors see every item; other
    officials their own department's."""
    roles = roles_of(viewer)
    every = {inspection.pk: None for inspection in inspections}
    if roles.is_admin or (roles.regulator is not None and roles.regulator.department_id is None):
        return every
    if inspections and inspections[0].enterprise_id in roles.enterprise_ids:
        return every
    assigned: set[int] = set()
    if roles.inspector is not None:
        assigned = set(
            InspectionTask.inspectors.through.objects.filter(
                inspectiontask_id__in=[inspection.task_id for inspection in inspections],
                inspector_id=roles.inspector.pk,
            ).values_list("inspectiontask_id", flat=True)
        )
    own = {official.department_id for official in (roles.regulator, roles.inspector) if official is not None}
    return {inspection.pk: None if inspection.task_id in assigned else own for inspection in inspections}


def _findings_by_severity(viewer, inspections: list[Inspection]) -> dict[int, dict[str, int]]:
    seen = _departments_seen(viewer, inspections)
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
        departments = seen[inspection_id]
        if departments is None or department_id in departments:
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

    orders = newest_rows(
        orders_visible_to(viewer)
        .filter(enterprise=enterprise)
        .only("pk", "number", "status", "deadline", "issued_at", "escalated_at", "case_note")
        .annotate(findings_n=Count("findings")),
        limit=limit,
        born="issued_at",
        later=later,
    )
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
                        n=order.findings_n,
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
