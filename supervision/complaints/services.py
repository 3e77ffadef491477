"""Co-governance: regulators triage the complaints the public sends from the card (intake.py).

    new -> dismissed (with a reason)
        -> duplicate (merged into an earlier complaint about the same thing)
        -> tasked (a complaint-sourced inspection task) -> verified   (its inspection found something)
                                                        -> unfounded  (it passed, nothing found)

Only a new complaint is triaged; each transition locks the row, is audited in the same
transaction (never with the reporter's contact: the audit chain is read more widely than
complaints are) and rescores the enterprise once it commits, since verified complaints weigh
most in the risk score and dismissed, duplicate and unfounded ones not at all.
"""

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record
from core.errors import DomainError
from core.models import Complaint, Inspector
from core.signals import enterprise_changed
from supervision.complaints.permissions import can_triage_complaint
from supervision.complaints.signals import complaint_triaged
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionTask

REASON_MAX = 500  # Complaint.triage_note
TASK_NOTE_MAX = 2000  # InspectionTask.note


class TriageError(DomainError):
    """A refused triage. ``code`` says which rule refused it."""


def _refuse(message: str, code: str, status: int = 409) -> TriageError:
    return TriageError(message, code=code, status=status)


def _lock(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update(of=("self",)).select_related("enterprise").get(pk=complaint.pk)


def _check_triage(actor, complaint: Complaint) -> None:
    """The gate, then the state: only a regulator in scope triages, and only a new complaint."""
    if not can_triage_complaint(actor, complaint):
        raise _refuse(_("You may not do this."), "forbidden", 403)
    if complaint.status != Complaint.Status.NEW:
        raise _refuse(
            _("This complaint has already been triaged (%(status)s).")
            % {"status": complaint.get_status_display()},
            "not_new",
        )


def complaint_triage_check(*, complaint: Complaint, actor) -> None:
    """The same gate, for a caller that must refuse the user before it reads the rest of the request
    (the API resolving inspector ids); the transitions check again under their lock."""
    _check_triage(actor, complaint)


def _triaged(complaint: Complaint, actor, status: str, *, note: str = "", duplicate_of=None) -> None:
    complaint.status, complaint.triaged_at, complaint.triaged_by = status, timezone.now(), actor
    complaint.triage_note, complaint.duplicate_of = note, duplicate_of
    complaint.save(update_fields=["status", "triaged_at", "triaged_by", "triage_note", "duplicate_of"])
    complaint_triaged.send(sender=Complaint, complaint=complaint, actor=actor, status=status)


# --- triage ------------------------------------------------------------------------------------------


@transaction.atomic
def complaint_dismiss(*, complaint: Complaint, actor, reason: str) -> Complaint:
    """Nothing to inspect (not the business's matter, no substance): closed, with the reason."""
    complaint = _lock(complaint)
    _check_triage(actor, complaint)
    reason = (reason or "").strip()
    if not reason:
        raise _refuse(_("Say why the complaint is dismissed."), "reason_required", 422)
    if len(reason) > REASON_MAX:
        raise _refuse(_("At most %(n)d characters.") % {"n": REASON_MAX}, "reason_too_long", 422)
    _triaged(complaint, actor, Complaint.Status.DISMISSED, note=reason)
    audit_record(actor=actor, action="complaint.dismiss", target=complaint, data={"reason": reason})
    enterprise_changed.send(sender=Complaint, enterprise_id=complaint.enterprise_id)
    return complaint


@transaction.atomic
def complaint_merge(*, complaint: Complaint, actor, into: Complaint | None) -> Complaint:
    """The same matter as an earlier complaint about the same enterprise: counted once, through
    ``into`` (None: the caller could not find the one named). Complaints already merged into this
    one move on to ``into`` with it, so a duplicate always points at a complaint that is not one
    (no chains, hence no cycles)."""
    # Both rows, in id order: two regulators merging a pair both ways cannot deadlock.
    ids = {complaint.pk} | ({into.pk} if into is not None else set())
    locked = {
        c.pk: c
        for c in Complaint.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    complaint = locked[complaint.pk]
    _check_triage(actor, complaint)
    if into is None:
        raise _refuse(_("Choose the earlier complaint to merge into."), "merge_target_unknown", 422)
    if into.pk == complaint.pk:
        raise _refuse(_("A complaint cannot be merged into itself."), "merge_into_self", 422)
    into = locked[into.pk]
    if into.enterprise_id != complaint.enterprise_id:
        raise _refuse(
            _("Only complaints about the same enterprise can be merged."), "merge_other_enterprise", 422
        )
    if into.status == Complaint.Status.DUPLICATE:
        raise _refuse(
            _("That complaint is itself a duplicate; merge into the one it duplicates."),
            "merge_into_duplicate",
            422,
        )
    moved = list(Complaint.objects.filter(duplicate_of=complaint).order_by("pk").values_list("pk", flat=True))
    Complaint.objects.filter(pk__in=moved).update(duplicate_of=into)
    _triaged(complaint, actor, Complaint.Status.DUPLICATE, duplicate_of=into)
    audit_record(
        actor=actor,
        action="complaint.merge",
        target=complaint,
        data={"into": into.pk, "moved": moved},
    )
    enterprise_changed.send(sender=Complaint, enterprise_id=complaint.enterprise_id)
    return complaint


@transaction.atomic
def complaint_to_task(
    *,
    complaint: Complaint,
    actor,
    inspectors: Sequence[Inspector],
    due_from: date | None,
    due_to: date | None,
    department: str = "",
    note: str = "",
) -> InspectionTask:
    """Send inspectors to check the complaint: a complaint-sourced task, under workflow.task_create's
    rules (two inspectors with jurisdiction, a window not in the past), refused whole otherwise.

    ``department`` (a code) leads the visit, so its checklist is used; one of the inspectors must
    belong to it. Without it, the regulator's own department leads when one of the inspectors is
    from it, else the first inspector's. ``due_from`` / ``due_to`` None: the caller could not read them."""
    complaint = _lock(complaint)
    _check_triage(actor, complaint)
    if due_from is None or due_to is None:
        raise _refuse(_("Give both dates of the due window."), "invalid_date", 422)
    team = list({inspector.pk: inspector for inspector in inspectors}.values())
    lead = None
    if department.strip():
        lead = complaint.enterprise.scene.departments.filter(code=department.strip()).first()
        if lead is None:
            raise _refuse(
                _("%(code)s does not supervise this enterprise's scene.") % {"code": department.strip()},
                "unknown_department",
                422,
            )
        if not any(inspector.department_id == lead.pk for inspector in team):
            raise _refuse(
                _("At least one inspector must belong to the leading department."),
                "department_not_in_team",
                422,
            )
    else:
        own = permissions.roles_of(actor).regulator
        own_department = own.department_id if own else None
        if own_department:
            lead = next((i.department for i in team if i.department_id == own_department), None)
    # The complaint's own words reach the inspectors through task.complaint (origin_text).
    note = (note or "").strip()[:TASK_NOTE_MAX]
    # task_create refuses (and, inside this transaction, writes nothing) a team that is too small
    # or out of jurisdiction, or a window in the past.
    task = workflow.task_create(
        actor=actor,
        enterprise=complaint.enterprise,
        inspectors=team,
        due_from=due_from,
        due_to=due_to,
        source=InspectionTask.Source.COMPLAINT,
        note=note,
    )
    task.complaint = complaint
    if lead is not None:
        task.department = lead
    task.save(update_fields=["complaint", "department"])
    _triaged(complaint, actor, Complaint.Status.TASKED)
    audit_record(
        actor=actor,
        action="complaint.task",
        target=complaint,
        data={"task": task.pk, "department": task.department.code},
    )
    enterprise_changed.send(sender=Complaint, enterprise_id=complaint.enterprise_id)
    return task


def complaint_verify(*, inspection: Inspection, actor, findings: int) -> Complaint | None:
    """Called by workflow inspection submit, inside its transaction, for a task that checks a
    complaint: anything found (findings, or a conclusion other than pass) verifies it; a pass with
    no findings leaves it unfounded. The submit rescores the enterprise after commit, which then
    reads the new status. A complaint no longer waiting for its task is left as it is."""
    complaint = Complaint.objects.select_for_update().filter(pk=inspection.task.complaint_id).first()
    if complaint is None or complaint.status != Complaint.Status.TASKED:
        return None
    found = findings > 0 or inspection.conclusion != Inspection.Conclusion.PASS
    complaint.status = Complaint.Status.VERIFIED if found else Complaint.Status.UNFOUNDED
    complaint.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="complaint.verify",
        target=complaint,
        data={
            "inspection": inspection.pk,
            "outcome": complaint.status,
            "findings": findings,
            "conclusion": inspection.conclusion,
        },
    )
    return complaint
