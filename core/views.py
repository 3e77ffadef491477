import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import codes, selectors, tokens
from core.errors import DomainError
from core.forms import CodeRotateForm
from core.middleware import RETRY_AFTER
from core.models import District, Enterprise, IdentityCode, Scene
from core.pages import paginate
from core.permissions import can_manage_codes, can_plan_tasks

logger = logging.getLogger(__name__)


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
    context = {
        "page": paginate(request, queryset, page_size=50),
        "filters": filters,
        "error": error,
        "scenes": Scene.objects.all(),
        "districts": District.objects.exclude(level=District.Level.CITY),
        "statuses": Enterprise.LicenceStatus.choices,
    }
    return render(request, "core/enterprise_list.html", context, status=400 if error else 200)


@login_required
@require_GET
def enterprise_detail(request, uscc: str):
    enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
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
        raise DomainError(_("You may not do this."), code="forbidden", status=403)
    form = CodeRotateForm(request.POST)
    if not form.is_valid():
        raise DomainError(form.errors["reason"][0], code="invalid_reason", status=422)
    codes.code_rotate(enterprise=enterprise, actor=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, _("A new code was issued; the old one no longer works."))
    return redirect("enterprise-detail", uscc=enterprise.uscc)


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the answer to a sign-in the login lock-out, or the per-address
    throttle (core.signin), refused.

    The API's token endpoint raised the coded error itself (core.tokens); every other sign-in
    (ours, the admin's) gets the sign-in page again, saying why and for how long.
    """
    error = tokens.signin_refused_error(request)
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
    """Load balancers ask this; it touches the database so a dead connection shows: 503 (with
    Retry-After) when it is unreachable or does not answer within DB_CONNECT_TIMEOUT."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (OperationalError, InterfaceError) as exc:
        logger.warning("healthz: database unavailable: %s", exc)
        response = HttpResponse("database unavailable", content_type="text/plain", status=503)
        response["Retry-After"] = RETRY_AFTER
        return response
    return HttpResponse("ok", content_type="text/plain")
