"""The inspector's day: today's tasks, the typed fallback of the code scanner, the day's route, and
starting an inspection."""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import permissions
from core import selectors as core_selectors
from core.codes import code_resolve, normalize_token
from core.errors import DomainError
from core.models import IdentityCode, Inspector
from core.pages import paginate
from supervision.inspections import route, selectors
from supervision.inspections import services as workflow
from supervision.inspections.permissions import tasks_visible_to
from supervision.inspections.views._common import PAGE_SIZE
from supervision.models import Inspection


@login_required
@require_GET
def today(request):
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    return _render_today(request)


def _render_today(request, *, code: str = "", error: str | None = None, status: int = 200):
    day = timezone.localdate()
    me = permissions.roles_of(request.user).inspector
    tasks = selectors.tasks_for_day(user=request.user, day=day).prefetch_related(
        Prefetch("inspectors", queryset=Inspector.objects.select_related("user").order_by("pk"))
    )
    page = paginate(request, tasks, page_size=PAGE_SIZE)
    # The pager's links carry no other parameter, as this list has no filters: the scan form's code
    # (when the scan page shows this list under its error) is not one of them.
    page.query = ""
    started = dict(
        Inspection.objects.filter(task__in=[task.pk for task in page.items]).values_list("task_id", "pk")
    )
    rows = [
        {
            "task": task,
            "co_inspectors": [i for i in task.inspectors.all() if i.pk != me.pk],
            "inspection_id": started.get(task.pk),
            "late": task.due_to < day,
        }
        for task in page.items
    ]
    context = {
        "day": day,
        "rows": rows,
        "page": page,
        "code": code,
        "scan_error": error,
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
    return render(request, "inspections/today.html", context, status=status)


# The most visits one day's route shows; a longer list is a planning problem, not a route.
ROUTE_LIMIT = 60


def _start_point(raw: str) -> tuple[float, float] | None:
    """``?from=lat,lng`` from the tablet's location; anything else means "start at the first task"."""
    try:
        lat, lng = (float(part) for part in raw.split(","))
    except ValueError:
        return None
    return (lat, lng) if -90 <= lat <= 90 and -180 <= lng <= 180 else None


@login_required
@require_GET
def today_route(request):
    """Today's visits in a route order with distances, and a sketch of the route (no map tiles)."""
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    day = timezone.localdate()
    # Most overdue first: without a location the route starts at the most urgent visit.
    tasks = list(selectors.tasks_for_day(user=request.user, day=day)[: ROUTE_LIMIT + 1])
    start = _start_point(request.GET.get("from", ""))
    stops, unplaced = route.day_route(tasks[:ROUTE_LIMIT], start=start)
    context = {
        "day": day,
        "stops": stops,
        "unplaced": unplaced,
        "more": len(tasks) > ROUTE_LIMIT,
        "limit": ROUTE_LIMIT,
        "start": start,
        "bad_start": bool(request.GET.get("from")) and start is None,
        "sketch": route.sketch(stops),
    }
    return render(request, "inspections/route.html", context)


# A code's URL as printed (https://host/c/TOKEN) or just its path: the token is the last part.
_CODE_PATH = re.compile(r"/c/([^/?#\s]+)")


@login_required
@require_GET
def scan(request):
    """The typed fallback of the camera: a code token (or its URL) opens the landing; a credit
    code opens the entity card through the enterprise's active code, if the inspector sees it."""
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    raw = request.GET.get("code", "").strip()[:200]
    match = _CODE_PATH.search(raw)
    compact = re.sub(r"[\s-]", "", match.group(1) if match else raw)
    if not compact:
        return _render_today(
            request, error=_("Type the code printed under the QR code, or a credit code."), status=422
        )
    token = normalize_token(compact)
    if token is not None:
        if code_resolve(token).outcome == "unknown":
            return _render_today(
                request,
                code=raw,
                error=_("No enterprise has this code. Check the characters printed under the QR code."),
                status=404,
            )
        return redirect("landing", token=token)  # the landing records the scan, or says it is no longer valid
    try:
        enterprise = core_selectors.enterprise_get(user=request.user, uscc=compact)
    except DomainError as exc:
        if exc.status == 404:
            message = _("No enterprise in your jurisdiction has this credit code.")
        elif len(compact) == 18:
            message = exc.message
        else:
            message = _(
                "This is neither a code (22 characters under the QR code) nor a credit code (18 characters)."
            )
        return _render_today(request, code=raw, error=message, status=exc.status)
    code = IdentityCode.objects.filter(enterprise=enterprise, status=IdentityCode.Status.ACTIVE).first()
    if code is None:
        messages.info(request, _("This enterprise has no active code; here is its record."))
        return redirect("enterprise-detail", uscc=enterprise.uscc)
    return redirect("landing", token=code.token)


@login_required
@require_POST
def task_start(request, pk: int):
    task = get_object_or_404(tasks_visible_to(request.user), pk=pk)
    inspection = workflow.inspection_start(task=task, actor=request.user)
    return redirect("loop:inspection", pk=inspection.pk)
