"""Who may see and change what: the roles, the enterprise scopes they give, and the rules about the
ground floor's own rows (enterprises, codes, scans). Every view and API handler filters through here.

A feature's rules about its own rows live in that feature's permissions.py (inspections,
self_inspection, risk, complaints, publication, planning), built from the scopes here
(regulator_q, inspector_q, official_scope_q, in_scope); core imports no feature.

Scopes, by role (a user may hold several; they add up):
- platform admin (superuser): everything;
- regulator: enterprises of the scenes their department supervises, within
  their district subtree; either limit may be absent, not both;
- inspector: enterprises located in the subtree of any of their districts;
- business member: the enterprises they are a member of;
- anyone else, anonymous included: nothing private.
"""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from core.models import (
    CodeBatch,
    Department,
    District,
    Enterprise,
    EnterpriseMembership,
    Inspector,
    Regulator,
    ScanEvent,
    Scene,
)
from core.prepared import PreparedGet, PreparedValues


@dataclass(frozen=True)
class Roles:
    is_admin: bool = False
    regulator: Regulator | None = None
    inspector: Inspector | None = None
    enterprise_ids: tuple[int, ...] = field(default_factory=tuple)

    @property
    def is_business(self) -> bool:
        return bool(self.enterprise_ids)

    @property
    def primary(self) -> str:
        """The role whose home page a user lands on."""
        if self.is_admin:
            return "admin"
        if self.regulator:
            return "regulator"
        if self.inspector:
            return "inspector"
        if self.is_business:
            return "business"
        return "public"


# Read once per signed-in request: by statements written once per database (core.prepared), not
# compiled by the ORM each time (issue 17: a third of the ranking API's time had gone here).
_regulators = PreparedGet(Regulator, by="user", related=("department", "district"))
_inspectors = PreparedGet(Inspector, by="user", related=("department",))
_memberships = PreparedValues(EnterpriseMembership, "enterprise_id", by="user")


