"""The front door: each role's home page, and the scan landing /c/<token> with the public's
report form. Composed above the features (supervision.landing.panels)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.models import Department, District, Enterprise, Scene
from core.pages import add_domain_error
from core.permissions import roles_of
from supervision.complaints import intake
from supervision.inspections.panels import business_panel
from supervision.landing.forms import ReportForm
from supervision.landing.panels import landing_open
from supervision.risk.selectors import score_explain


@require_GET
def home(request):
    roles = roles_of(request.user)
    if not request.user.is_authenticated:
        return render(request, "landing/home_public.html")
    context = {"roles": roles, "role": roles.primary}
    if roles.is_business:
        mine = list(
            Enterprise.objects.filter(pk__in=roles.enterprise_ids).select_related("district", "scene")
        )
        context["my_enterprises"] = mine
        # Each enterprise's orders to answer and inspection to rate, and its tier, credit rating
        # and the factors behind them (what its scan landing shows, without scanning).
        context["business_panels"] = [
            {
                "enterprise": e,
                **business_panel(user=request.user, enterprise=e),
                "own_score": score_explain(enterprise=e, facts=False),
            }
            for e in mine
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
    return render(request, f"landing/home_{roles.primary}.html", context)


@require_http_methods(["GET", "POST"])
def landing(request, token: str):
    """/c/<token>: what the printed code opens, by who is looking (see supervision.landing.panels)."""
    if request.method == "POST":
        return _landing_report(request, token)
    scan = landing_open(request, token)
    if scan.status != 200:
        return _unavailable(request, scan.status, {"scan": scan})
    return _render_landing(request, scan, token)


def _unavailable(request, status: int, context: dict):
    """A code that is no longer valid (410), or that is not one (404)."""
    template = "landing/gone.html" if status == 410 else "landing/unknown.html"
    return render(request, template, context, status=status)


def _render_landing(request, scan, token, *, form_errors=None, form_values=None, status=200):
    context = {
        "scan": scan,
        "enterprise": scan.enterprise,
        "token": token,
        "form_errors": form_errors or {},
        "form_values": form_values or {},
        **scan.extra,
    }
    return render(request, f"landing/{scan.view}.html", context, status=status)


def _landing_report(request, token: str):
    form = ReportForm(request.POST, request.FILES)
    status = 422
    if form.is_valid():
        try:
            intake.complaint_submit(request=request, token=token, **form.cleaned_data)
        except DomainError as exc:
            if exc.status in {404, 410}:
                return _unavailable(request, exc.status, {})
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(
                request, _("Thank you. Your report was received and will be reviewed by the regulator.")
            )
            return redirect("landing", token=token)
    scan = landing_open(request, token, record=False)
    if scan.status != 200:
        return _unavailable(request, scan.status, {})
    values = {"text": form.data.get("text", ""), "contact": form.data.get("contact", "")}
    return _render_landing(
        request, scan, token, form_errors=form.field_messages(), form_values=values, status=status
    )
