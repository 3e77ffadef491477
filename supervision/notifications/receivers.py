"""The features' signals turned into notifications, inside the transaction that sent them
(connected in apps.py). Each receiver says who is concerned and what to tell them; outbox.notify
writes it, narrowed by the features' permission rules.

What a complainant is told comes from the public card only: the enterprise's name, the report's
number and what became of it (received, checked on site, closed, joined to another report).
Never a finding, a conclusion, a regulator's reason or anything else the business need not let
the public know.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from core.models import Complaint, IdentityCode
from supervision.models import (
    Inspection,
    InspectionTask,
    Notification,
    NotificationKind,
    NotificationSettings,
    RectificationOrder,
)
from supervision.notifications.catalogue import bilingual
from supervision.notifications.events import order_event, task_event
from supervision.notifications.outbox import Event, notify
from supervision.notifications.recipients import members, order_team, regulators_over

Kind = NotificationKind
# The window supervision.complaints.floods counts a flood in (COMPLAINT_FLOOD_PER_DAY reports).
FLOOD_HOURS = 24


# --- orders ------------------------------------------------------------------------------------------------


def order_issued(order: RectificationOrder) -> None:
    findings = [
        {
            "code": f.item.code,
            "question": bilingual(f.item.question, f.item.question_en),
            "severity": f.severity,
        }
        for f in order.findings.select_related("item").order_by(
            "item__checklist__department__code", "item__position"
        )
    ]
    notify(
        order_event(
            order,
            Kind.ORDER_ISSUED,
            f"order.issued:{order.pk}",
            members(order.enterprise_id),
            findings=findings,
        )
    )


def on_inspection_submitted(sender, *, inspection: Inspection, **kwargs) -> None:
    order = RectificationOrder.objects.select_related("enterprise").filter(inspection=inspection).first()
    if order is not None:
        order_issued(order)
    if inspection.task.complaint_id:
        # The complaint and those merged into it: each reporter hears that it was checked on site.
        reports = Complaint.objects.filter(pk=inspection.task.complaint_id) | Complaint.objects.filter(
            duplicate_of_id=inspection.task.complaint_id
        )
        for complaint in reports.select_related("enterprise"):
            tell_complainant(complaint, "inspected")


def on_rectification_submitted(sender, *, order: RectificationOrder, rectification, **kwargs) -> None:
    late = rectification.submitted_at > order.deadline
    notify(
        order_event(
            order,
            Kind.RECTIFICATION_SUBMITTED,
            f"rectification.submitted:{rectification.pk}",
            order_team(order),
            late=late,
        )
    )


def on_rectification_decided(sender, *, order: RectificationOrder, rectification, accepted: bool, **kwargs):
    key = f"rectification.decided:{rectification.pk}"
    if accepted:
        notify(order_event(order, Kind.ORDER_CLOSED, key, members(order.enterprise_id)))
    else:
        reason = rectification.review_note
        notify(
            order_event(order, Kind.RECTIFICATION_REJECTED, key, members(order.enterprise_id), reason=reason)
        )


def on_order_escalated(sender, *, order: RectificationOrder, **kwargs) -> None:
    users = [*members(order.enterprise_id), *regulators_over(order.enterprise)]
    notify(order_event(order, Kind.ORDER_ESCALATED, f"order.escalated:{order.pk}", users))


# --- tasks -------------------------------------------------------------------------------------------------


def on_task_assigned(sender, *, task: InspectionTask, **kwargs) -> None:
    if task.origin_order_id:
        event = task_event(
            task, Kind.REINSPECTION_PLANNED, f"task.assigned:{task.pk}", number=task.origin_order.number
        )
    else:
        event = task_event(task, Kind.TASK_ASSIGNED, f"task.assigned:{task.pk}")
    notify(event)


def on_task_moved(sender, *, task: InspectionTask, **kwargs) -> None:
    # Keyed by the new window: told once per change; an inspector who joined is told too.
    notify(task_event(task, Kind.TASK_MOVED, f"task.moved:{task.pk}:{task.due_from}:{task.due_to}"))


def on_task_cancelled(sender, *, task: InspectionTask, **kwargs) -> None:
    notify(task_event(task, Kind.TASK_CANCELLED, f"task.cancelled:{task.pk}", reason=task.cancel_reason))


# --- complaints ------------------------------------------------------------------------------------------


def _public_card(enterprise_id: int) -> str:
    code = IdentityCode.objects.filter(enterprise_id=enterprise_id, status=IdentityCode.Status.ACTIVE).first()
    return reverse("landing", args=[code.token]) if code else ""


def _complainant_language(complaint: Complaint) -> str:
    """The language the report was written in (kept on the notification of its receipt)."""
    received = (
        Notification.objects.filter(event_key=f"complaint.received:{complaint.pk}")
        .values_list("language", flat=True)
        .first()
    )
    return received or settings.LANGUAGE_CODE


def tell_complainant(complaint: Complaint, outcome: str, *, language: str = "") -> None:
    """``outcome``: received, inspected, dismissed or merged. To the reporter's account if they were
    signed in, and to the contact they left if it is a phone number or an email address."""
    received = outcome == "received"
    notify(
        Event(
            kind=Kind.COMPLAINT_RECEIVED if received else Kind.COMPLAINT_OUTCOME,
            key=f"complaint.received:{complaint.pk}" if received else f"complaint.{outcome}:{complaint.pk}",
            users=[complaint.reporter] if complaint.reporter_id else [],
            addresses=[complaint.contact] if complaint.contact else [],
            language=language or _complainant_language(complaint),
            # No enterprise, no record: nothing here is more than the public card shows.
            link=_public_card(complaint.enterprise_id),
            params={
                "complaint": complaint.pk,
                "enterprise": complaint.enterprise.name,
                **({} if received else {"outcome": outcome}),
            },
        )
    )


def on_complaint_received(sender, *, complaint: Complaint, **kwargs) -> None:
    # Sent in the request that received the report: the active language is the reporter's.
    tell_complainant(complaint, "received", language=translation.get_language() or settings.LANGUAGE_CODE)


def on_complaint_triaged(sender, *, complaint: Complaint, status: str, **kwargs) -> None:
    # A complaint sent to inspectors is told nothing yet: an announced inspection is no inspection.
    outcome = {Complaint.Status.DISMISSED: "dismissed", Complaint.Status.DUPLICATE: "merged"}.get(status)
    if outcome:
        tell_complainant(complaint, outcome)


def on_complaint_flood(sender, *, flood, **kwargs) -> None:
    """A possible flood of reports about one enterprise (core.models.ComplaintFlood, flagged once per
    enterprise and local day): the regulators who triage its complaints."""
    enterprise = flood.enterprise
    notify(
        Event(
            kind=Kind.COMPLAINT_FLOOD,
            key=f"complaint.flood:{enterprise.pk}:{flood.day}",
            users=regulators_over(enterprise),
            enterprise_id=enterprise.pk,
            record_type="complaint_desk",
            record_id=enterprise.pk,
            link=f"{reverse('complaints:list')}?enterprise={enterprise.uscc}",
            params={"enterprise": enterprise.name, "count": flood.received, "hours": FLOOD_HOURS},
        )
    )


# --- sign-in ---------------------------------------------------------------------------------------------


def on_user_logged_in(sender, *, request, user, **kwargs) -> None:
    """Remember the language a user signs in with: their email and SMS speak it unless they chose one."""
    language = getattr(request, "LANGUAGE_CODE", "") or translation.get_language() or ""
    if language not in dict(settings.LANGUAGES):
        return
    if (
        not NotificationSettings.objects.filter(user=user)
        .exclude(signin_language=language)
        .update(signin_language=language)
    ):
        NotificationSettings.objects.get_or_create(user=user, defaults={"signin_language": language})
