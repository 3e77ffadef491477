from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import codes, complaints, selectors, tokens
from core.errors import DomainError
from core.landing import landing_resolve
from core.models import Department, District, Enterprise, IdentityCode, Scene
from core.pagination import Page
from core.permissions import can_manage_codes, can_plan_tasks, roles_of


@require_GET
def home(request):
    roles = roles_of(request.user)
    if not request.user.is_authenticated:
        return render(request, "core/home_public.html")
    context = {"roles": roles, "role": roles.primary}
    if roles.is_business:
        from core.landing import business_panel

        mine = list(
            Enterprise.objects.filter(pk__in=roles.enterprise_ids).select_related("district", "scene")
        )
        context["my_enterprises"] = mine
        context["business_panels"] = [
            {"enterprise": e, **business_panel(user=request.user, enterprise=e)} for e in mine
        ]
    if roles.inspector:
        context["inspector_districts"] = roles.inspector.districts.all()
    if roles.primary in {"admin", "regulator", "inspector"}:
        context["scenes"] = Scene.objects.all()
        context["districts"] = District.objects.filter(level=District.Level.DISTRICT)
    if roles.is_admin:
        context["counts"] = {
            "departments": Department.objects.count(),
            "scenes": Scene.objects.count(),
            "districts": District.objects.count(),
        }
    return render(request, f"core/home_{roles.primary}.html", context)


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


@require_http_methods(["GET", "POST"])
def landing(request, token: str):
    """/c/<token>: what the printed code opens, by who is looking (see core.landing)."""
    if request.method == "POST":
        return _landing_report(request, token)
    scan = landing_resolve(request, token)
    if scan.status != 200:
        template = "core/landing/gone.html" if scan.status == 410 else "core/landing/unknown.html"
        return render(request, template, {"scan": scan}, status=scan.status)
    return _render_landing(request, scan, token)


def _render_landing(request, scan, token, *, form_errors=None, form_values=None, status=200):
    context = {
        "scan": scan,
        "enterprise": scan.enterprise,
        "token": token,
        "form_errors": form_errors or {},
        "form_values": form_values or {},
        **scan.extra,
    }
    return render(request, f"core/landing/{scan.view}.html", context, status=status)


def _landing_report(request, token: str):
    values = {"text": request.POST.get("text", ""), "contact": request.POST.get("contact", "")}
    try:
        complaints.complaint_submit(request=request, token=token, photo=request.FILES.get("photo"), **values)
    except DomainError as exc:
        if exc.status in {404, 410}:
            template = "core/landing/gone.html" if exc.status == 410 else "core/landing/unknown.html"
            return render(request, template, {}, status=exc.status)
        scan = landing_resolve(request, token, record=False)
        errors = exc.details if isinstance(exc.details, dict) else {"form": exc.message}
        return _render_landing(
            request, scan, token, form_errors=errors, form_values=values, status=exc.status
        )
    messages.success(request, _("Thank you. Your report was received and will be reviewed by the regulator."))
    return redirect("landing", token=token)


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
