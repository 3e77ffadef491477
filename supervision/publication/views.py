"""一公开 pages: the public list of published inspection results (no sign-in), a result's objection
page (the business objects, a regulator in scope decides), and the regulators' objection queue.

The public list shows only what supervision.publication.services.public_rows gives: never a person's name,
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
from core.pagination import Page
from supervision.inspections.permissions import inspections_visible_to
from supervision.models import Inspection, Objection
from supervision.publication import services as publication
from supervision.publication.permissions import can_decide_objection

PAGE_SIZE = 50
DECISIONS = {"uphold": True, "reject": False}


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


@require_GET
def published_list(request):
    raw = {key: request.GET.get(key, "").strip() for key in ("district", "scene")}
    error = None
    try:
        filters = publication.public_filters_parse(**raw)
    except DomainError as exc:
        filters, error = publication.PublicFilters(), exc.message
    page = Page(publication.published_list(filters=filters), page=_page_number(request), page_size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": publication.public_rows(page.items),
        "page": page,
        "filters": raw,
        "error": error,
        "districts": District.objects.exclude(level=District.Level.STREET),
        "scenes": Scene.objects.all(),
        "query": query.urlencode(),
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


def _render_objection(request, inspection: Inspection, *, error=None, form="", values=None, status=200):
    try:
        objection = inspection.objection
    except Objection.DoesNotExist:
        objection = None
    published = publication.is_published(inspection)
    is_member = permissions.is_member(request.user, inspection.enterprise)
    context = {
        "inspection": inspection,
        "enterprise": inspection.enterprise,
        "result": publication.public_rows([inspection])[0],
        "goes_public_at": publication.goes_public_at(inspection),
        "published": published,
        "objection": objection,
        "may_object": is_member and published and objection is None,
        "may_decide": objection is not None
        and objection.status == Objection.Status.PENDING
        and can_decide_objection(request.user, inspection.enterprise),
        "conclusions": Inspection.Conclusion.choices,
        "error": error,
        "form": form,
        "values": values or {},
        "now": timezone.now(),
    }
    return render(request, "publication/objection.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def objection(request, pk: int):
    inspection = _inspection(request, pk)
    if request.method == "POST":
        try:
            publication.objection_submit(
                inspection=inspection, actor=request.user, reason=request.POST.get("reason", "")
            )
        except DomainError as exc:
            return _render_objection(
                request, inspection, error=exc, form="object", values=request.POST, status=exc.status
            )
        messages.success(request, _("Your objection was sent to the regulator."))
        return redirect("publication:objection", pk=inspection.pk)
    return _render_objection(request, inspection)


@login_required
@require_POST
def objection_decision(request, pk: int):
    inspection = _inspection(request, pk)
    try:
        publication.objection_decide(
            inspection=inspection,
            actor=request.user,
            upheld=DECISIONS.get(request.POST.get("decision", "")),
            note=request.POST.get("note", ""),
            correction=request.POST.get("correction", ""),
            corrected_conclusion=request.POST.get("corrected_conclusion", ""),
        )
    except DomainError as exc:
        return _render_objection(
            request, inspection, error=exc, form="decide", values=request.POST, status=exc.status
        )
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
    page = Page(
        publication.objection_list(user=request.user, status=status),
        page=_page_number(request),
        page_size=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "status": status,
        "statuses": Objection.Status.choices,
        "query": query.urlencode(),
    }
    return render(request, "publication/objections.html", context)
