"""Who sees which tasks, inspection records and rectification orders, and which items of a record."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from core.models import Enterprise
from core.permissions import official_scope_q, planning_scope, regulator_q, roles_of
from supervision.models import Inspection, InspectionTask, RectificationOrder


def tasks_visible_to(user):
    """Planned visits are not shown to businesses (an announced random inspection is no inspection).
    Inspectors see the tasks they are assigned to; regulators the tasks in their scope."""
    roles = roles_of(user)
    if roles.is_admin:
        return InspectionTask.objects.all()
    q = Q(pk__in=[])
    if roles.inspector:
        q |= Q(pk__in=InspectionTask.objects.filter(inspectors=roles.inspector).values("pk"))
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(regulator_q(roles.regulator)))
    return InspectionTask.objects.filter(q)


def inspections_visible_to(user):
    """Drafts: the assigned inspectors. Submitted records: the business itself and officials in scope."""
    roles = roles_of(user)
    if roles.is_admin:
        return Inspection.objects.all()
    q = Q(status=Inspection.Status.SUBMITTED, enterprise_id__in=roles.enterprise_ids)
    scope = official_scope_q(roles)
    if scope is not None:
        q |= Q(status=Inspection.Status.SUBMITTED, enterprise__in=Enterprise.objects.filter(scope))
    if roles.inspector:
        q |= Q(task__inspectors=roles.inspector)
    return Inspection.objects.filter(pk__in=Inspection.objects.filter(q).values("pk"))


def orders_visible_to(user):
    roles = roles_of(user)
    if roles.is_admin:
        return RectificationOrder.objects.all()
    q = Q(enterprise_id__in=roles.enterprise_ids)
    scope = official_scope_q(roles)
    if scope is not None:
        q |= Q(enterprise__in=Enterprise.objects.filter(scope))
    return RectificationOrder.objects.filter(q)


# --- department walls: each department sees the results of its own checklist items ----------------------
#
# ONE rule (item_walls) says which items of an inspection record a user sees; every surface that shows
# a record applies it: the sheet (page and API), the orders (page and API), the documents (record and
# order notice, rendered for the viewer's departments by documents.document_for_viewer), the photos
# (inspection_photo, order_photo), the timeline, and the order services (an official acts only on an
# order whose every finding they see).


@dataclass(frozen=True)
class ItemWall:
    """Which departments' checklist items of one record a user sees; ``departments`` None: all of them."""

    departments: frozenset[int] | None = None

    @property
    def whole(self) -> bool:
        return self.departments is None

    def allows(self, department_id: int) -> bool:
        return self.departments is None or department_id in self.departments

    def q(self, department: str = "item__checklist__department") -> Q:
        """A filter on rows reaching an item's department through ``department`` (a lookup path)."""
        if self.departments is None:
            return Q()
        return Q(**{f"{department}__in": sorted(self.departments)})


WHOLE = ItemWall()


def department_wall(user) -> ItemWall:
    """The wall of ``user`` on a record they neither own (business) nor made (assigned inspector):
    every item for admins and regulators without a department, else their own department(s)'
    items (regulator's and inspector's), no item for anyone else. Part of item_walls' rule."""
    roles = roles_of(user)
    if roles.is_admin or (roles.regulator is not None and roles.regulator.department_id is None):
        return WHOLE
    return ItemWall(
        frozenset(official.department_id for official in (roles.regulator, roles.inspector) if official)
    )


def item_walls(user, inspections: Iterable[Inspection]) -> dict[int, ItemWall]:
    """THE rule, for a page of records in at most one query (the inspections need only their pk,
    task_id and enterprise_id). Every item: admins, regulators without a department, the record's
    business and the inspectors assigned to its task (they did the visit and signed the whole
    record). Every other official: the items of their own department(s) (regulator's and
    inspector's). Anyone else: no item."""
    inspections = list(inspections)
    own = department_wall(user)
    if own.whole:
        return {inspection.pk: WHOLE for inspection in inspections}
    roles = roles_of(user)
    assigned: set[int] = set()
    if roles.inspector is not None and inspections:
        assigned = set(
            InspectionTask.inspectors.through.objects.filter(
                inspectiontask_id__in={inspection.task_id for inspection in inspections},
                inspector_id=roles.inspector.pk,
            ).values_list("inspectiontask_id", flat=True)
        )
    return {
        inspection.pk: WHOLE
        if inspection.enterprise_id in roles.enterprise_ids or inspection.task_id in assigned
        else own
        for inspection in inspections
    }


def item_wall(user, inspection: Inspection) -> ItemWall:
    """item_walls for one record."""
    return item_walls(user, [inspection])[inspection.pk]


def order_behind_wall(user, order: RectificationOrder) -> bool:
    """Whether some finding of the order is of a department whose items the user does not see: then
    they may not verify, re-inspect or escalate it (they would decide on what they cannot see)."""
    wall = item_wall(user, order.inspection)
    return not wall.whole and order.findings.exclude(wall.q()).exists()


# --- staffing -----------------------------------------------------------------------------------------


def staffing_departments(user) -> frozenset[int] | None:
    """Departments whose inspectors a user may put on a task; None: any. A department regulator
    plans for their own department only (core.permissions.planning_scope), so staffs only its
    inspectors; admins and regulators without a department staff any. An inspector sending a
    re-inspection is not limited here: order_behind_wall already keeps them to orders they see whole."""
    scope = planning_scope(user)
    if scope is None or scope.department is None:
        return None
    return frozenset({scope.department.pk})
