"""How API callers prove who they are: a bearer token (tablets, scripts) or the browser session."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from core.tokens import token_authenticate


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        api_token = token_authenticate(token)
        if api_token is None:
            return None
        # Permissions read request.user, whichever way the caller signed in.
        request.user = api_token.user
        return api_token


class SessionAuth(NinjaSessionAuth):
    """The browser session, CSRF-checked. A request without a session cookie has no session to
    check: it is not signed in this way (401 in the end), not a forged one (403)."""

    def _get_key(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)


django_auth = SessionAuth()


def anonymous(request):
    """Last in an auth list: lets the public through as an anonymous user (after the others had their try)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        request.user = AnonymousUser()
    return "anonymous"


SIGNED_IN = [BearerToken(), django_auth]
ANYONE = [BearerToken(), django_auth, anonymous]
