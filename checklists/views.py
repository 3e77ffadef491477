from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from checklists import content_upload, documents, notices, publishing, selectors
from checklists.forms import AcknowledgeForm, ContentUploadForm
from checklists.models import Checklist, Manual, VersionStatus
from core import permissions
from core import selectors as core_selectors
from core.errors import DomainError
from core.models import Scene
from core.pages import refused


@require_GET
def scene_manual(request, scene_code: str):
    """The current manual of a scene, phone-first; public like the law it explains."""
    scene = get_object_or_404(Scene, code=scene_code)
    manual = selectors.manual_current(scene=scene)
    if manual is None:
        raise Http404(_("This scene has no published manual yet."))
    return render(request, "checklists/manual.html", _manual_context(manual))


def _manual_context(manual: Manual, **extra) -> dict:
    chapters = list(manual.chapters.order_by("position").prefetch_related("clauses"))
    return {"manual": manual, "chapters": chapters, **extra}


@login_required
@require_GET
def enterprise_manual(request, uscc: str):
    """The manual pushed to one business, with its acknowledgement."""
    enterprise = _enterprise(request, uscc)
    notice = notices.manual_notice(enterprise=enterprise)
    if notice.manual is None:
        return render(request, "checklists/no_manual.html", {"enterprise": enterprise})
    context = _manual_context(
        notice.manual,
        enterprise=enterprise,
        notice=notice,
        is_member=permissions.is_member(request.user, enterprise),
    )
    return render(request, "checklists/manual.html", context)


@login_required
@require_POST
def acknowledge(request, uscc: str):
    enterprise = _enterprise(request, uscc)
    form = AcknowledgeForm(request.POST)
    try:
        notices.manual_acknowledge(enterprise=enterprise, user=request.user, manual=form.manual)
    except DomainError as exc:
        if exc.status == 403:  # an official in scope is not the business: refused, as in the API
            return refused(request, exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you: your acknowledgement is recorded."))
    return redirect("checklists:enterprise-manual", uscc=enterprise.uscc)


@require_GET
def manual_pdf(request, manual_id: int):
    manual = get_object_or_404(Manual.objects.select_related("scene"), pk=manual_id)
    if manual.status != VersionStatus.PUBLISHED and not permissions.can_edit_manual(request.user, manual):
        raise Http404
    response = HttpResponse(documents.manual_pdf(manual), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="manual-{manual.scene.code}-v{manual.version}.pdf"'
    return response


@login_required
@require_GET
def rates(request):
    if not permissions.may_see_audit(request.user):
        raise Http404
    rows = notices.acknowledgement_rates(enterprises=permissions.enterprises_visible_to(request.user))
    return render(request, "checklists/rates.html", {"rows": rows})


@login_required
@require_GET
def content(request):
    """Versions a regulator may edit: upload a YAML file as drafts, publish a draft."""
    if not permissions.can_see_draft_content(request.user):
        raise Http404
    return render(request, "checklists/content.html", _content_context(request.user))


def _content_context(user) -> dict:
    departments = permissions.content_editable_by(user)
    checklists = (
        Checklist.objects.filter(department__in=departments)
        .select_related("scene", "department")
        .order_by("scene__code", "department__code", "-version")
    )
    manuals = (
        Manual.objects.filter(scene__in=Scene.objects.filter(departments__in=departments))
        .distinct()
        .select_related("scene")
        .order_by("scene__code", "-version")
    )
    return {"checklists": checklists, "manuals": manuals}


@login_required
@require_POST
def upload(request):
    form = ContentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form.errors["file"][0])
        return redirect("checklists:content")
    try:
        result = content_upload.content_upload(user=request.user, upload=form.cleaned_data["file"])
    except DomainError as exc:
        if exc.status == 403 and not permissions.can_see_draft_content(request.user):
            raise Http404 from None
        lines = [str(issue) for issue in getattr(exc, "issues", [])]
        message = _("Nothing was imported. Fix these and upload again:") if lines else exc.message
        return render(
            request,
            "checklists/content.html",
            {**_content_context(request.user), "upload_error": message, "upload_issues": lines},
            status=exc.status,
        )
    messages.success(
        request,
        _("Imported as drafts: %(versions)s. Publish them to push them to businesses.")
        % {"versions": ", ".join(str(v) for v in result.versions)},
    )
    return redirect("checklists:content")


@login_required
@require_POST
def publish(request, kind: str, pk: int):
    if kind == "manual":
        version = get_object_or_404(Manual, pk=pk)
        allowed, service = permissions.can_edit_manual(request.user, version), publishing.manual_publish
        call = {"manual": version}
    else:
        version = get_object_or_404(Checklist, pk=pk)
        allowed, service = permissions.can_edit_checklist(request.user, version), publishing.checklist_publish
        call = {"checklist": version}
    if not allowed:
        raise Http404
    try:
        service(actor=request.user, **call)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Published. Businesses of the scene see it now."))
    return redirect("checklists:content")


def _enterprise(request, uscc: str):
    try:
        return core_selectors.enterprise_get(user=request.user, uscc=uscc)
    except DomainError:
        raise Http404 from None