def roles_of(user) -> Roles:
    """Look the user's roles up once per request (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Roles()
    cached = getattr(user, "_roles_cache", None)
    if cached is not None:
        return cached
    roles = Roles(
        is_admin=user.is_superuser,
        regulator=_regulators.get(user.pk),
        inspector=inspector if (inspector := _inspectors.get(user.pk)) and inspector.active else None,
        enterprise_ids=tuple(_memberships.get(user.pk)),
    )
    user._roles_cache = roles
    return roles


def _subtree_q(districts: QuerySet[District] | list[District]) -> Q:
    q = Q(pk__in=[])
    for district in districts:
        q |= Q(path__startswith=district.path)
    return q


def regulator_q(regulator: Regulator) -> Q:
    q = Q()
    if regulator.department_id:
        q &= Q(scene__in=Scene.objects.filter(departments=regulator.department_id))
    if regulator.district_id:
        q &= Q(district__in=District.objects.filter(path__startswith=regulator.district.path))
    return q


def regulators_over_q(enterprise: Enterprise) -> Q:
    """A filter for the Regulator rows with ``enterprise`` in scope: regulator_q read the other way
    round (their department supervises its scene, or they have none; their district is its
    district or an ancestor, or they have none). Kept beside regulator_q: the two must agree."""
    path = enterprise.district.path
    ancestors = [path[: index + 1] for index, char in enumerate(path) if char == "/"]
    q = Q(department__isnull=True) | Q(department__in=enterprise.scene.departments.all())
    return q & (Q(district__isnull=True) | Q(district__path__in=ancestors))


def inspector_q(inspector: Inspector) -> Q:
    return Q(district__in=District.objects.filter(_subtree_q(list(inspector.districts.all()))))


def enterprise_scope_q(user) -> Q | None:
    """A filter for Enterprise rows the user may see; None means all of them."""
    roles = roles_of(user)
    if roles.is_admin:
        return None
    q = Q(pk__in=roles.enterprise_ids)
    if roles.regulator:
        q |= regulator_q(roles.regulator)
    if roles.inspector:
        q |= inspector_q(roles.inspector)
    return q


def enterprises_visible_to(user) -> QuerySet[Enterprise]:
    q = enterprise_scope_q(user)
    # Every part of the scope is a subquery on the key columns, never a join,
    # so no row repeats and the planner can use the (district, scene) index.
    return Enterprise.objects.all() if q is None else Enterprise.objects.filter(q)


def in_scope(q: Q, enterprise: Enterprise) -> bool:
    return Enterprise.objects.filter(pk=enterprise.pk).filter(q).exists()


def landing_view_for(user, enterprise: Enterprise) -> str:
    """Which face of the scan landing a user gets: the most capable role that has the enterprise in scope.

    Scope is checked per role: an inspector of another district who also owns a shop
    sees that shop's business dashboard, not an inspector's entity card.
    """
    roles = roles_of(user)
    if roles.is_admin or (roles.regulator and in_scope(regulator_q(roles.regulator), enterprise)):
        return "regulator"
    if roles.inspector and in_scope(inspector_q(roles.inspector), enterprise):
        return "inspector"
    if enterprise.pk in roles.enterprise_ids:
        return "business"
    return "public"


def can_manage_codes(user, enterprise: Enterprise) -> bool:
    """Rotating or revoking a code: a regulator with the enterprise in scope, or an admin."""
    return landing_view_for(user, enterprise) == "regulator"


def scans_visible_to(user) -> QuerySet[ScanEvent]:
    """Regulators see scans of their enterprises, and the failed scans that name no enterprise
    (unknown or malformed tokens: the traces of probing, which carry no enterprise data)."""
    roles = roles_of(user)
    if roles.is_admin:
        return ScanEvent.objects.all()
    if not roles.regulator:
        return ScanEvent.objects.none()
    return ScanEvent.objects.filter(
        Q(enterprise__isnull=True) | Q(enterprise__in=Enterprise.objects.filter(regulator_q(roles.regulator)))
    )


def code_batches_visible_to(user) -> QuerySet[CodeBatch]:
    roles = roles_of(user)
    if roles.is_admin:
        return CodeBatch.objects.all()
    if not roles.regulator:
        return CodeBatch.objects.none()
    return CodeBatch.objects.filter(requested_by=user)


def is_member(user, enterprise: Enterprise) -> bool:
    """Writes on behalf of a business (acknowledging, self-inspecting) are for its members only."""
    return enterprise.pk in roles_of(user).enterprise_ids


def official_scope_q(roles: Roles) -> Q | None:
    """Enterprises an official (regulator or inspector) has in scope; None for non-officials."""
    if not (roles.regulator or roles.inspector):
        return None
    q = Q(pk__in=[])
    if roles.regulator:
        q |= regulator_q(roles.regulator)
    if roles.inspector:
        q |= inspector_q(roles.inspector)
    return q


def inspectors_with_jurisdiction(*, enterprise: Enterprise) -> QuerySet[Inspector]:
    """Active inspectors with jurisdiction over the enterprise: one of their districts is the
    enterprise's district or an ancestor of it (the rule of inspector_q, read the other way round:
    the ancestors are the prefixes of the enterprise's district path). Who may be put on a task."""
    path = enterprise.district.path
    prefixes = [path[: index + 1] for index, char in enumerate(path) if char == "/"]
    return (
        Inspector.objects.filter(
            active=True,
            user__is_active=True,
            pk__in=Inspector.districts.through.objects.filter(district__path__in=prefixes).values(
                "inspector_id"
            ),
        )
        .select_related("user", "department")
        .order_by("department__code", "certificate_no")
    )


def can_plan_tasks(user, enterprise: Enterprise) -> bool:
    """Creating and cancelling tasks: a regulator with the enterprise in scope, or an admin."""
    return landing_view_for(user, enterprise) == "regulator"


def can_verify_orders(user, enterprise: Enterprise) -> bool:
    """Verifying a rectification, or sending an inspector back: an inspector with jurisdiction."""
    roles = roles_of(user)
    return bool(roles.inspector) and in_scope(inspector_q(roles.inspector), enterprise)


def can_escalate_orders(user, enterprise: Enterprise) -> bool:
    return can_plan_tasks(user, enterprise) or can_verify_orders(user, enterprise)


def content_editable_by(user):
    """Departments whose checklists the user may edit and publish: a regulator edits their own
    department's; a platform admin edits all. Manuals belong to a scene, so a regulator may edit
    the manual of a scene their department supervises."""
    roles = roles_of(user)
    if roles.is_admin:
        return Department.objects.all()
    if roles.regulator and roles.regulator.department_id:
        return Department.objects.filter(pk=roles.regulator.department_id)
    return Department.objects.none()


