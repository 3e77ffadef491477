"""一业一评: the business rates the inspection it had."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record
from supervision.inspections.services._common import _refuse
from supervision.models import Evaluation, Inspection


def evaluation_submit(*, inspection: Inspection, actor, rating: int, comment: str = "") -> Evaluation:
    """一业一评: the business rates a submitted inspection, once."""
    if not permissions.is_member(actor, inspection.enterprise):
        raise _refuse(_("Only the inspected business rates an inspection."), "not_member", 403)
    if inspection.status != Inspection.Status.SUBMITTED:
        raise _refuse(_("Only a submitted inspection can be rated."), "not_submitted")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _refuse(_("Rate from 1 to 5."), "invalid_rating", 422)
    if len(comment) > 1000:
        raise _refuse(_("At most %(n)d characters.") % {"n": 1000}, "note_too_long", 422)
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                inspection=inspection, rating=rating, comment=comment.strip(), created_by=actor
            )
            audit_record(
                actor=actor, action="inspection.evaluate", target=inspection, data={"rating": rating}
            )
    except IntegrityError:
        raise _refuse(_("This inspection has already been rated."), "already_rated") from None
    return evaluation
