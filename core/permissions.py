"""Who may see and change what. Every view and API handler filters through here.

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


def roles_of(user) -> Roles:
    """Look the user's roles up once per request (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Roles()
    cached = getattr(user, "_roles_cache", None)
    if cached is not None:
        return cached
    roles = Roles(
        is_admin=user.is_superuser,
        regulator=Regulator.objects.select_related("department", "district").filter(user=user).first(),
        inspector=Inspector.objects.select_related("department").filter(user=user, active=True).first(),
        enterprise_ids=tuple(
            EnterpriseMembership.objects.filter(user=user)
            .order_by("enterprise_id")
            .values_list("enterprise_id", flat=True)
        ),
    )
    user._roles_cache = roles
    return roles


def _subtree_q(districts: QuerySet[District] | list[District]) -> Q:
    q = Q(pk__in=[])
    for district in districts:
        q |= Q(path__startswith=district.path)
    return q


def _regulator_q(regulator: Regulator) -> Q:
    q = Q()
    if regulator.department_id:
        q &= Q(scene__in=Scene.objects.filter(departments=regulator.department_id))
    if regulator.district_id:
        q &= Q(district__in=District.objects.filter(path__startswith=regulator.district.path))
    return q


def _inspector_q(inspector: Inspector) -> Q:
    return Q(district__in=District.objects.filter(_subtree_q(list(inspector.districts.all()))))


def enterprise_scope_q(user) -> Q | None:
    """A filter for Enterprise rows the user may see; None means all of them."""
    roles = roles_of(user)
    if roles.is_admin:
        return None
    q = Q(pk__in=roles.enterprise_ids)
    if roles.regulator:
        q |= _regulator_q(roles.regulator)
    if roles.inspector:
        q |= _inspector_q(roles.inspector)
    return q


def enterprises_visible_to(user) -> QuerySet[Enterprise]:
    q = enterprise_scope_q(user)
    # Every part of the scope is a subquery on the key columns, never a join,
    # so no row repeats and the planner can use the (district, scene) index.
    return Enterprise.objects.all() if q is None else Enterprise.objects.filter(q)


def _in_scope(q: Q, enterprise: Enterprise) -> bool:
    return Enterprise.objects.filter(pk=enterprise.pk).filter(q).exists()


def landing_view_for(user, enterprise: Enterprise) -> str:
    """Which face of the scan landing a user gets: the most capable role that has the enterprise in scope.

    Scope is checked per role: an inspector of another district who also owns a shop
    sees that shop's business dashboard, not an inspector's entity card.
    """
    roles = roles_of(user)
    if roles.is_admin or (roles.regulator and _in_scope(_regulator_q(roles.regulator), enterprise)):
        return "regulator"
    if roles.inspector and _in_scope(_inspector_q(roles.inspector), enterprise):
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
        Q(enterprise__isnull=True)
        | Q(enterprise__in=Enterprise.objects.filter(_regulator_q(roles.regulator)))
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


def self_inspections_visible_to(user):
    """Members see their enterprise's self-inspections, drafts included; officials with the
    enterprise in scope see the submitted ones (the entity card shows the latest)."""
    from supervision.models import SelfInspection

    roles = roles_of(user)
    own = Q(enterprise_id__in=roles.enterprise_ids)
    if roles.is_admin:
        return SelfInspection.objects.filter(own | Q(status=SelfInspection.Status.SUBMITTED))
    official = Q(pk__in=[])
    if roles.regulator or roles.inspector:
        scope = Q(pk__in=[])
        if roles.regulator:
            scope |= _regulator_q(roles.regulator)
        if roles.inspector:
            scope |= _inspector_q(roles.inspector)
        official = Q(status=SelfInspection.Status.SUBMITTED, enterprise__in=Enterprise.objects.filter(scope))
    return SelfInspection.objects.filter(own | official)


