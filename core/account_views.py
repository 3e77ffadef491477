"""The user's own account page (/accounts/): the API tokens of their devices, revoking one, changing
the password, and "sign out everywhere" (core.account). Every signed-in user has one, for their own
account only: nothing here takes another user's id."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from core import account, signin, tokens
from core.errors import DomainError
from core.models import ApiToken

TOKENS_SHOWN = 50


@login_required
@require_GET
def account_page(request):
    context = {"tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at")[:TOKENS_SHOWN]}
    return render(request, "core/account.html", context)


@login_required
@require_POST
def token_revoke(request, pk: int):
    # Only the user's own tokens: any other id is a token that does not exist (404).
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        tokens.token_revoke(token=token, actor=request.user)
    except DomainError as exc:  # already revoked (a second click): say so, change nothing
        messages.info(request, exc.message)
    else:
        messages.success(request, _("The token of %(device)s was revoked.") % {"device": token.device})
    return redirect("account")


@login_required
@require_POST
def sign_out_everywhere(request):
    done = account.sign_out_everywhere(user=request.user, actor=request.user, reason="requested")
    # This browser's session was one of them: forget its cookie too.
    logout(request)
    messages.success(
        request,
        ngettext(
            "You were signed out everywhere: %(sessions)d session ended, %(tokens)d device token revoked.",
            "You were signed out everywhere: %(sessions)d sessions ended, %(tokens)d device tokens revoked.",
            done.sessions + done.tokens,
        )
        % {"sessions": done.sessions, "tokens": done.tokens},
    )
    return redirect("login")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the account page around it. The new password passes AUTH_PASSWORD_VALIDATORS;
    the user's other sessions end (Django) and their API tokens are revoked (core.account)."""

    template_name = "core/password_change.html"
    success_url = reverse_lazy("account")

    def post(self, request, *args, **kwargs):
        # The old password is a password guess like a sign-in's: from an address over the limit of
        # failed sign-ins (core.signin), refused before the form hashes it (429, Retry-After).
        hit = signin.address_refused(request)
        if hit is not None:
            error = tokens.address_throttled_error(hit.retry_after)
            context = self.get_context_data(form=self.form_class(user=request.user), throttled=error.message)
            response = self.render_to_response(context, status=error.status)
            response["Retry-After"] = str(hit.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password", "password_incorrect"):
            signin.password_check_failed(self.request)
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request, _("Your password was changed. Your devices must sign in again with the new one.")
        )
        return response
