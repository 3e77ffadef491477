"""一公开, the writes: the business's objection to a published result, and its decision.

Objections (supervision.models.Objection), the rules:
- only to a published result (past the delay, of a published source), by a member of the
  inspected business, with a reason; once per inspection, whatever the decision. A published
  result stays published, so there is no deadline after publication;
- a regulator with the enterprise in scope (or an admin) decides: upheld, with the correction the
  public then sees next to the result, marked "corrected after objection" (the inspection record
  itself is hash-chained and never changes), or rejected, with the reason. Both are audited.

Which results are public, and what anyone sees of them, is read in selectors.py.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record
from core.errors import DomainError
from supervision.models import Inspection, Objection
from supervision.publication.permissions import can_decide_objection

# The reads live in selectors.py; supervision.landing.panels and the tests still import these from here.
from supervision.publication.selectors import goes_public_at as goes_public_at
from supervision.publication.selectors import is_published
from supervision.publication.selectors import own_results as own_results
from supervision.publication.selectors import public_rows as public_rows
from supervision.publication.selectors import public_tier as public_tier
from supervision.publication.selectors import published_inspections as published_inspections
from supervision.publication.selectors import published_list as published_list
from supervision.publication.selectors import published_results_for as published_results_for

TEXT_MAX = 2000  # Objection.reason, .correction, .decision_note


class PublicationError(DomainError):
    """A refused objection or decision. ``code`` says which rule refused it."""


def _refuse(message: str, code: str, status: int = 409) -> PublicationError:
    return PublicationError(message, code=code, status=status)


# --- objections ----------------------------------------------------------------------------------------


def _text(value: str, *, required: str, code: str) -> str:
    value = (value or "").strip()
    if not value:
        raise _refuse(required, code, 422)
    if len(value) > TEXT_MAX:
        raise _refuse(_("At most %(n)d characters.") % {"n": TEXT_MAX}, "text_too_long", 422)
    return value


def objection_submit(*, inspection: Inspection, actor, reason: str, now: datetime | None = None) -> Objection:
    """A member objects to a published result of their business, once."""
    if not permissions.is_member(actor, inspection.enterprise):
        raise _refuse(_("Only the inspected business objects to its result."), "not_member", 403)
    if not is_published(inspection, now=now):
        raise _refuse(_("Only a published result can be objected to."), "not_published")
    if Objection.objects.filter(inspection=inspection).exists():
        raise _refuse(_("This result has already been objected to."), "already_objected")
    reason = _text(reason, required=_("Say what is wrong with the result."), code="reason_required")
    try:
        with transaction.atomic():
            objection = Objection.objects.create(
                inspection=inspection, enterprise=inspection.enterprise, reason=reason, created_by=actor
            )
            audit_record(
                actor=actor,
                action="objection.submit",
                target=objection,
                data={"inspection": inspection.pk, "enterprise": inspection.enterprise.uscc},
            )
    except IntegrityError:
        # Two members (or a retried request) at the same moment: the first one counts.
        raise _refuse(_("This result has already been objected to."), "already_objected") from None
    return objection


@transaction.atomic
def objection_decide(
    *,
    inspection: Inspection,
    actor,
    upheld: bool | None,
    note: str = "",
    correction: str = "",
    corrected_conclusion: str = "",
) -> Objection:
    """Upheld: the public sees ``correction`` (and ``corrected_conclusion``, if given) next to the
    result, marked as corrected after objection. Rejected: ``note`` says why. ``upheld`` None: the
    caller could not read a decision."""
    if not can_decide_objection(actor, inspection.enterprise):
        raise _refuse(_("You may not do this."), "forbidden", 403)
    objection = Objection.objects.select_for_update().filter(inspection=inspection).first()
    if objection is None:
        raise _refuse(_("There is no objection to this result."), "no_objection")
    if objection.status != Objection.Status.PENDING:
        raise _refuse(_("This objection has already been decided."), "already_decided")
    if upheld is None:
        raise _refuse(_("Uphold or reject the objection."), "decision_required", 422)
    note = (note or "").strip()
    if upheld:
        correction = _text(
            correction, required=_("Write the correction the public will see."), code="correction_required"
        )
        if corrected_conclusion and corrected_conclusion not in Inspection.Conclusion.values:
            raise _refuse(_("Conclude with pass, rectify or refer."), "invalid_conclusion", 422)
        if corrected_conclusion == inspection.conclusion:
            corrected_conclusion = ""
        if len(note) > TEXT_MAX:
            raise _refuse(_("At most %(n)d characters.") % {"n": TEXT_MAX}, "text_too_long", 422)
    else:
        note = _text(note, required=_("Say why the objection is rejected."), code="reason_required")
        correction, corrected_conclusion = "", ""
    objection.status = Objection.Status.UPHELD if upheld else Objection.Status.REJECTED
    objection.decided_by, objection.decided_at = actor, timezone.now()
    objection.correction, objection.corrected_conclusion = correction, corrected_conclusion
    objection.decision_note = note
    objection.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "correction",
            "corrected_conclusion",
            "decision_note",
        ]
    )
    audit_record(
        actor=actor,
        action="objection.decide",
        target=objection,
        data={
            "inspection": inspection.pk,
            "upheld": upheld,
            "correction": correction,
            "corrected_conclusion": corrected_conclusion,
            "note": note,
        },
    )
    return objection