def self_issues_visible_to(user):
    """Issues follow the visibility of the self-inspection they came from."""
    from supervision.models import SelfIdentifiedIssue

    return SelfIdentifiedIssue.objects.filter(answer__self_inspection__in=self_inspections_visible_to(user))


def _official_scope_q(roles: Roles) -> Q | None:
    """Enterprises an official (regulator or inspector) has in scope; None for non-officials."""
    if not (roles.regulator or roles.inspector):
        return None
    q = Q(pk__in=[])
    if roles.regulator:
        q |= _regulator_q(roles.regulator)
    if roles.inspector:
        q |= _inspector_q(roles.inspector)
    return q


def tasks_visible_to(user):
    """Planned visits are not shown to businesses (an announced random inspection is no inspection).
    Inspectors see the tasks they are assigned to; regulators the tasks in their scope."""
    from supervision.models import InspectionTask

    roles = roles_of(user)
    if roles.is_admin:
        return InspectionTask.objects.all()
    q = Q(pk__in=[])
    if roles.inspector:
        q |= Q(pk__in=InspectionTask.objects.filter(inspectors=roles.inspector).values("pk"))
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(_regulator_q(roles.regulator)))
    return InspectionTask.objects.filter(q)


def inspections_visible_to(user):
    """Drafts: the assigned inspectors. Submitted records: the business itself and officials in scope."""
    from supervision.models import Inspection

    roles = roles_of(user)
    if roles.is_admin:
        return Inspection.objects.all()
    q = Q(status=Inspection.Status.SUBMITTED, enterprise_id__in=roles.enterprise_ids)
    scope = _official_scope_q(roles)
    if scope is not None:
        q |= Q(status=Inspection.Status.SUBMITTED, enterprise__in=Enterprise.objects.filter(scope))
    if roles.inspector:
        q |= Q(task__inspectors=roles.inspector)
    return Inspection.objects.filter(pk__in=Inspection.objects.filter(q).values("pk"))


def orders_visible_to(user):
    from supervision.models import RectificationOrder

    roles = roles_of(user)
    if roles.is_admin:
        return RectificationOrder.objects.all()
    q = Q(enterprise_id__in=roles.enterprise_ids)
    scope = _official_scope_q(roles)
    if scope is not None:
        q |= Q(enterprise__in=Enterprise.objects.filter(scope))
    return RectificationOrder.objects.filter(q)


def inspectors_with_jurisdiction(*, enterprise: Enterprise) -> QuerySet[Inspector]:
    """Active inspectors with jurisdiction over the enterprise: one of their districts is the
    enterprise's district or an ancestor of it (the rule of _inspector_q, read the other way round:
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
    return bool(roles.inspector) and _in_scope(_inspector_q(roles.inspector), enterprise)


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


def _ranking_q(roles: Roles) -> Q | None:
    """Enterprises whose scores a user ranks: everything for an admin, the regulator's scope for a
    regulator (never an inspector's or a member's scope: the ranking is a regulator's planning tool)."""
    if roles.is_admin:
        return None
    if roles.regulator:
        return _regulator_q(roles.regulator)
    return Q(pk__in=[])


def may_see_ranking(user) -> bool:
    """The risk ranking, its exports and the policies behind it: regulators and admins."""
    roles = roles_of(user)
    return roles.is_admin or roles.regulator is not None


def scores_visible_to(user):
    """EnterpriseScore rows of the enterprises in the user's ranking scope (none for other roles)."""
    from supervision.models import EnterpriseScore

    q = _ranking_q(roles_of(user))
    if q is None:
        return EnterpriseScore.objects.all()
    return EnterpriseScore.objects.filter(enterprise__in=Enterprise.objects.filter(q))


def ranked_enterprises_visible_to(user) -> QuerySet[Enterprise]:
    """Enterprises whose score breakdown the user may open from the ranking."""
    q = _ranking_q(roles_of(user))
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
    q = _ranking_q(roles)
    return q is None or (roles.regulator is not None and _in_scope(q, enterprise))


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
        return Enterprise.objects.filter(_regulator_q(roles.regulator))
    return Enterprise.objects.none()


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
    from planning.models import RiskPlan

    return _planning_records(RiskPlan, user)


def draws_visible_to(user):
    from planning.models import Draw

    return _planning_records(Draw, user)


def conflicts_visible_to(user):
    """Inspectors see their own declarations; regulators those about enterprises in their scope."""
    from planning.models import ConflictDeclaration

    roles = roles_of(user)
    if roles.is_admin:
        return ConflictDeclaration.objects.all()
    q = Q(pk__in=[])
    if roles.inspector:
        q |= Q(inspector=roles.inspector)
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(_regulator_q(roles.regulator)))
    return ConflictDeclaration.objects.filter(q)


