"""Who sees which risk plans, draws and conflict-of-interest declarations (core.permissions.planning_scope
says where a user plans)."""

from django.db.models import Q

from core.models import Enterprise
from core.permissions import planning_scope, regulator_q, roles_of
from planning.models import ConflictDeclaration, Draw, RiskPlan


def _planning_records(model, user):
    scope = planning_scope(user)
    if scope is None:
        return model.objects.none()
    qs = model.objects.all()
    if scope.department is not None:
        qs = qs.filter(department=scope.department)
    if scope.district is not None:
        qs = qs.filter(district__path__startswith=scope.district.path)
    return qs


def plans_visible_to(user):
    return _planning_records(RiskPlan, user)


def draws_visible_to(user):
    return _planning_records(Draw, user)


def conflicts_visible_to(user):
    """Inspectors see their own declarations; regulators those about enterprises in their scope."""
    roles = roles_of(user)
    if roles.is_admin:
        return ConflictDeclaration.objects.all()
    q = Q(pk__in=[])
    if roles.inspector:
        q |= Q(inspector=roles.inspector)
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(regulator_q(roles.regulator)))
    return ConflictDeclaration.objects.filter(q)
