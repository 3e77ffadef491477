"""Regulators' desktop pages: the loop monitor, the ratings of inspections, the inspectors'
consistency report, and task planning.

Only regulators and platform admins reach them (anyone else gets 404, as for a page that does not
exist); every number is limited to the enterprises in the user's scope by supervision.monitor.selectors
(the consistency report lists only inspectors and visits in scope, but compares them with rates
drawn from every inspection of the period: supervision.monitor.consistency).
Exports are data leaving the system, so each one is written to the audit chain.
"""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from core.audit import audit_record
from core.errors import DomainError
from core.pages import paginate
from supervision.inspections import services as workflow
from supervision.inspections.permissions import tasks_visible_to
from supervision.models import InspectionTask
from supervision.monitor import consistency
from supervision.monitor import selectors as monitor
from supervision.monitor.forms import ConsistencyFilterForm, TaskCancelForm, TaskPlanForm

PAGE_SIZE = 50


def _regulator_only(user) -> None:
    if not permissions.may_see_audit(user):
        raise Http404


def _date_range(request):
    """(from, to, error): a malformed range is reported on the page, not guessed at."""
    try:
        first, last = monitor.date_range_parse(start=request.GET.get("from"), end=request.GET.get("to"))
    except DomainError as exc:
        return None, None, exc.message
    return first, last, None


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    # The BOM makes Excel read the file as UTF-8, so Chinese names survive a double-click.
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _blank(value) -> str:
    return "" if value is None else str(value)


def _range_data(first: date | None, last: date | None) -> dict:
    return {"from": first.isoformat() if first else None, "to": last.isoformat() if last else None}


# --- the loop monitor ----------------------------------------------------------------------------------


@login_required
@require_GET
def loop(request):
    _regulator_only(request.user)
    by = request.GET.get("by") or "district"
    if by not in monitor.GROUPINGS:
        by = "district"
    first, last, error = _date_range(request)
    now = timezone.now()
    table = monitor.loop_monitor(user=request.user, by=by, now=now, issued_from=first, issued_to=last)
    if request.GET.get("format") == "csv" and not error:
        return _loop_csv(request, table, first, last)
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "table": table,
        "by": by,
        "groupings": [
            ("district", _("District")),
            ("scene", _("Scene")),
            ("department", _("Department")),
        ],
        "filters": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        "error": error,
        "now": now,
        "overdue": monitor.overdue_orders(user=request.user, now=now, issued_from=first, issued_to=last),
        "csv_query": f"{query.urlencode()}{'&' if query else ''}format=csv",
    }
    return render(request, "monitor/loop.html", context, status=400 if error else 200)


def _loop_csv(request, table: monitor.LoopTable, first, last) -> HttpResponse:
    header = [
        {"district": _("District"), "scene": _("Scene"), "department": _("Department")}[table.by],
        pgettext("orders", "Open"),
        _("Overdue"),
        _("Closed"),
        _("Closed within deadline"),
        _("Closed within deadline (%)"),
        _("Escalated"),
        _("Median days to close"),
    ]
    rows = [
        [
            row.label,
            row.open,
            row.overdue,
            row.closed,
            row.closed_on_time,
            _blank(row.closed_on_time_pct),
            row.escalated,
            _blank(row.median_days),
        ]
        for row in [*table.rows, table.totals]
    ]
    audit_record(
        actor=request.user,
        action="export.loop_monitor",
        data={"by": table.by, **_range_data(first, last), "rows": len(table.rows)},
    )
    stamp = timezone.localdate().isoformat()
    return _csv_response(f"loop-monitor-{table.by}-{stamp}.csv", header, rows)


# --- ratings -------------------------------------------------------------------------------------------


