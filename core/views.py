from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import codes, selectors, tokens
from core.errors import DomainError
from core.models import District, Enterprise, IdentityCode, Scene
from core.pagination import Page
from core.permissions import can_manage_codes, can_plan_tasks


@login_required
@require_GET
def enterprise_list(request):
    filters = {
        key: request.GET.get(key, "").strip() or None for key in ("district", "scene", "q", "licence_status")
    }
    error = None
    try:
        queryset = selectors.enterprise_list(user=request.user, **filters)
    except DomainError as exc:
        error, queryset = exc.message, Enterprise.objects.none()
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        number = 1
    page = Page(queryset, page=number, page_size=50)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "error": error,
        "query": query.urlencode(),
        "scenes": Scene.objects.all(),
        "districts": District.objects.exclude(level=District.Level.CITY),
        "statuses": Enterprise.LicenceStatus.choices,
    }
    return render(request, "core/enterprise_list.html", context, status=400 if error else 200)


@login_required
@require_GET
def enterprise_detail(request, uscc: str):
    try:
        enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        return render(request, "core/error.html", {"message": exc.message}, status=exc.status)
    context = {
        "enterprise": enterprise,
        "code": IdentityCode.objects.filter(enterprise=enterprise, status=IdentityCode.Status.ACTIVE).first(),
        "can_manage_codes": can_manage_codes(request.user, enterprise),
        "can_plan_tasks": can_plan_tasks(request.user, enterprise),
    }
    return render(request, "core/enterprise_detail.html", context)


@login_required
@require_POST
def code_rotate(request, uscc: str):
    try:
        enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
    except DomainError:
        raise Http404 from None
    if not can_manage_codes(request.user, enterprise):
        return render(request, "core/error.html", {"message": _("You may not do this.")}, status=403)
    codes.code_rotate(enterprise=enterprise, actor=request.user, reason=request.POST.get("reason", "")[:200])
    messages.success(request, _("A new code was issued; the old one no longer works."))
    return redirect("enterprise-detail", uscc=enterprise.uscc)


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the answer to a sign-in the login lock-out refused.

    The API's token endpoint raised the coded error itself (core.tokens); every other sign-in
    (ours, the admin's) gets the sign-in page again, saying why and for how long.
    """
    error = tokens.locked_out_error()
    match = getattr(request, "resolver_match", None)
    if match is not None and "api" in match.namespaces:
        if original_response is not None and original_response.status_code == error.status:
            response = original_response
        else:
            response = JsonResponse(
                {"code": error.code, "message": error.message, "details": error.details}, status=error.status
            )
    else:
        context = {
            "form": AuthenticationForm(request),
            "locked_out": error.message,
            "next": request.POST.get("next", request.GET.get("next", "")),
        }
        response = render(request, "registration/login.html", context, status=error.status)
    response["Retry-After"] = str(error.details["retry_after"])
    return response


@require_GET
def healthz(request):
    """Load balancers ask this; it touches the database so a dead connection shows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
