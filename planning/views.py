"""Regulators' planning pages: risk-driven plans and double-random draws (form -> recorded draft
preview -> confirm), a draw's record with its verification, the burden view; and the conflicts
of interest inspectors declare.

Plans, draws and the burden view are for those who plan (core.permissions.planning_scope:
regulators within their scope, admins); anyone else gets 404, as for a page that does not exist.
Conflicts: inspectors declare their own, regulators see those in their scope.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from core import selectors as core_selectors
from core.errors import DomainError
from core.models import Department, District, Inspector, Scene
from core.pagination import Page
from planning import conflicts, draws, plans, selectors
from planning.common import PlanningError, area_resolve, refuse, scene_resolve
from planning.models import PlanEntry
from supervision.risk import scoring

PAGE_SIZE = 50


def _planner(user) -> permissions.PlanningScope:
    scope = permissions.planning_scope(user)
    if scope is None:
        raise Http404
    return scope


def _page_number(request, name: str = "page") -> int:
    try:
        return max(1, min(int(request.GET.get(name, "1")), 100_000))
    except ValueError:
        return 1


def _date(raw: str, label: str) -> date:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        raise refuse(_("Give the %(field)s as a date.") % {"field": label}, "invalid_date") from None


def _int(raw: str, label: str, *, optional: bool = False) -> int | None:
    raw = (raw or "").strip()
    if not raw and optional:
        return None
    try:
        return int(raw)
    except ValueError:
        raise refuse(
            _("Give the %(field)s as a whole number.") % {"field": label}, "invalid_number"
        ) from None


def _choices(scope: permissions.PlanningScope) -> dict:
    """The departments and districts a planner may choose from."""
    departments = (
        [scope.department] if scope.department is not None else list(Department.objects.order_by("code"))
    )
    districts = District.objects.order_by("path")
    if scope.district is not None:
        districts = districts.filter(path__startswith=scope.district.path)
    return {"departments": departments, "districts": list(districts), "scope": scope}


def _query(request, *drop: str) -> str:
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    return query.urlencode()


# --- plans ------------------------------------------------------------------------------------------


@login_required
@require_GET
def plan_list(request):
    _planner(request.user)
    page = Page(selectors.plans_in_scope(user=request.user), page=_page_number(request), page_size=PAGE_SIZE)
    return render(request, "planning/plan_list.html", {"page": page, "query": _query(request, "page")})


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request):
    scope = _planner(request.user)
    today = timezone.localdate()
    values = {
        "department": scope.department.code if scope.department else "",
        "district": scope.district.code if scope.district else "",
        "period_from": today.isoformat(),
        "period_to": "",
        "capacity": "",
        "inspectors_per_task": "2",
        "max_tasks_per_inspector": "",
    }
    error, status = None, 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            area = area_resolve(
                actor=request.user, department=values["department"], district=values["district"]
            )
            plan = plans.plan_generate(
                actor=request.user,
                area=area,
                period_from=_date(values["period_from"], _("start of the period")),
                period_to=_date(values["period_to"], _("end of the period")),
                capacity=_int(values["capacity"], _("capacity")),
                inspectors_per_task=_int(values["inspectors_per_task"], _("inspectors per task")),
                max_tasks_per_inspector=_int(
                    values["max_tasks_per_inspector"], _("most tasks per inspector"), optional=True
                ),
            )
        except DomainError as exc:
            error, status = exc, exc.status
        else:
            return redirect("planning:plan", pk=plan.pk)
    context = {"values": values, "error": error, **_choices(scope)}
    return render(request, "planning/plan_new.html", context, status=status)


@login_required
@require_GET
def plan_detail(request, pk: int):
    _planner(request.user)
    plan = get_object_or_404(selectors.plans_in_scope(user=request.user), pk=pk)
    scheduled = Page(
        selectors.plan_entries(plan=plan, scheduled=True),
        page=_page_number(request, "s"),
        page_size=PAGE_SIZE,
    )
    unplaced = Page(
        selectors.plan_entries(plan=plan, scheduled=False),
        page=_page_number(request, "u"),
        page_size=PAGE_SIZE,
    )
    _name_teams(scheduled.items)
    counts = selectors.plan_outcomes(plan=plan)
    context = {
        "plan": plan,
        "outcomes": [(label, value, counts[value]) for value, label in PlanEntry.Outcome.choices],
        "scheduled": scheduled,
        "unplaced": unplaced,
        "query_s": _query(request, "s"),
        "query_u": _query(request, "u"),
    }
    return render(request, "planning/plan_detail.html", context)


@login_required
@require_POST
def plan_confirm(request, pk: int):
    _planner(request.user)
    plan = get_object_or_404(selectors.plans_in_scope(user=request.user), pk=pk)
    try:
        plans.plan_confirm(plan=plan, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The plan is confirmed and its tasks are planned."))
    return redirect("planning:plan", pk=plan.pk)


def _name_teams(entries) -> None:
    """Each entry's ``team``: its inspectors' names, in one query for the page."""
    found = Inspector.objects.select_related("user").in_bulk({pk for e in entries for pk in e.inspector_ids})
    for entry in entries:
        entry.team = [str(found[pk]) if pk in found else f"#{pk}" for pk in entry.inspector_ids]


# --- draws ------------------------------------------------------------------------------------------


@login_required
@require_GET
def draw_list(request):
    _planner(request.user)
    page = Page(selectors.draws_in_scope(user=request.user), page=_page_number(request), page_size=PAGE_SIZE)
    return render(request, "planning/draw_list.html", {"page": page, "query": _query(request, "page")})


def _ratios_posted(request) -> dict[str, str]:
    return {str(tier): request.POST.get(f"ratio_{tier}", "").strip() for tier in draws.TIERS}


@login_required
@require_http_methods(["GET", "POST"])
def draw_new(request):
    scope = _planner(request.user)
    today = timezone.localdate()
    values = {
        "department": scope.department.code if scope.department else "",
        "district": scope.district.code if scope.district else "",
        "scene": "",
        "period_from": today.isoformat(),
        "period_to": "",
        "tiers": [str(tier) for tier in draws.TIERS],
        "ratios": dict.fromkeys((str(tier) for tier in draws.TIERS), ""),
        "inspectors_per_task": "2",
        "max_tasks_per_inspector": str(draws.DEFAULT_MAX_TASKS),
    }
    error, status = None, 200
    if request.method == "POST":
        values = {
            **{key: request.POST.get(key, "").strip() for key in values if key not in ("tiers", "ratios")},
            "tiers": request.POST.getlist("tiers"),
            "ratios": _ratios_posted(request),
        }
        try:
            draw = _draw_create(request, values)
        except DomainError as exc:
            error, status = exc, exc.status
        else:
            messages.success(
                request, _("The draw is recorded as a draft with its seed; confirm it to plan the tasks.")
            )
            return redirect("planning:draw", pk=draw.pk)
    policy_tiers = scoring.current_policy().params["tiers"]
    context = {
        "values": values,
        "error": error,
        # A department regulator draws from their department's scenes only.
        "scenes": (
            Scene.objects.filter(departments=scope.department) if scope.department else Scene.objects.all()
        ).order_by("code"),
        "tier_rows": [
            (str(tier), policy_tiers[str(tier)]["draw_ratio"], values["ratios"].get(str(tier), ""))
            for tier in draws.TIERS
        ],
        **_choices(scope),
    }
    return render(request, "planning/draw_new.html", context, status=status)


def _draw_create(request, values: dict):
    area = area_resolve(actor=request.user, department=values["department"], district=values["district"])
    try:
        tiers = sorted({int(tier) for tier in values["tiers"]})
    except ValueError:
        raise refuse(_("Tiers are 1 to 4."), "invalid_tiers") from None
    if not tiers:
        raise refuse(_("Choose at least one tier."), "invalid_tiers")
    return draws.draw_create(
        actor=request.user,
        area=area,
        scene=scene_resolve(area=area, scene=values["scene"]),
        period_from=_date(values["period_from"], _("start of the period")),
        period_to=_date(values["period_to"], _("end of the period")),
        tiers=tiers,
        ratios={tier: ratio for tier, ratio in values["ratios"].items() if ratio and int(tier) in tiers},
        inspectors_per_task=_int(values["inspectors_per_task"], _("inspectors per task")),
        max_tasks_per_inspector=_int(values["max_tasks_per_inspector"], _("most tasks per inspector")),
    )


@login_required
@require_GET
def draw_detail(request, pk: int):
    _planner(request.user)
    draw = get_object_or_404(selectors.draws_in_scope(user=request.user), pk=pk)
    entries = Page(
        draw.entries.select_related("enterprise__district", "enterprise__scene", "task").order_by("position"),
        page=_page_number(request),
        page_size=PAGE_SIZE,
    )
    _name_teams(entries.items)
    inputs = draw.inputs
    context = {
        "draw": draw,
        "inputs": inputs,
        "summary": {
            "pool": len(inputs["pool"]),
            "inspectors": len(inputs["inspectors"]),
            "last_inspection": len(inputs["last_inspection"]),
            "declared_conflicts": len(inputs["declared_conflicts"]),
        },
        "entries": entries,
        "verification": draws.draw_verify(draw=draw) if request.GET.get("verify") else None,
        "query": _query(request, "page"),
    }
    return render(request, "planning/draw_detail.html", context)


@login_required
@require_POST
def draw_confirm(request, pk: int):
    _planner(request.user)
    draw = get_object_or_404(selectors.draws_in_scope(user=request.user), pk=pk)
    try:
        draws.draw_confirm(draw=draw, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The draw is confirmed and its tasks are planned."))
    return redirect("planning:draw", pk=draw.pk)


# --- conflicts of interest ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def conflict_list(request):
    roles = permissions.roles_of(request.user)
    may_declare = permissions.may_declare_conflicts(request.user)
    if not may_declare and permissions.planning_scope(request.user) is None:
        raise Http404
    values, error, status = {"enterprise": "", "reason": ""}, None, 200
    if request.method == "POST":
        if not may_declare:
            raise Http404
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            enterprise = core_selectors.enterprise_get(user=request.user, uscc=values["enterprise"])
            conflicts.conflict_declare(actor=request.user, enterprise=enterprise, reason=values["reason"])
        except DomainError as exc:
            error, status = exc, exc.status if exc.status != 404 else 422
        else:
            messages.success(
                request, _("Your conflict of interest is declared; no draw or plan sends you there.")
            )
            return redirect("planning:conflicts")
    page = Page(
        selectors.conflicts_in_scope(user=request.user), page=_page_number(request), page_size=PAGE_SIZE
    )
    context = {
        "page": page,
        "may_declare": may_declare,
        "own": roles.inspector,
        "values": values,
        "error": error,
        "query": _query(request, "page"),
    }
    return render(request, "planning/conflicts.html", context, status=status)


@login_required
@require_POST
def conflict_end(request, pk: int):
    declaration = get_object_or_404(selectors.conflicts_in_scope(user=request.user), pk=pk)
    try:
        conflicts.conflict_end(actor=request.user, declaration=declaration)
    except PlanningError as exc:
        if exc.status == 403:
            raise Http404 from None
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The declaration has ended."))
    return redirect("planning:conflicts")


# --- burden -------------------------------------------------------------------------------------------


@login_required
@require_GET
def burden(request):
    scope = _planner(request.user)
    today = timezone.localdate()
    filters = {
        "from": request.GET.get("from", "").strip() or date(today.year, 1, 1).isoformat(),
        "to": request.GET.get("to", "").strip() or date(today.year, 12, 31).isoformat(),
        "district": request.GET.get("district", "").strip(),
        "scene": request.GET.get("scene", "").strip(),
    }
    error, rows, page = None, [], None
    try:
        first, last = (
            _date(filters["from"], _("start of the period")),
            _date(filters["to"], _("end of the period")),
        )
        if last < first:
            raise refuse(_("The period ends before it starts."), "invalid_period")
        district, scene = selectors.burden_filters(district=filters["district"], scene=filters["scene"])
    except DomainError as exc:
        error = exc
    else:
        page = Page(
            selectors.burden(
                user=request.user, period_from=first, period_to=last, district=district, scene=scene
            ),
            page=_page_number(request),
            page_size=PAGE_SIZE,
        )
        rows = selectors.burden_departments(rows=page.items, period_from=first, period_to=last)
    context = {
        "filters": filters,
        "error": error,
        "rows": rows,
        "page": page,
        "scenes": Scene.objects.order_by("code"),
        "query": _query(request, "page"),
        **_choices(scope),
    }
    return render(request, "planning/burden.html", context, status=error.status if error else 200)