def can_edit_checklist(user, checklist) -> bool:
    return content_editable_by(user).filter(pk=checklist.department_id).exists()


def can_edit_manual(user, manual) -> bool:
    """A scene's manual is shared by its departments: any of them may edit and publish it."""
    return content_editable_by(user).filter(scenes=manual.scene_id).exists()


def can_see_draft_content(user) -> bool:
    return content_editable_by(user).exists()


def can_see_enterprise(user, enterprise: Enterprise) -> bool:
    return enterprises_visible_to(user).filter(pk=enterprise.pk).exists()


def may_see_personal_data(user, enterprise: Enterprise) -> bool:
    """Legal representatives' names: members, and officials with the enterprise in scope."""
    return can_see_enterprise(user, enterprise)


def may_see_audit(user) -> bool:
    roles = roles_of(user)
    return roles.is_admin or roles.regulator is not None


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***, John Smith -> J*********: enough to recognise, not to identify."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


# --- scoring: the ranking, policies, recomputes, credit events ------------------------------------------


def ranking_q(roles: Roles) -> Q | None:
    """Enterprises whose scores a user ranks: everything for an admin, the regulator's scope for a
    regulator (never an inspector's or a member's scope: the ranking is a regulator's planning tool)."""
    if roles.is_admin:
        return None
    if roles.regulator:
        return regulator_q(roles.regulator)
    return Q(pk__in=[])


def may_see_ranking(user) -> bool:
    """The risk ranking, its exports and the policies behind it: regulators and admins."""
    roles = roles_of(user)
    return roles.is_admin or roles.regulator is not None


def ranked_enterprises_visible_to(user) -> QuerySet[Enterprise]:
    """Enterprises whose score breakdown the user may open from the ranking."""
    q = ranking_q(roles_of(user))
    return Enterprise.objects.all() if q is None else Enterprise.objects.filter(q)


def can_manage_scoring(user) -> bool:
    """Editing and adopting scoring policies and starting a full recompute: one policy scores the
    whole city, so only those whose remit is the whole city change it — platform admins, and
    regulators without a district or scoped to the top-level district (a city department's lead).
    A district regulator ranks with the city's policy but does not set it."""
    roles = roles_of(user)
    if roles.is_admin:
        return True
    regulator = roles.regulator
    return regulator is not None and (regulator.district_id is None or regulator.district.parent_id is None)


def can_record_credit_event(user, enterprise: Enterprise) -> bool:
    """Penalties, dishonesty listings, refusals: a regulator with the enterprise in scope, or an admin."""
    roles = roles_of(user)
    q = ranking_q(roles)
    return q is None or (roles.regulator is not None and in_scope(q, enterprise))


def may_see_own_score(user, enterprise: Enterprise) -> bool:
    """A business sees its own risk, credit rating and tier, and why (the landing's business face)."""
    return is_member(user, enterprise)


# --- planning: risk plans, double-random draws, conflicts of interest, the burden view -------------


@dataclass(frozen=True)
class PlanningScope:
    """Where a user plans: a department regulator only for their department (its inspectors and
    scenes), a district regulator only within their district subtree; None means no limit."""

    department: Department | None = None
    district: District | None = None

    def allows(self, *, department: Department, district: District | None) -> bool:
        if self.department is not None and department.pk != self.department.pk:
            return False
        if self.district is not None:
            return district is not None and district.path.startswith(self.district.path)
        return True


def planning_scope(user) -> PlanningScope | None:
    """Risk plans, draws and the burden view: regulators within their scope, admins everywhere,
    nobody else (None)."""
    roles = roles_of(user)
    if roles.is_admin:
        return PlanningScope()
    if roles.regulator:
        return PlanningScope(department=roles.regulator.department, district=roles.regulator.district)
    return None


def plannable_enterprises(user) -> QuerySet[Enterprise]:
    """Enterprises a user plans visits to: the regulator's scope (the rule of can_plan_tasks)."""
    roles = roles_of(user)
    if roles.is_admin:
        return Enterprise.objects.all()
    if roles.regulator:
        return Enterprise.objects.filter(regulator_q(roles.regulator))
    return Enterprise.objects.none()


def may_declare_conflicts(user) -> bool:
    return roles_of(user).inspector is not None
