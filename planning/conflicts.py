"""Declared conflicts of interest (回避): an inspector declares their own; draws and plans avoid
the pair while the declaration is in force; the inspector ends it when the reason is gone."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record
from core.errors import NotFound
from core.models import Enterprise
from planning.common import forbidden, refuse
from planning.models import ConflictDeclaration

REASON_MAX = 300


def conflict_declare(*, actor, enterprise: Enterprise, reason: str) -> ConflictDeclaration:
    inspector = permissions.roles_of(actor).inspector
    if inspector is None:
        raise forbidden()
    if not permissions.can_see_enterprise(actor, enterprise):
        raise NotFound(_("No such enterprise."), code="not_found")
    reason = (reason or "").strip()
    if not reason:
        raise refuse(_("Say what the conflict of interest is."), "reason_required")
    if len(reason) > REASON_MAX:
        raise refuse(_("At most %(n)d characters.") % {"n": REASON_MAX}, "reason_too_long")
    try:
        with transaction.atomic():
            declaration = ConflictDeclaration.objects.create(
                inspector=inspector, enterprise=enterprise, reason=reason, declared_by=actor
            )
            audit_record(
                actor=actor,
                action="conflict.declare",
                target=declaration,
                data={"inspector": inspector.certificate_no, "enterprise": enterprise.uscc, "reason": reason},
            )
    except IntegrityError:
        raise refuse(
            _("You have already declared a conflict with this enterprise."), "already_declared", 409
        ) from None
    return declaration


@transaction.atomic
def conflict_end(*, actor, declaration: ConflictDeclaration) -> ConflictDeclaration:
    """The declaring inspector ends their declaration (the reason for it is gone)."""
    declaration = ConflictDeclaration.objects.select_for_update().get(pk=declaration.pk)
    inspector = permissions.roles_of(actor).inspector
    if inspector is None or inspector.pk != declaration.inspector_id:
        raise forbidden()
    if declaration.ended_at is not None:
        raise refuse(_("This declaration has already ended."), "already_ended", 409)
    declaration.ended_at, declaration.ended_by = timezone.now(), actor
    declaration.save(update_fields=["ended_at", "ended_by"])
    audit_record(actor=actor, action="conflict.end", target=declaration, data={})
    return declaration
