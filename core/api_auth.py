"""How API callers prove who they are: a bearer token (tablets, scripts) or the browser session;
and the throttle of the endpoint that trades a password for a token."""

import threading

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from ninja.throttling import BaseThrottle

from core import clients, ratelimit
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


class AddressThrottle(BaseThrottle):
    """At most ``setting`` (a name in config.settings) requests per minute from one client address,
    counted in the shared cache (core.ratelimit): the same limit whatever the number of workers, and
    kept across their restarts. The address is core.clients' (behind TRUSTED_PROXY_COUNT proxies),
    not a forwarded header the client may write itself. Checked before the operation runs, so a
    refused request never reaches the password hasher."""

    def __init__(self, scope: str, setting: str):
        self.scope = scope
        self.setting = setting
        self._last = threading.local()  # one instance serves every thread of the process

    def allow_request(self, request) -> bool:
        limit = getattr(settings, self.setting)
        hit = ratelimit.rate_hit(self.scope, clients.client_key(request), limit=limit, window=60)
        self._last.retry_after = hit.retry_after
        return hit.allowed

    def wait(self) -> float | None:
        return getattr(self._last, "retry_after", None)