@login_required
@require_GET
def ratings(request):
    _regulator_only(request.user)
    first, last, error = _date_range(request)
    if request.GET.get("format") == "csv" and not error:
        return _ratings_csv(request, first, last)
    page = paginate(
        request,
        monitor.ratings_by_inspector_qs(user=request.user, created_from=first, created_to=last),
        page_size=PAGE_SIZE,
    )
    query = request.GET.copy()
    for key in ("page", "format", "table"):
        query.pop(key, None)
    # The pager's links, like the export links, leave out which export was asked for.
    page.query = query.urlencode()
    context = {
        "departments": monitor.ratings_by_department(user=request.user, created_from=first, created_to=last),
        "inspectors": monitor.ratings_rows(page.items),
        "page": page,
        "filters": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        "error": error,
        "query": page.query,
    }
    return render(request, "monitor/ratings.html", context, status=400 if error else 200)


def _ratings_csv(request, first, last) -> HttpResponse:
    table = "department" if request.GET.get("table") == "department" else "inspector"
    if table == "department":
        rows = monitor.ratings_by_department(user=request.user, created_from=first, created_to=last)
        header = [_("Department")]
    else:
        # All inspectors in scope: values rows are small, the names come in one query.
        rows = monitor.ratings_rows(
            list(monitor.ratings_by_inspector_qs(user=request.user, created_from=first, created_to=last))
        )
        header = [_("Inspector"), _("Department")]
    header += [_("Evaluations"), _("Mean rating"), _("1-2 star ratings"), _("1-2 star ratings (%)")]
    lines = [
        [
            row.label,
            *([] if table == "department" else [row.department]),
            row.count,
            _blank(row.mean),
            row.low,
            _blank(row.low_pct),
        ]
        for row in rows
    ]
    audit_record(
        actor=request.user,
        action="export.ratings",
        data={"table": table, **_range_data(first, last), "rows": len(lines)},
    )
    stamp = timezone.localdate().isoformat()
    return _csv_response(f"ratings-{table}-{stamp}.csv", header, lines)


# --- inspectors' consistency ---------------------------------------------------------------------------


def _decimal(value: float | None, places: int) -> str:
    return "" if value is None else f"{value:.{places}f}"


@login_required
@require_GET
def inspector_consistency(request):
    """Each inspector's finding rate against the rate expected for the visits they made (the method
    is supervision.monitor.consistency's docstring, and is said on the page). An inspector sees no
    colleague's figures: the page is 404 for anyone but regulators and admins."""
    _regulator_only(request.user)
    departments = consistency.departments_for(request.user)
    districts = consistency.districts_for(request.user)
    form = ConsistencyFilterForm(
        request.GET, departments=departments, districts=districts, today=timezone.localdate()
    )
    sort = request.GET.get("sort", "")
    if sort not in consistency.SORTS:
        sort = consistency.SORTS[0]
    context = {
        "form": form,
        "departments": list(departments),
        "districts": list(districts),
        "severities": list(consistency.SEVERITY_LABELS.items()),
        "sort": sort,
        "confidence": round(consistency.CONFIDENCE * 100),
        "minimum": consistency.DEFAULT_MINIMUM,
        "rows": None,
    }
    if not form.is_valid():
        context["values"] = {name: form.data.get(name, "") for name in form.fields}
        return render(request, "monitor/consistency.html", context, status=400)
    arguments = form.report_arguments()
    rows = consistency.sort_rows(consistency.consistency_report(user=request.user, **arguments), sort)
    if request.GET.get("format") == "csv":
        return _consistency_csv(request, rows, arguments, sort)
    page = paginate(request, rows, page_size=PAGE_SIZE)
    consistency.name_rows(page.items)
    query = request.GET.copy()
    for key in ("page", "format", "sort"):
        query.pop(key, None)
    context |= {
        "page": page,
        "rows": page.items,
        "minimum": arguments["minimum"],
        "severity_label": consistency.SEVERITY_LABELS[arguments["severity"]],
        "values": {
            "from": arguments["first"].isoformat(),
            "to": arguments["last"].isoformat(),
            "department": arguments["department"].code if arguments["department"] else "",
            "district": arguments["district"].code if arguments["district"] else "",
            "severity": arguments["severity"],
            "minimum": arguments["minimum"],
        },
        "query": query.urlencode(),
    }
    return render(request, "monitor/consistency.html", context)


