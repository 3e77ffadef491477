"""The inbox (/notifications/), marking read, and the preferences page. Signed-in users only; each
sees their own notifications and nothing else (another user's is not found)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.pages import add_domain_error, paginate
from supervision.models import NotificationSettings
from supervision.notifications import catalogue, selectors, services
from supervision.notifications.forms import PreferencesForm

PAGE_SIZE = 30


@login_required
@require_GET
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    page = paginate(request, selectors.inbox(user=request.user, unread_only=unread_only), page_size=PAGE_SIZE)
    items = [
        {"notification": n, "message": catalogue.render(n), "detail": catalogue.detail(n)} for n in page.items
    ]
    return render(
        request, "notifications/inbox.html", {"page": page, "items": items, "unread_only": unread_only}
    )


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@login_required
@require_POST
def mark_read(request, pk: int):
    """Mark one read; with ``open``, then go to its record (the inbox's links)."""
    notification = services.notification_mark_read(user=request.user, notification_id=pk)
    if request.POST.get("open") and notification.link:
        return redirect(notification.link)
    return redirect(_back(request, "notifications:inbox"))


@login_required
@require_POST
def mark_all_read(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(
        request,
        ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
        % {"count": count},
    )
    return redirect("notifications:inbox")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    prefs = NotificationSettings.objects.filter(user=request.user).first()
    form = PreferencesForm(request.POST or None, user=request.user, prefs=prefs)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.preferences_update(
                    user=request.user,
                    language=form.cleaned_data["language"],
                    phone=form.cleaned_data["phone"],
                    quiet_start=form.cleaned_data["quiet_start"],
                    quiet_end=form.cleaned_data["quiet_end"],
                    choices=form.choices(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Your notification settings are saved."))
                return redirect("notifications:preferences")
        status = 422
    return render(request, "notifications/preferences.html", {"form": form}, status=status)
