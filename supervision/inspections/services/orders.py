"""The loop after the visit: the business answers an order, an inspector verifies it or sends
inspectors back, and an overdue order is escalated to a case."""

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record, content_digest, part_digests
from core.models import Inspector
from core.photos import photos_discard, photos_ingest
from core.signals import enterprise_changed
from supervision.inspections.permissions import order_behind_wall
from supervision.inspections.services._common import NOTE_MAX, _check_photos, _forbidden, _refuse
from supervision.inspections.services.tasks import task_create
from supervision.inspections.signals import order_escalated, rectification_decided, rectification_submitted
from supervision.models import InspectionTask, Rectification, RectificationEntry, RectificationOrder


def _check_wall(actor, order: RectificationOrder) -> None:
    """Officials act only on orders whose every finding they see (the department walls,
    permissions.item_wall): a market inspector does not close, re-inspect or escalate the health
    findings of a joint inspection. The order itself is visible to them (403, not 404)."""
    if order_behind_wall(actor, order):
        raise _refuse(
            _("This order has findings of another department's items; you may not act on them."),
            "other_department_findings",
            403,
        )


def rectification_content(rectification: Rectification) -> dict:
    """What the business certified in answering an order, canonically: its hash goes into the
    "order.rectification_submit" event, and verify_audit recomputes it from the stored rows (with
    the entries prefetched as ``content_entries`` when it checks many at once)."""
    entries = getattr(rectification, "content_entries", None)
    if entries is None:
        entries = rectification.entries.prefetch_related("photos")
    return {
        "note": rectification.note,
        "entries": sorted(
            (
                {"finding": e.finding_id, "text": e.text, "photos": sorted(p.sha256 for p in e.photos.all())}
                for e in entries
            ),
            key=lambda entry: entry["finding"],
        ),
    }


def rectification_submit(
    *, order: RectificationOrder, actor, note: str = "", entries: dict[int, dict]
) -> Rectification:
    """The business answers every finding of the order: what was done, with photos.

    ``entries`` maps finding id to {"text": str, "photos": [uploads]}. Everything is checked
    before anything is written; photos are stored before the row lock and removed again if the
    transaction is refused."""
    if not permissions.is_member(actor, order.enterprise):
        raise _refuse(_("Only the business's own members answer its orders."), "not_member", 403)
    findings = {f.pk: f for f in order.findings.all()}
    unknown = sorted(set(entries) - set(findings))
    if unknown:
        raise _refuse(
            _("These findings are not part of this order."),
            "finding_not_in_order",
            422,
            {"findings": unknown},
        )
    missing = sorted(pk for pk in findings if not (entries.get(pk) or {}).get("text", "").strip())
    if missing:
        raise _refuse(_("Say what was done about every finding."), "incomplete", 422, {"findings": missing})
    if len(note) > NOTE_MAX or any(len(entry["text"]) > NOTE_MAX for entry in entries.values()):
        raise _refuse(_("At most %(n)d characters.") % {"n": NOTE_MAX}, "note_too_long", 422)
    for entry in entries.values():
        _check_photos(entry.get("photos") or [])
    if order.status not in RectificationOrder.OPEN:  # checked again under the lock
        raise _refuse(_("This order is not waiting for the business."), "order_not_open")
    # Decoded only now, all or none: the checks above are cheap, Pillow's work is not.
    ingested = photos_ingest(
        uploads=[u for entry in entries.values() for u in entry.get("photos") or []], uploaded_by=actor
    )
    stored, taken = {}, iter(ingested)
    for pk, entry in entries.items():
        stored[pk] = [next(taken) for _u in entry.get("photos") or []]
    try:
        with transaction.atomic():
            order = RectificationOrder.objects.select_for_update().get(pk=order.pk)
            if order.status not in RectificationOrder.OPEN:
                raise _refuse(_("This order is not waiting for the business."), "order_not_open")
            rectification = Rectification.objects.create(order=order, note=note.strip(), submitted_by=actor)
            for pk, entry in entries.items():
                row = RectificationEntry.objects.create(
                    rectification=rectification, finding=findings[pk], text=entry["text"].strip()
                )
                row.photos.set(stored[pk])
            was_overdue = order.is_overdue
            order.status = RectificationOrder.Status.SUBMITTED
            order.save(update_fields=["status"])
            content = rectification_content(rectification)
            audit_record(
                actor=actor,
                action="order.rectification_submit",
                target=order,
                data={
                    "rectification": rectification.pk,
                    "late": was_overdue,
                    "photos": sorted(p.sha256 for photos in stored.values() for p in photos),
                    "content_hash": content_digest(content),
                    "parts": part_digests(content),
                },
            )
            enterprise_changed.send(sender=RectificationOrder, enterprise_id=order.enterprise_id)
            rectification_submitted.send(
                sender=RectificationOrder, order=order, rectification=rectification, actor=actor
            )
    except Exception:
        photos_discard([p for photos in stored.values() for p in photos])
        raise
    return rectification


