"""The front door: each role's home page, the scan landing /c/<token> with the public's report
form, and the enterprise's timeline. Composed above the features (supervision.landing.panels,
supervision.landing.timeline)."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core import selectors
from core.errors import DomainError
from core.landing import landing_resolve
from core.models import Department, District, Enterprise, Scene
from core.pages import add_domain_error, paginate
from core.permissions import roles_of
from supervision.complaints import intake
from supervision.complaints.own_score import own_score_explain
from supervision.inspections.panels import business_panel
from supervision.landing.forms import ReportForm
from supervision.landing.panels import landing_open, public_cards
from supervision.landing.timeline import timeline_for, timeline_recent

TIMELINE_PAGE = 50


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
                # Complaints count here only once triaged (supervision.complaints.own_score).
                "own_score": own_score_explain(enterprise=e),
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
    if scan.view == "public" and _same_for_anyone(request):
        return _public_page(request, scan, token)
    return _render_landing(request, scan, token)


def _same_for_anyone(request) -> bool:
    """Whether the public face of a code is the page anyone scanning it gets: an anonymous visitor
    with no message waiting (the thanks after a report) and no query string (the language form
    sends the visitor back to the full path)."""
    return not request.user.is_authenticated and not request.GET and not len(messages.get_messages(request))


# What a kept public page holds in place of the two values each response has of its own: its forms'
# CSRF token and the CSP nonce (the page has no inline script; one added later still gets the
# response's nonce). Drawn per process, so a request cannot carry them.
_CSRF_SLOT = f"csrf-slot-{secrets.token_hex(16)}"
_NONCE_SLOT = f"nonce-slot-{secrets.token_hex(16)}"
_CSRF_BYTES, _NONCE_BYTES = _CSRF_SLOT.encode(), _NONCE_SLOT.encode()


def _public_page(request, scan, token) -> HttpResponse:
    """The public face (_same_for_anyone), rendered once per worker, code and language while the
    enterprise's card is kept (supervision.landing.panels.public_cards). Each response gets its
    own CSRF token and nonce. Kept as the bytes sent (a few KB, in UTF-8 half of what the text
    takes in memory), so a response is two replacements and no encoding."""

    def render_page() -> bytes:
        slots = {"csrf_token": _CSRF_SLOT, "csp_nonce": _NONCE_SLOT}
        context = _landing_context(request, scan, token) | slots
        return render_to_string("landing/public.html", context, request).encode()

    page = public_cards.made(scan.enterprise, ("page", token), render_page)
    page = page.replace(_CSRF_BYTES, get_token(request).encode())
    if _NONCE_BYTES in page:
        page = page.replace(_NONCE_BYTES, str(get_nonce(request)).encode())
    return HttpResponse(page)


def _unavailable(request, status: int, context: dict):
    """A code that is no longer valid (410), or that is not one (404)."""
    template = "landing/gone.html" if status == 410 else "landing/unknown.html"
    return render(request, template, context, status=status)


def _render_landing(request, scan, token, *, form_errors=None, form_values=None, status=200):
    context = _landing_context(request, scan, token, form_errors=form_errors, form_values=form_values)
    return render(request, f"landing/{scan.view}.html", context, status=status)


def _landing_context(request, scan, token, *, form_errors=None, form_values=None) -> dict:
    context = {
        "scan": scan,
        "enterprise": scan.enterprise,
        "token": token,
        "form_errors": form_errors or {},
        "form_values": form_values or {},
        **scan.extra,
    }
    if scan.view == "public":
        context["timeline_url"] = reverse("landing-timeline", args=[token])
    else:
        # The entity card, the full profile and the business face: the newest entries of the
        # enterprise's timeline (the scan API has no use for them, so they are not a panel).
        context["timeline"] = timeline_recent(enterprise=scan.enterprise, viewer=request.user)
        context["timeline_url"] = reverse("enterprise-timeline", args=[scan.enterprise.uscc])
    return context


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


# --- the enterprise's timeline (一企一档) ------------------------------------------------------------


def _render_timeline(request, enterprise, *, back_url: str, public_only: bool = False):
    context = {
        "enterprise": enterprise,
        "page": paginate(
            request, timeline_for(enterprise=enterprise, viewer=request.user), page_size=TIMELINE_PAGE
        ),
        "back_url": back_url,
        "public_only": public_only,
    }
    return render(request, "landing/timeline.html", context)


@login_required
@require_GET
def enterprise_timeline(request, uscc: str):
    """Everything the viewer may see of an enterprise they have in scope (its members, officials
    in scope); any other enterprise does not exist for them (404, core.selectors.enterprise_get)."""
    enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
    return _render_timeline(
        request, enterprise, back_url=reverse("enterprise-detail", args=[enterprise.uscc])
    )


@require_GET
def landing_timeline(request, token: str):
    """The timeline behind a scanned code, for anyone holding it: the public sees the published part.
    Reading it is not a scan, so it is not recorded as one."""
    scan = landing_resolve(request, token, record=False)
    if scan.status != 200:
        return _unavailable(request, scan.status, {"scan": scan})
    return _render_timeline(
        request,
        scan.enterprise,
        back_url=reverse("landing", args=[token]),
        public_only=scan.view == "public",
    )
