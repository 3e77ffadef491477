"""Who is concerned by an event: the business's members, a task's inspectors, the regulators over an
enterprise, those who manage a data source. Each list is then narrowed by the features' permission
rules (permissions.may_receive) before anything is written."""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from core.models import Enterprise, Regulator
from core.permissions import regulators_over_q
from history.models import DataSource
from supervision.models import InspectionTask, RectificationOrder

User = get_user_model()


def members(enterprise_id: int) -> QuerySet:
    """Every member of the business (owners and staff)."""
    return User.objects.filter(is_active=True, memberships__enterprise_id=enterprise_id).distinct()


def team(task: InspectionTask) -> QuerySet:
    """The task's inspectors, as users."""
    return User.objects.filter(is_active=True, inspector__active=True, inspector__tasks=task).distinct()


def order_team(order: RectificationOrder) -> QuerySet:
    """The inspectors who issued the order (the team of its inspection's task)."""
    return team(order.inspection.task)


def regulators_over(enterprise: Enterprise) -> QuerySet:
    """Active users who regulate the enterprise (core.permissions.regulators_over_q)."""
    return User.objects.filter(
        is_active=True, pk__in=Regulator.objects.filter(regulators_over_q(enterprise)).values("user_id")
    ).order_by("pk")


def source_managers(source: DataSource) -> QuerySet:
    """Who manages the data source: its owner at the platform, and the city-level regulators
    (history.permissions.may_manage_sources) of its department, or all of them for a source of no
    department."""
    city = Q(district__isnull=True) | Q(district__parent__isnull=True)
    if source.department_id:
        city &= Q(department__isnull=True) | Q(department_id=source.department_id)
    return User.objects.filter(
        Q(pk__in=Regulator.objects.filter(city).values("user_id")) | Q(pk=source.owner_id), is_active=True
    ).order_by("pk")
