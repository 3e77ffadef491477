"""Planning through the API: double-random draws, risk-driven plans, the burden view.

Creating is refused with 403 for anyone who does not plan (regulators and admins do); a draw or
plan outside the caller's scope is 404, whatever the id."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from core import permissions
from core.api_schemas import ErrorOut, RowId
from core.pagination import MAX_PAGE_SIZE, NoCountPagination, Page
from planning import draws, plans, selectors
from planning.common import area_resolve, forbidden, refuse, scene_resolve
from planning.models import Draw, DrawEntry, PlanEntry, RiskPlan

router = Router(tags=["planning"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- schemas --------------------------------------------------------------------------------------


class DrawIn(Schema):
    department: str | None = Field(None, max_length=40, description="department code (default: your own)")
    district: str | None = Field(None, max_length=12, description="district code (default: your own)")
    scene: str | None = Field(None, max_length=40, description="scene code (default: every scene)")
    period_from: date
    period_to: date
    tiers: list[int] | None = Field(None, max_length=4, description="tiers in the pool (default: every tier)")
    ratios: dict[str, float] | None = Field(
        None, description="tier -> share 0..1 to draw (default: the policy's draw ratio scaled to the period)"
    )
    inspectors_per_task: int = 2
    max_tasks_per_inspector: int = draws.DEFAULT_MAX_TASKS


class _AreaOut(Schema):
    """A draw's or a plan's district, by code; none for the whole city."""

    @staticmethod
    def resolve_district(obj) -> str | None:
        return obj.district.code if obj.district else None


class DrawOut(_AreaOut):
    id: int
    status: str
    department: str = Field(..., alias="department.code")
    district: str | None
    scene: str | None
    period_from: date
    period_to: date
    seed: str
    algorithm: str
    ratios: dict[str, str]
    inspectors_per_task: int
    max_tasks_per_inspector: int
    pool_size: int
    pool_sha256: str
    inputs_sha256: str
    result_sha256: str
    drawn: int
    created_at: datetime
    confirmed_at: datetime | None

    @staticmethod
    def resolve_scene(obj) -> str | None:
        return obj.scene.code if obj.scene else None

    @staticmethod
    def resolve_algorithm(obj) -> str:
        return obj.inputs["algorithm"]

    @staticmethod
    def resolve_ratios(obj) -> dict[str, str]:
        return obj.inputs["ratios"]

    @staticmethod
    def resolve_inspectors_per_task(obj) -> int:
        return obj.inputs["inspectors_per_task"]

    @staticmethod
    def resolve_max_tasks_per_inspector(obj) -> int:
        return obj.inputs["max_tasks_per_inspector"]

    @staticmethod
    def resolve_pool_size(obj) -> int:
        return len(obj.inputs["pool"])

    @staticmethod
    def resolve_pool_sha256(obj) -> str:
        return obj.inputs["pool_sha256"]

    @staticmethod
    def resolve_drawn(obj) -> int:
        return obj.entries.count()


class DrawEntryOut(Schema):
    position: int
    enterprise: str = Field(..., alias="enterprise.uscc")
    enterprise_name: str = Field(..., alias="enterprise.name")
    tier: int
    inspectors: list[RowId] = Field(..., alias="inspector_ids", description="inspector ids")
    task_id: int | None


class VerifyOut(Schema):
    ok: bool
    mismatch: str = Field(..., description="the first discrepancy; empty when ok")
    entries: int
    pool_changed: bool = Field(..., description="today's pool for the same filters differs (not a mismatch)")
    pool_added: int
    pool_removed: int
    pool_retiered: int


class PlanIn(Schema):
    department: str | None = Field(None, max_length=40)
    district: str | None = Field(None, max_length=12)
    period_from: date
    period_to: date
    capacity: int = Field(..., description="inspector-days; each task costs inspectors_per_task of them")
    inspectors_per_task: int = 2
    max_tasks_per_inspector: int | None = None


class PlanOut(_AreaOut):
    id: int
    status: str
    department: str = Field(..., alias="department.code")
    district: str | None
    period_from: date
    period_to: date
    capacity: int
    capacity_used: int
    inspectors_per_task: int
    max_tasks_per_inspector: int | None
    policy_version: int
    outcomes: dict[str, int]
    created_at: datetime
    confirmed_at: datetime | None

    @staticmethod
    def resolve_outcomes(obj) -> dict[str, int]:
        return selectors.plan_outcomes(plan=obj)


class PlanEntryOut(Schema):
    position: int
    enterprise: str = Field(..., alias="enterprise.uscc")
    enterprise_name: str = Field(..., alias="enterprise.name")
    risk: float
    tier: int
    last_inspected_on: date | None
    due_reason: PlanEntry.DueReason
    due_on: date | None
    overdue_days: int
    outcome: PlanEntry.Outcome
    inspectors: list[int] = Field(..., alias="inspector_ids")
    existing_task_id: int | None
    task_id: int | None


class PlanEntryFilter(Schema):
    scheduled: bool | None = Field(None, description="true: the scheduled; false: the unplaced; empty: all")


class BurdenFilter(Schema):
    period_from: date
    period_to: date
    district: str | None = Field(None, max_length=12)
    scene: str | None = Field(None, max_length=40)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class BurdenRowOut(Schema):
    enterprise: str
    enterprise_name: str
    visits: int = Field(..., description="non-cancelled tasks overlapping the period; a joint task is one")
    done: int = Field(..., description="of which the inspection is submitted")
    joint: int = Field(..., description="of which joint tasks")
    departments: list[str]


class BurdenPageOut(Schema):
    items: list[BurdenRowOut]
    page: int
    page_size: int
    has_next: bool


# --- helpers --------------------------------------------------------------------------------------


def _draw(request, draw_id: int) -> Draw:
    return get_object_or_404(selectors.draws_in_scope(user=request.user), pk=draw_id)


def _plan(request, plan_id: int) -> RiskPlan:
    return get_object_or_404(selectors.plans_in_scope(user=request.user), pk=plan_id)


# --- draws --------------------------------------------------------------------------------------------


@router.post("/draws", response={201: DrawOut, **ERRORS})
def create_draw(request, payload: DrawIn):
    """Record a draft draw (its seed, inputs and result); nothing is planned until it is confirmed."""
    area = area_resolve(actor=request.user, department=payload.department, district=payload.district)
    draw = draws.draw_create(
        actor=request.user,
        area=area,
        scene=scene_resolve(area=area, scene=payload.scene),
        period_from=payload.period_from,
        period_to=payload.period_to,
        tiers=payload.tiers,
        ratios=payload.ratios,
        inspectors_per_task=payload.inspectors_per_task,
        max_tasks_per_inspector=payload.max_tasks_per_inspector,
    )
    return Status(201, draw)


@router.get("/draws/{draw_id}", response={200: DrawOut, 404: ErrorOut})
def get_draw(request, draw_id: int):
    return _draw(request, draw_id)


@router.get("/draws/{draw_id}/entries", response={200: list[DrawEntryOut], 404: ErrorOut})
@paginate(NoCountPagination)
def list_draw_entries(request, draw_id: int):
    return (
        DrawEntry.objects.filter(draw=_draw(request, draw_id))
        .select_related("enterprise")
        .order_by("position")
    )


@router.post("/draws/{draw_id}/confirm", response={200: DrawOut, **ERRORS})
def confirm_draw(request, draw_id: int):
    """Plan the drawn tasks (source random); merged into joint tasks where other departments have a visit."""
    return draws.draw_confirm(draw=_draw(request, draw_id), actor=request.user)


@router.get("/draws/{draw_id}/verify", response={200: VerifyOut, 404: ErrorOut})
def verify_draw(request, draw_id: int):
    """Re-run the draw from its recorded seed and inputs (what ``manage.py verify_draw`` does)."""
    report = draws.draw_verify(draw=_draw(request, draw_id))
    return {
        "ok": report.ok,
        "mismatch": report.mismatch,
        "entries": report.entries,
        "pool_changed": report.pool.changed,
        "pool_added": report.pool.added,
        "pool_removed": report.pool.removed,
        "pool_retiered": report.pool.retiered,
    }


# --- plans --------------------------------------------------------------------------------------------


@router.post("/plans", response={201: PlanOut, **ERRORS})
def create_plan(request, payload: PlanIn):
    """Generate a draft plan: every due enterprise, scheduled within the capacity or listed as unplaced."""
    area = area_resolve(actor=request.user, department=payload.department, district=payload.district)
    plan = plans.plan_generate(
        actor=request.user,
        area=area,
        period_from=payload.period_from,
        period_to=payload.period_to,
        capacity=payload.capacity,
        inspectors_per_task=payload.inspectors_per_task,
        max_tasks_per_inspector=payload.max_tasks_per_inspector,
    )
    return Status(201, plan)


@router.get("/plans/{plan_id}", response={200: PlanOut, 404: ErrorOut})
def get_plan(request, plan_id: int):
    return _plan(request, plan_id)


@router.get("/plans/{plan_id}/entries", response={200: list[PlanEntryOut], 404: ErrorOut})
@paginate(NoCountPagination)
def list_plan_entries(request, plan_id: int, filters: Query[PlanEntryFilter]):
    plan = _plan(request, plan_id)
    if filters.scheduled is None:
        return plan.entries.select_related("enterprise").order_by("position")
    return selectors.plan_entries(plan=plan, scheduled=filters.scheduled)


@router.post("/plans/{plan_id}/confirm", response={200: PlanOut, **ERRORS})
def confirm_plan(request, plan_id: int):
    return plans.plan_confirm(plan=_plan(request, plan_id), actor=request.user)


# --- burden ------------------------------------------------------------------------------------------


@router.get("/burden", response={200: BurdenPageOut, **ERRORS})
def burden(request, filters: Query[BurdenFilter]):
    """Visits per enterprise across all departments in the period, most first."""
    if permissions.planning_scope(request.user) is None:
        raise forbidden()
    if filters.period_to < filters.period_from:
        raise refuse(_("The period ends before it starts."), "invalid_period")
    district, scene = selectors.burden_filters(district=filters.district, scene=filters.scene)
    page = Page(
        selectors.burden(
            user=request.user,
            period_from=filters.period_from,
            period_to=filters.period_to,
            district=district,
            scene=scene,
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    rows = selectors.burden_departments(
        rows=page.items, period_from=filters.period_from, period_to=filters.period_to
    )
    return {
        "items": [
            {
                "enterprise": row["enterprise__uscc"],
                "enterprise_name": row["enterprise__name"],
                "visits": row["visits"],
                "done": row["done"],
                "joint": row["joint"],
                "departments": row["departments"],
            }
            for row in rows
        ],
        "page": page.number,
        "page_size": page.page_size,
        "has_next": page.has_next,
    }