def may_declare_conflicts(user) -> bool:
    return roles_of(user).inspector is not None


def inspection_departments_visible(user, inspection) -> set[int] | None:
    """Whose checklist items of an inspection record a user sees (each department sees the results
    of its own items): None for every item — admins, regulators without a department, the
    record's business and its assigned inspectors; a department's regulators and other inspectors
    see their department's items only."""
    from supervision.models import InspectionTask

    roles = roles_of(user)
    if roles.is_admin or inspection.enterprise_id in roles.enterprise_ids:
        return None
    if roles.regulator is not None and roles.regulator.department_id is None:
        return None
    if (
        roles.inspector is not None
        and InspectionTask.inspectors.through.objects.filter(
            inspectiontask_id=inspection.task_id, inspector_id=roles.inspector.pk
        ).exists()
    ):
        return None
    departments = set()
    if roles.regulator is not None:
        departments.add(roles.regulator.department_id)
    if roles.inspector is not None:
        departments.add(roles.inspector.department_id)
    return departments


# --- co-governance: complaints; 一公开: objections to published results ------------------------------


def complaints_triageable_by(user):
    """Complaints a user triages (dismiss, merge, task) and whose reporter's contact they read:
    those about enterprises a regulator has in scope (the rule of can_plan_tasks); all for an admin."""
    from core.models import Complaint

    return Complaint.objects.filter(enterprise__in=plannable_enterprises(user))


def complaints_visible_to(user):
    """Regulators see the complaints they triage; inspectors the complaints their own tasks check
    (what to look for, the contact masked). Businesses never see complaints about themselves."""
    from core.models import Complaint
    from supervision.models import InspectionTask

    roles = roles_of(user)
    if roles.is_admin:
        return Complaint.objects.all()
    q = Q(pk__in=[])
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(_regulator_q(roles.regulator)))
    if roles.inspector:
        q |= Q(
            pk__in=InspectionTask.objects.filter(inspectors=roles.inspector, complaint__isnull=False).values(
                "complaint_id"
            )
        )
    return Complaint.objects.filter(q)


def may_see_complaints(user) -> bool:
    """The complaint pages: officials (each sees what complaints_visible_to gives them)."""
    roles = roles_of(user)
    return roles.is_admin or roles.regulator is not None or roles.inspector is not None


def can_triage_complaint(user, complaint) -> bool:
    return can_plan_tasks(user, complaint.enterprise)


def objections_visible_to(user):
    """Objections to published results: the objecting business's members, regulators in scope."""
    from supervision.models import Objection

    roles = roles_of(user)
    if roles.is_admin:
        return Objection.objects.all()
    q = Q(enterprise_id__in=roles.enterprise_ids)
    if roles.regulator:
        q |= Q(enterprise__in=Enterprise.objects.filter(_regulator_q(roles.regulator)))
    return Objection.objects.filter(q)


def can_decide_objection(user, enterprise: Enterprise) -> bool:
    """Upholding or rejecting a business's objection: a regulator with the enterprise in scope, or
    an admin."""
    return landing_view_for(user, enterprise) == "regulator"