@transaction.atomic
def order_verify(*, order: RectificationOrder, actor, accepted: bool, note: str = "") -> RectificationOrder:
    """Close the loop on one order, or send it back to the business with the reason."""
    order = (
        RectificationOrder.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=order.pk)
    )
    if not permissions.can_verify_orders(actor, order.enterprise):
        raise _forbidden()
    _check_wall(actor, order)
    if order.status != RectificationOrder.Status.SUBMITTED:
        raise _refuse(_("This order is not awaiting verification."), "not_submitted")
    if not accepted and not note.strip():
        raise _refuse(_("Say why the rectification is rejected."), "reason_required", 422)
    rectification = Rectification.objects.select_for_update().get(
        order=order, status=Rectification.Status.PENDING
    )
    now = timezone.now()
    rectification.status = Rectification.Status.ACCEPTED if accepted else Rectification.Status.REJECTED
    rectification.reviewed_by, rectification.reviewed_at, rectification.review_note = actor, now, note.strip()
    rectification.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    if accepted:
        order.status, order.closed_at, order.closed_by = RectificationOrder.Status.CLOSED, now, actor
    else:
        order.status = RectificationOrder.Status.RETURNED
    order.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(
        actor=actor,
        action="order.verify",
        target=order,
        data={"accepted": accepted, "note": note.strip(), "within_deadline": now <= order.deadline},
    )
    enterprise_changed.send(sender=RectificationOrder, enterprise_id=order.enterprise_id)
    rectification_decided.send(
        sender=RectificationOrder, order=order, rectification=rectification, accepted=accepted, actor=actor
    )
    return order


def order_reinspect(
    *, order: RectificationOrder, actor, inspectors: Sequence[Inspector], due_from: date, due_to: date
) -> InspectionTask:
    """Instead of verifying remotely, send inspectors back: a re-inspection task tied to the order."""
    if not (
        permissions.can_verify_orders(actor, order.enterprise)
        or permissions.can_plan_tasks(actor, order.enterprise)
    ):
        raise _forbidden()
    _check_wall(actor, order)
    if order.status in (RectificationOrder.Status.CLOSED, RectificationOrder.Status.ESCALATED):
        raise _refuse(_("This order is finished."), "order_finished")
    return task_create(
        actor=actor,
        enterprise=order.enterprise,
        inspectors=inspectors,
        due_from=due_from,
        due_to=due_to,
        source=InspectionTask.Source.REINSPECTION,
        origin_order=order,
    )


@transaction.atomic
def order_escalate(*, order: RectificationOrder, actor, note: str) -> RectificationOrder:
    """An overdue order becomes a case for investigation (立案)."""
    order = (
        RectificationOrder.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=order.pk)
    )
    if not permissions.can_escalate_orders(actor, order.enterprise):
        raise _forbidden()
    _check_wall(actor, order)
    if not order.is_overdue:
        raise _refuse(_("Only an overdue order can be escalated."), "not_overdue")
    if not note.strip():
        raise _refuse(_("Describe the case."), "reason_required", 422)
    order.status, order.escalated_at, order.case_note = (
        RectificationOrder.Status.ESCALATED,
        timezone.now(),
        note.strip()[:300],
    )
    order.save(update_fields=["status", "escalated_at", "case_note"])
    audit_record(actor=actor, action="order.escalate", target=order, data={"note": order.case_note})
    enterprise_changed.send(sender=RectificationOrder, enterprise_id=order.enterprise_id)
    order_escalated.send(sender=RectificationOrder, order=order, actor=actor)
    return order
