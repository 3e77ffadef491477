from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core import selectors
from core.errors import DomainError
from core.models import Department, District, Enterprise, Scene
from core.pagination import Page
from core.permissions import roles_of


@require_GET
def home(request):
    roles = roles_of(request.user)
    if not request.user.is_authenticated:
        return render(request, "core/home_public.html")
    context = {"roles": roles, "role": roles.primary}
    if roles.is_business:
        context["my_enterprises"] = Enterprise.objects.filter(pk__in=roles.enterprise_ids).select_related(
            "district", "scene"
        )
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
    return render(request, "core/enterprise_detail.html", {"enterprise": enterprise})


@require_GET
def healthz(request):
    """Load balancers ask this; it touches the database so a dead connection shows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
