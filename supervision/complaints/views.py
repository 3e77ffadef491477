"""The complaint desk (co-governance): the complaints the public sent from the card, for officials.

Regulators triage those about enterprises in their scope (dismiss, merge, send inspectors) and
read the reporter's contact; inspectors read the complaints their own tasks check, the contact
masked. Anyone else gets 404, as for a page that does not exist. Every change goes through
supervision.complaints.services; a refused form is shown again with the reason and nothing written.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import permissions
from core.errors import DomainError
from core.models import Complaint, District
from core.pages import paginate
from core.photos import SERVED_VARIANTS, photo_response
from supervision.complaints import selectors
from supervision.complaints import services as triage
from supervision.complaints.floods import floods_recent
from supervision.complaints.forms import ComplaintTaskForm, DismissForm, MergeForm
from supervision.complaints.permissions import complaints_visible_to, may_see_complaints
from supervision.inspections.permissions import tasks_visible_to

PAGE_SIZE = 50


def _gate(user) -> None:
    if not may_see_complaints(user):
        raise Http404


def _complaint(request, pk: int) -> Complaint:
    _gate(request.user)
    return get_object_or_404(
        complaints_visible_to(request.user).select_related(
            "enterprise__district", "enterprise__scene", "duplicate_of", "triaged_by"
        ),
        pk=pk,
    )


@login_required
@require_GET
def complaint_list(request):
    _gate(request.user)
    raw = {key: request.GET.get(key, "").strip() for key in ("status", "district", "enterprise")}
    error = None
    try:
        filters = selectors.complaint_filters_parse(**raw)
    except DomainError as exc:
        filters, error = selectors.ComplaintFilters(), exc.message
    page = paginate(
        request, selectors.complaint_list(user=request.user, filters=filters), page_size=PAGE_SIZE
    )
    selectors.complaints_reveal(user=request.user, complaints=page.items)
    context = {
        "page": page,
        "filters": raw,
        "error": error,
        "statuses": Complaint.Status.choices,
        "districts": District.objects.exclude(level=District.Level.STREET),
        # Possible floods of reports in the regulator's scope (supervision.complaints.floods).
        "floods": floods_recent(user=request.user),
    }
    return render(request, "complaints/list.html", context, status=400 if error else 200)


def _render_detail(request, complaint: Complaint, *, error=None, status=200, **posted):
    """``posted``: the one triage form that was refused (``dismiss_form``, ``merge_form`` or
    ``task_form``), shown again as it was filled in; the others are shown blank."""
    selectors.complaints_reveal(user=request.user, complaints=[complaint])
    open_for_triage = complaint.triageable and complaint.status == Complaint.Status.NEW
    regulator = permissions.roles_of(request.user).regulator
    own_department = regulator.department.code if regulator and regulator.department_id else ""
    context = {
        "complaint": complaint,
        "enterprise": complaint.enterprise,
        "error": error,
        "open_for_triage": open_for_triage,
        "candidates": selectors.merge_candidates(complaint=complaint) if open_for_triage else [],
        "inspectors": (
            list(permissions.inspectors_with_jurisdiction(enterprise=complaint.enterprise))
            if open_for_triage
            else []
        ),
        "departments": complaint.enterprise.scene.departments.all() if open_for_triage else [],
        "tasks": tasks_visible_to(request.user)
        .filter(complaint=complaint)
        .select_related("department")
        .order_by("-created_at"),
        "duplicates": complaint.duplicates.order_by("-created_at")[:20],
        "dismiss_form": DismissForm(),
        "merge_form": MergeForm(complaints=complaints_visible_to(request.user)),
        "task_form": ComplaintTaskForm(
            initial={"due_from": timezone.localdate().isoformat(), "department": own_department}
        ),
        **posted,
    }
    return render(request, "complaints/detail.html", context, status=status)


@login_required
@require_GET
def complaint_detail(request, pk: int):
    return _render_detail(request, _complaint(request, pk))


# A refused triage is shown on the complaint's page, whatever the refusal (not allowed, no longer
# new, a missing reason): with its code, next to the forms, the one that was posted as it was filled in.


@login_required
@require_POST
def complaint_dismiss(request, pk: int):
    complaint = _complaint(request, pk)
    form = DismissForm(request.POST)
    form.is_valid()  # the service judges the reason
    try:
        triage.complaint_dismiss(complaint=complaint, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        return _render_detail(request, complaint, error=exc, status=exc.status, dismiss_form=form)
    messages.success(request, _("The complaint was dismissed."))
    return redirect("complaints:detail", pk=complaint.pk)


@login_required
@require_POST
def complaint_merge(request, pk: int):
    complaint = _complaint(request, pk)
    form = MergeForm(request.POST, complaints=complaints_visible_to(request.user))
    form.is_valid()  # a complaint the user does not see reads as none chosen, which the service refuses
    try:
        triage.complaint_merge(complaint=complaint, actor=request.user, into=form.cleaned_data["into"])
    except DomainError as exc:
        return _render_detail(request, complaint, error=exc, status=exc.status, merge_form=form)
    messages.success(request, _("The complaint was merged as a duplicate."))
    return redirect("complaints:detail", pk=complaint.pk)


@login_required
@require_POST
def complaint_task(request, pk: int):
    complaint = _complaint(request, pk)
    form = ComplaintTaskForm(request.POST)
    form.is_valid()  # unreadable dates are None and unknown inspectors left out: the service refuses
    try:
        task = triage.complaint_to_task(complaint=complaint, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        return _render_detail(request, complaint, error=exc, status=exc.status, task_form=form)
    messages.success(request, _("Task #%(id)d was planned to check the complaint.") % {"id": task.pk})
    return redirect("complaints:detail", pk=complaint.pk)


@login_required
@require_GET
def complaint_photo(request, pk: int, variant: str):
    """The reporter's photo, for the officials who see the complaint: its display copy or thumbnail
    (re-encoded, metadata stripped by core.photos), never the original as uploaded."""
    if variant not in SERVED_VARIANTS:
        raise Http404
    complaint = _complaint(request, pk)
    if complaint.photo is None:
        raise Http404
    return photo_response(complaint.photo, variant)
