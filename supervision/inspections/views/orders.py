"""Rectification orders' pages: the list, one order with its findings and rectifications, and the
forms on it: the business's rectification, the inspector's verification, a re-inspection, an
escalation. A refusal about the form is shown in its section; a refusal of the user propagates
(core.pages.DomainErrorMiddleware)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from checklists.models import Severity
from core import permissions
from core import selectors as core_selectors
from core.errors import DomainError
from core.models import Photo
from core.pages import paginate
from core.photos import photo_response
from supervision.inspections import selectors
from supervision.inspections import services as workflow
from supervision.inspections.forms import (
    EscalationForm,
    RectificationForm,
    ReinspectionForm,
    VerificationForm,
    first_error,
)
from supervision.inspections.permissions import (
    item_wall,
    order_behind_wall,
    orders_visible_to,
    staffing_departments,
)
from supervision.inspections.views._common import PAGE_SIZE, photo_pk
from supervision.models import (
    Finding,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationEntry,
    RectificationOrder,
)

ACTIVE_ORDER_STATUSES = (
    RectificationOrder.Status.ISSUED,
    RectificationOrder.Status.SUBMITTED,
    RectificationOrder.Status.RETURNED,
)


def _order(request, pk: int) -> RectificationOrder:
    return get_object_or_404(
        orders_visible_to(request.user).select_related(
            "enterprise__scene", "enterprise__district", "inspection"
        ),
        pk=pk,
    )


def _candidates(user, enterprise) -> list:
    """Whom the user may send back: inspectors with jurisdiction, of the departments they plan for."""
    candidates = permissions.inspectors_with_jurisdiction(enterprise=enterprise)
    departments = staffing_departments(user)
    if departments is not None:
        candidates = candidates.filter(department__in=departments)
    return list(candidates[:100])


@login_required
@require_GET
def order_list(request):
    roles = permissions.roles_of(request.user)
    if roles.primary == "public":
        raise Http404
    filters = {key: request.GET.get(key, "").strip() for key in ("status", "overdue", "enterprise")}
    queryset = orders_visible_to(request.user).select_related("enterprise")
    error = None
    try:
        if filters["enterprise"]:
            enterprise = core_selectors.enterprise_get(user=request.user, uscc=filters["enterprise"])
            queryset = queryset.filter(enterprise=enterprise)
        if filters["status"] == "active":
            queryset = queryset.filter(status__in=ACTIVE_ORDER_STATUSES)
        elif filters["status"]:
            if filters["status"] not in RectificationOrder.Status.values:
                raise DomainError(_("Unknown status."), code="unknown_status")
            queryset = queryset.filter(status=filters["status"])
        if filters["overdue"] in {"yes", "no"}:
            overdue = selectors.overdue_q(now=timezone.now())
            queryset = queryset.filter(overdue) if filters["overdue"] == "yes" else queryset.exclude(overdue)
        elif filters["overdue"]:
            raise DomainError(_("Unknown filter."), code="unknown_filter")
    except DomainError as exc:
        error, queryset = exc.message, RectificationOrder.objects.none()
    context = {
        "page": paginate(request, queryset.order_by("deadline", "pk"), page_size=PAGE_SIZE),
        "filters": filters,
        "statuses": RectificationOrder.Status.choices,
        "error": error,
    }
    return render(request, "inspections/order_list.html", context, status=400 if error else 200)


def _render_order(request, order: RectificationOrder, *, errors=None, values=None, status=200):
    errors, values = errors or {}, values or {}
    user, enterprise = request.user, order.enterprise
    # The department walls (permissions.item_wall): findings, evidence and the business's answers
    # of the departments whose items the viewer sees.
    sheet = selectors.order_sheet(order=order, viewer=user)
    evidence = {
        finding.pk: list(finding.answer.photos.all())
        for finding in Finding.objects.filter(sheet["wall"].q(), order=order)
        .select_related("answer")
        .prefetch_related("answer__photos")
    }
    texts, entry_errors = values.get("texts", {}), errors.get("entries", {})
    findings = [
        {
            **finding,
            "severity_label": Severity(finding["severity"]).label,
            "photos": evidence.get(finding["id"], []),
            "text": texts.get(finding["id"], ""),
            "error": entry_errors.get(finding["id"]),
        }
        for finding in sheet["findings"]
    ]
    entries = (
        RectificationEntry.objects.filter(sheet["wall"].q("finding__item__checklist__department"))
        .select_related("finding__item")
        .prefetch_related("photos")
    )
    rectifications = list(
        Rectification.objects.filter(order=order)
        .select_related("submitted_by", "reviewed_by")
        .prefetch_related(Prefetch("entries", queryset=entries.order_by("finding_id")))
        .order_by("-submitted_at")[:20]
    )
    # Officials act only on orders whose every finding they see (services.orders refuses the rest).
    walled = order_behind_wall(user, order)
    can_verify = permissions.can_verify_orders(user, enterprise) and not walled
    finished = order.status in (RectificationOrder.Status.CLOSED, RectificationOrder.Status.ESCALATED)
    can_reinspect = (
        not finished and not walled and (can_verify or permissions.can_plan_tasks(user, enterprise))
    )
    official = permissions.landing_view_for(user, enterprise) in {"inspector", "regulator"}
    today = timezone.localdate()
    context = {
        "order": order,
        "enterprise": enterprise,
        "overdue": order.is_overdue,
        "findings": findings,
        "rectifications": rectifications,
        "can_rectify": permissions.is_member(user, enterprise) and order.status in RectificationOrder.OPEN,
        "can_verify": can_verify and order.status == RectificationOrder.Status.SUBMITTED,
        "can_reinspect": can_reinspect,
        "can_escalate": order.is_overdue and not walled and permissions.can_escalate_orders(user, enterprise),
        "candidates": _candidates(user, enterprise) if can_reinspect else [],
        "reinspections": list(
            order.reinspection_tasks.filter(
                status__in=(InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS)
            ).order_by("due_from")
        )
        if official
        else [],
        "errors": errors,
        "values": values,
        "chosen": {str(pk) for pk in values.get("inspectors", [])},
        "today": today.isoformat(),
        "note_max": workflow.NOTE_MAX,
        "max_photos": workflow.MAX_PHOTOS_PER_ANSWER,
    }
    return render(request, "inspections/order.html", context, status=status)


@login_required
@require_GET
def order_detail(request, pk: int):
    return _render_order(request, _order(request, pk))


@login_required
@require_POST
def order_rectify(request, pk: int):
    order = _order(request, pk)
    form = RectificationForm(request.POST, request.FILES, findings=order.findings.all())

    def again(message: str, status: int = 422, missing=()):
        errors = {
            "rectify": form.refusal(message),
            "entries": {pk: _("Say what was done.") for pk in missing},
        }
        return _render_order(request, order, errors=errors, values=form.typed(), status=status)

    if not form.is_valid():
        return again(first_error(form))
    try:
        workflow.rectification_submit(
            order=order, actor=request.user, note=form.cleaned_data["note"], entries=form.entries()
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        missing = (exc.details or {}).get("findings", []) if exc.code == "incomplete" else []
        return again(exc.message, exc.status, missing)
    messages.success(request, _("Sent. An inspector will check your rectification."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_POST
def order_verify(request, pk: int):
    order = _order(request, pk)
    form = VerificationForm(request.POST)

    def again(message: str, status: int = 422):
        return _render_order(request, order, errors={"verify": message}, values=form.typed(), status=status)

    if not form.is_valid():
        return again(first_error(form))
    try:
        workflow.order_verify(
            order=order, actor=request.user, accepted=form.accepted, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        return again(exc.message, exc.status)
    if form.accepted:
        messages.success(request, _("Accepted: the order is closed."))
    else:
        messages.success(request, _("Rejected: the order is returned to the business with your reason."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_POST
def order_reinspect(request, pk: int):
    order = _order(request, pk)
    form = ReinspectionForm(request.POST)

    def again(message: str, status: int = 422):
        return _render_order(
            request, order, errors={"reinspect": message}, values=form.typed(), status=status
        )

    if not form.is_valid():
        return again(first_error(form))
    try:
        workflow.order_reinspect(order=order, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        if exc.status == 403:
            raise
        return again(exc.message, exc.status)
    messages.success(request, _("A re-inspection is planned; it is on the inspectors' task lists."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_POST
def order_escalate(request, pk: int):
    order = _order(request, pk)
    form = EscalationForm(request.POST)

    def again(message: str, status: int = 422):
        return _render_order(request, order, errors={"escalate": message}, values=form.typed(), status=status)

    if not form.is_valid():
        return again(first_error(form))
    try:
        workflow.order_escalate(order=order, actor=request.user, note=form.cleaned_data["reason"])
    except DomainError as exc:
        if exc.status == 403:
            raise
        return again(exc.message, exc.status)
    messages.success(request, _("The order is escalated to a case."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_GET
def order_photo(request, pk: int, photo_id: int, variant: str):
    """A photo of the order: the inspection's evidence for its findings, or the business's
    rectification evidence. Display copy or thumbnail only; never the original."""
    order = _order(request, pk)
    # Behind the department walls (permissions.item_wall): a photo of a finding the viewer does not
    # see, or of the business's answer to one, is a 404 like a photo of another order.
    wall = item_wall(request.user, order.inspection)
    rectified = RectificationEntry.photos.through.objects.filter(
        wall.q("rectificationentry__finding__item__checklist__department"),
        rectificationentry__rectification__order=order,
    )
    found = InspectionAnswer.photos.through.objects.filter(
        wall.q("inspectionanswer__item__checklist__department"), inspectionanswer__finding__order=order
    )
    photo = get_object_or_404(
        Photo,
        pk=photo_pk(photo_id),
        pk__in=rectified.values("photo_id").union(found.values("photo_id")),
    )
    return photo_response(photo, variant)
