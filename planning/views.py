"""Regulators' planning pages: risk-driven plans and double-random draws (form -> recorded draft
preview -> confirm), a draw's record with its verification, the burden view; and the conflicts
of interest inspectors declare.

Plans, draws and the burden view are for those who plan (core.permissions.planning_scope:
regulators within their scope, admins); anyone else gets 404, as for a page that does not exist.
Conflicts: inspectors declare their own, regulators see those in their scope.
"""

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from core.errors import DomainError
from core.models import Department, District, Inspector, Scene
from core.pages import paginate
from planning import conflicts, draws, plans, selectors
from planning.common import PlanningError, refuse
from planning.forms import PERIOD_FROM, PERIOD_TO, ConflictForm, DrawForm, PlanForm, iso_date
from planning.models import PlanEntry
from supervision.risk import scoring

PAGE_SIZE = 50


def _planner(user) -> permissions.PlanningScope:
    scope = permissions.planning_scope(user)
    if scope is None:
        raise Http404
    return scope


def _choices(scope: permissions.PlanningScope) -> dict:
    """The departments and districts a planner may choose from."""
    departments = (
        [scope.department] if scope.department is not None else list(Department.objects.order_by("code"))
    )
    districts = District.objects.order_by("path")
    if scope.district is not None:
        districts = districts.filter(path__startswith=scope.district.path)
    return {"departments": departments, "districts": list(districts), "scope": scope}


# --- plans ------------------------------------------------------------------------------------------


@login_required
@require_GET
def plan_list(request):
    _planner(request.user)
    page = paginate(request, selectors.plans_in_scope(user=request.user), page_size=PAGE_SIZE)
    return render(request, "planning/plan_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request):
    scope = _planner(request.user)
    form = PlanForm(request.POST if request.method == "POST" else None, actor=request.user, scope=scope)
    error = None
    if form.is_bound:
        try:
            plan = plans.plan_generate(actor=request.user, **form.arguments())
        except DomainError as exc:
            error = exc
        else:
            return redirect("planning:plan", pk=plan.pk)
    context = {"values": form.values(), "error": error, **_choices(scope)}
    return render(request, "planning/plan_new.html", context, status=error.status if error else 200)


@login_required
@require_GET
def plan_detail(request, pk: int):
    _planner(request.user)
    plan = get_object_or_404(selectors.plans_in_scope(user=request.user), pk=pk)
    scheduled = paginate(
        request, selectors.plan_entries(plan=plan, scheduled=True), page_size=PAGE_SIZE, name="s"
    )
    unplaced = paginate(
        request, selectors.plan_entries(plan=plan, scheduled=False), page_size=PAGE_SIZE, name="u"
    )
    _name_teams(scheduled.items)
    counts = selectors.plan_outcomes(plan=plan)
    context = {
        "plan": plan,
        "outcomes": [(label, value, counts[value]) for value, label in PlanEntry.Outcome.choices],
        "scheduled_count": counts[PlanEntry.Outcome.SCHEDULED],
        "due_count": sum(counts.values()),
        "scheduled": scheduled,
        "unplaced": unplaced,
    }
    return render(request, "planning/plan_detail.html", context)


@login_required
@require_POST
def plan_confirm(request, pk: int):
    _planner(request.user)
    plan = get_object_or_404(selectors.plans_in_scope(user=request.user), pk=pk)
    try:
        plan = plans.plan_confirm(plan=plan, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        visits = selectors.plan_outcomes(plan=plan)[PlanEntry.Outcome.SCHEDULED]
        messages.success(
            request,
            ngettext(
                "The plan is confirmed: %(n)d visit is planned.",
                "The plan is confirmed: %(n)d visits are planned.",
                visits,
            )
            % {"n": visits},
        )
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
    page = paginate(request, selectors.draws_in_scope(user=request.user), page_size=PAGE_SIZE)
    return render(request, "planning/draw_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def draw_new(request):
    scope = _planner(request.user)
    form = DrawForm(request.POST if request.method == "POST" else None, actor=request.user, scope=scope)
    error = None
    if form.is_bound:
        try:
            draw = draws.draw_create(actor=request.user, **form.arguments())
        except DomainError as exc:
            error = exc
        else:
            messages.success(
                request, _("The draw is recorded as a draft with its seed; confirm it to plan the tasks.")
            )
            return redirect("planning:draw", pk=draw.pk)
    values = form.values()
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
    return render(request, "planning/draw_new.html", context, status=error.status if error else 200)


@login_required
@require_GET
def draw_detail(request, pk: int):
    _planner(request.user)
    draw = get_object_or_404(selectors.draws_in_scope(user=request.user), pk=pk)
    entries = paginate(
        request,
        draw.entries.select_related("enterprise__district", "enterprise__scene", "task").order_by("position"),
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
        "tiers": [
            {"tier": tier, "percent": Decimal(ratio) * 100, "pool": pool, "drawn": drawn}
            for tier, ratio, pool, drawn in draws.drawn_tiers(inputs)
        ],
        "entries": entries,
        "verification": draws.draw_verify(draw=draw) if request.GET.get("verify") else None,
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
    form = ConflictForm(request.POST if request.method == "POST" else None, actor=request.user)
    error, status = None, 200
    if form.is_bound:
        if not may_declare:
            raise Http404
        try:
            conflicts.conflict_declare(actor=request.user, **form.arguments())
        except DomainError as exc:
            error, status = exc, exc.status if exc.status != 404 else 422
        else:
            messages.success(
                request, _("Your conflict of interest is declared; no draw or plan sends you there.")
            )
            return redirect("planning:conflicts")
    context = {
        "page": paginate(request, selectors.conflicts_in_scope(user=request.user), page_size=PAGE_SIZE),
        "may_declare": may_declare,
        "own": roles.inspector,
        "values": form.values(),
        "error": error,
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
        first, last = iso_date(filters["from"], PERIOD_FROM), iso_date(filters["to"], PERIOD_TO)
        if last < first:
            raise refuse(_("The period ends before it starts."), "invalid_period")
        district, scene = selectors.burden_filters(district=filters["district"], scene=filters["scene"])
    except DomainError as exc:
        error = exc
    else:
        page = paginate(
            request,
            selectors.burden(
                user=request.user, period_from=first, period_to=last, district=district, scene=scene
            ),
            page_size=PAGE_SIZE,
        )
        rows = selectors.burden_departments(rows=page.items, period_from=first, period_to=last)
    context = {
        "filters": filters,
        "error": error,
        "rows": rows,
        "page": page,
        "scenes": Scene.objects.order_by("code"),
        **_choices(scope),
    }
    return render(request, "planning/burden.html", context, status=error.status if error else 200)
