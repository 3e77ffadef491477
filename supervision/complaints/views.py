"""The complaint desk (co-governance): the complaints the public sent from the card, for officials.

Regulators triage those about enterprises in their scope (dismiss, merge, send inspectors) and
read the reporter's contact; inspectors read the complaints their own tasks check, the contact
masked. Anyone else gets 404, as for a page that does not exist. Every change goes through
supervision.complaints.services; a refused form is shown again with the reason and nothing written.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import permissions
from core.errors import DomainError
from core.models import Complaint, District, Inspector
from core.pagination import Page
from supervision.complaints import services as triage
from supervision.complaints.permissions import complaints_visible_to, may_see_complaints
from supervision.inspections.permissions import tasks_visible_to

PAGE_SIZE = 50


def _gate(user) -> None:
    if not may_see_complaints(user):
        raise Http404


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _complaint(request, pk: int) -> Complaint:
    _gate(request.user)
    return get_object_or_404(
        complaints_visible_to(request.user).select_related(
            "enterprise__district", "enterprise__scene", "duplicate_of", "triaged_by"
        ),
        pk=pk,
    )


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@login_required
@require_GET
def complaint_list(request):
    _gate(request.user)
    raw = {key: request.GET.get(key, "").strip() for key in ("status", "district", "enterprise")}
    error = None
    try:
        filters = triage.complaint_filters_parse(**raw)
    except DomainError as exc:
        filters, error = triage.ComplaintFilters(), exc.message
    page = Page(
        triage.complaint_list(user=request.user, filters=filters),
        page=_page_number(request),
        page_size=PAGE_SIZE,
    )
    triage.complaints_reveal(user=request.user, complaints=page.items)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": raw,
        "error": error,
        "statuses": Complaint.Status.choices,
        "districts": District.objects.exclude(level=District.Level.STREET),
        "query": query.urlencode(),
    }
    return render(request, "complaints/list.html", context, status=400 if error else 200)


def _render_detail(request, complaint: Complaint, *, error=None, form: str = "", values=None, status=200):
    triage.complaints_reveal(user=request.user, complaints=[complaint])
    open_for_triage = complaint.triageable and complaint.status == Complaint.Status.NEW
    today = timezone.localdate()
    regulator = permissions.roles_of(request.user).regulator
    context = {
        "complaint": complaint,
        "enterprise": complaint.enterprise,
        "error": error,
        "form": form,
        "values": values or {},
        "today": today.isoformat(),
        "open_for_triage": open_for_triage,
        "candidates": triage.merge_candidates(complaint=complaint) if open_for_triage else [],
        "inspectors": (
            list(permissions.inspectors_with_jurisdiction(enterprise=complaint.enterprise))
            if open_for_triage
            else []
        ),
        "departments": complaint.enterprise.scene.departments.all() if open_for_triage else [],
        "own_department": regulator.department.code if regulator and regulator.department_id else "",
        "tasks": tasks_visible_to(request.user)
        .filter(complaint=complaint)
        .select_related("department")
        .order_by("-created_at"),
        "duplicates": complaint.duplicates.order_by("-created_at")[:20],
    }
    return render(request, "complaints/detail.html", context, status=status)


@login_required
@require_GET
def complaint_detail(request, pk: int):
    return _render_detail(request, _complaint(request, pk))


def _refused(request, complaint, exc: DomainError, form: str):
    values = {**request.POST.dict(), "inspectors": request.POST.getlist("inspectors")}
    return _render_detail(request, complaint, error=exc, form=form, values=values, status=exc.status)


@login_required
@require_POST
def complaint_dismiss(request, pk: int):
    complaint = _complaint(request, pk)
    try:
        triage.complaint_dismiss(
            complaint=complaint, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        return _refused(request, complaint, exc, "dismiss")
    messages.success(request, _("The complaint was dismissed."))
    return redirect("complaints:detail", pk=complaint.pk)


@login_required
@require_POST
def complaint_merge(request, pk: int):
    complaint = _complaint(request, pk)
    raw = request.POST.get("into", "").strip()
    # Only a complaint the user sees can be named; any other id reads as "none chosen".
    into = complaints_visible_to(request.user).filter(pk=raw).first() if raw.isdigit() else None
    try:
        triage.complaint_merge(complaint=complaint, actor=request.user, into=into)
    except DomainError as exc:
        return _refused(request, complaint, exc, "merge")
    messages.success(request, _("The complaint was merged as a duplicate."))
    return redirect("complaints:detail", pk=complaint.pk)


@login_required
@require_POST
def complaint_task(request, pk: int):
    complaint = _complaint(request, pk)
    ids = [int(value) for value in request.POST.getlist("inspectors") if value.isdigit()]
    # Any inspector id may be posted: task_create checks each one's jurisdiction and refuses.
    found = Inspector.objects.select_related("user", "department").in_bulk(ids)
    try:
        task = triage.complaint_to_task(
            complaint=complaint,
            actor=request.user,
            inspectors=[found[pk] for pk in ids if pk in found],
            due_from=_date(request.POST.get("due_from")),
            due_to=_date(request.POST.get("due_to")),
            department=request.POST.get("department", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        return _refused(request, complaint, exc, "task")
    messages.success(request, _("Task #%(id)d was planned to check the complaint.") % {"id": task.pk})
    return redirect("complaints:detail", pk=complaint.pk)