def _consistency_csv(request, rows, arguments: dict, sort: str) -> HttpResponse:
    consistency.name_rows(rows)
    confidence = round(consistency.CONFIDENCE * 100)
    header = [
        _("Inspector"),
        _("Department"),
        _("Inspections compared"),
        _("Not compared"),
        _("Observed"),
        _("Expected"),
        _("Observed / expected"),
        _("%(confidence)s%% interval, lower bound") % {"confidence": confidence},
        _("%(confidence)s%% interval, upper bound") % {"confidence": confidence},
        _("Assessment"),
    ]
    lines = [
        [
            row.label,
            row.department,
            row.inspections,
            row.not_compared,
            row.observed,
            _decimal(row.expected, 3),
            _decimal(row.ratio, 3),
            _decimal(row.judgement.lower, 3),
            _decimal(row.judgement.upper, 3),
            str(row.flag_label),
        ]
        for row in rows
    ]
    department, district = arguments["department"], arguments["district"]
    audit_record(
        actor=request.user,
        action="export.inspector_consistency",
        data={
            **_range_data(arguments["first"], arguments["last"]),
            "severity": arguments["severity"],
            "department": department.code if department else None,
            "district": district.code if district else None,
            "minimum": arguments["minimum"],
            "sort": sort,
            "rows": len(lines),
        },
    )
    stamp = timezone.localdate().isoformat()
    return _csv_response(f"inspector-consistency-{stamp}.csv", header, lines)


# --- planning ------------------------------------------------------------------------------------------


def _plannable_enterprise(request, uscc: str):
    enterprise = (
        permissions.enterprises_visible_to(request.user)
        .select_related("district", "scene")
        .filter(uscc=uscc.strip().upper())
        .first()
    )
    if enterprise is None or not permissions.can_plan_tasks(request.user, enterprise):
        raise Http404
    return enterprise


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request):
    _regulator_only(request.user)
    enterprise = _plannable_enterprise(request, request.GET.get("enterprise", ""))
    form = TaskPlanForm(
        request.POST if request.method == "POST" else None,
        initial={"due_from": timezone.localdate().isoformat()},
    )
    error, status = None, 200
    if form.is_bound and not form.is_valid():
        error, status = form.refusal, 422
    elif form.is_bound:
        try:
            task = workflow.task_create(actor=request.user, enterprise=enterprise, **form.cleaned_data)
        except DomainError as exc:
            error, status = exc, exc.status
        else:
            messages.success(request, _("Task #%(id)d was planned.") % {"id": task.pk})
            return redirect("monitor:tasks")
    context = {
        "enterprise": enterprise,
        "choices": list(monitor.inspectors_for_enterprise(enterprise=enterprise)),
        "form": form,
        "error": error,
        "sources": InspectionTask.Source.choices,
    }
    return render(request, "monitor/task_new.html", context, status=status)


@login_required
@require_GET
def tasks(request):
    _regulator_only(request.user)
    status = request.GET.get("status", "")
    if status not in InspectionTask.Status.values:
        status = ""
    page = paginate(
        request, monitor.tasks_in_scope(user=request.user, status=status or None), page_size=PAGE_SIZE
    )
    context = {
        "page": page,
        "status": status,
        "statuses": InspectionTask.Status.choices,
        "cancellable": (InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS),
    }
    return render(request, "monitor/tasks.html", context)


@login_required
@require_POST
def task_cancel(request, pk: int):
    _regulator_only(request.user)
    task = get_object_or_404(tasks_visible_to(request.user), pk=pk)
    form = TaskCancelForm(request.POST)
    form.is_valid()  # the service judges the reason
    try:
        workflow.task_cancel(task=task, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Task #%(id)d was cancelled.") % {"id": task.pk})
    back = form.cleaned_data["next"]
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("monitor:tasks")
