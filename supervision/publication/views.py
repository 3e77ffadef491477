"""一公开 pages: the public list of published inspection results (no sign-in), a result's objection
page (the business objects, a regulator in scope decides), and the regulators' objection queue.

The public list shows only what supervision.publication.selectors.public_rows gives: never a person's name,
a note, a photo or a score. Every change goes through supervision.publication.services.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from core.errors import DomainError
from core.models import District, Scene
from core.pages import paginate
from supervision.inspections.permissions import inspections_visible_to
from supervision.models import Inspection, Objection
from supervision.publication import selectors
from supervision.publication import services as publication
from supervision.publication.forms import DecisionForm, ObjectionForm
from supervision.publication.permissions import can_decide_objection

PAGE_SIZE = 50


@require_GET
def published_list(request):
    raw = {key: request.GET.get(key, "").strip() for key in ("district", "scene")}
    error = None
    try:
        filters = selectors.public_filters_parse(**raw)
    except DomainError as exc:
        filters, error = selectors.PublicFilters(), exc.message
    page = paginate(request, selectors.published_list(filters=filters), page_size=PAGE_SIZE)
    context = {
        "rows": selectors.public_rows(page.items),
        "page": page,
        "filters": raw,
        "error": error,
        "districts": District.objects.exclude(level=District.Level.STREET),
        "scenes": Scene.objects.all(),
    }
    return render(request, "publication/list.html", context, status=400 if error else 200)


def _inspection(request, pk: int) -> Inspection:
    """A submitted result the user sees: the business's members and officials in scope."""
    return get_object_or_404(
        inspections_visible_to(request.user)
        .filter(status=Inspection.Status.SUBMITTED)
        .select_related("enterprise__district", "enterprise__scene", "task", "objection"),
        pk=pk,
    )


def _render_objection(request, inspection: Inspection, *, error=None, status=200, **posted):
    """``posted``: the refused form (``object_form`` or ``decide_form``), shown again as filled in."""
    try:
        objection = inspection.objection
    except Objection.DoesNotExist:
        objection = None
    published = selectors.is_published(inspection)
    is_member = permissions.is_member(request.user, inspection.enterprise)
    context = {
        "inspection": inspection,
        "enterprise": inspection.enterprise,
        "result": selectors.public_rows([inspection])[0],
        "goes_public_at": selectors.goes_public_at(inspection),
        "published": published,
        "objection": objection,
        "may_object": is_member and published and objection is None,
        "may_decide": objection is not None
        and objection.status == Objection.Status.PENDING
        and can_decide_objection(request.user, inspection.enterprise),
        "conclusions": Inspection.Conclusion.choices,
        "error": error,
        "now": timezone.now(),
        "object_form": ObjectionForm(),
        "decide_form": DecisionForm(),
        **posted,
    }
    return render(request, "publication/objection.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def objection(request, pk: int):
    inspection = _inspection(request, pk)
    if request.method == "POST":
        form = ObjectionForm(request.POST)
        form.is_valid()  # the service judges the reason
        try:
            publication.objection_submit(
                inspection=inspection, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            return _render_objection(request, inspection, error=exc, status=exc.status, object_form=form)
        messages.success(request, _("Your objection was sent to the regulator."))
        return redirect("publication:objection", pk=inspection.pk)
    return _render_objection(request, inspection)


@login_required
@require_POST
def objection_decision(request, pk: int):
    inspection = _inspection(request, pk)
    form = DecisionForm(request.POST)
    form.is_valid()  # the service judges the decision, as it does through the API
    data = form.cleaned_data
    try:
        publication.objection_decide(
            inspection=inspection,
            actor=request.user,
            upheld=data["decision"],
            note=data["note"],
            correction=data["correction"],
            corrected_conclusion=data["corrected_conclusion"],
        )
    except DomainError as exc:
        return _render_objection(request, inspection, error=exc, status=exc.status, decide_form=form)
    messages.success(request, _("The decision was recorded."))
    return redirect("publication:objection", pk=inspection.pk)


@login_required
@require_GET
def objection_queue(request):
    """Regulators (and admins): the objections in their scope, pending first by default."""
    if not permissions.may_see_audit(request.user):
        raise Http404
    status = request.GET.get("status", Objection.Status.PENDING)
    if status not in Objection.Status.values:
        status = ""
    page = paginate(request, selectors.objection_list(user=request.user, status=status), page_size=PAGE_SIZE)
    context = {"page": page, "status": status, "statuses": Objection.Status.choices}
    return render(request, "publication/objections.html", context)
