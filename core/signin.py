"""The sign-in throttle per client address, beside the lock-out per username and address (django-axes,
AXES_* in config.settings).

The lock-out stops guessing one user's password; it does not stop password spraying, one address
trying a common password against many usernames, each staying below the per-username limit. Failed
sign-ins are therefore also counted per address across all usernames (SIGNIN_FAILURES_PER_ADDRESS
in SIGNIN_FAILURES_WINDOW_MINUTES), in the shared cache so that the count holds across workers
(core.ratelimit). The first authentication backend refuses an address over the limit, so its next
attempts never reach the password hasher; the refusal goes the lock-out's way (``axes_locked_out``),
to core.views.login_locked_out for the pages and core.tokens for the API, which say which limit
it was (core.tokens.signin_refused_error). A wrong old password on the password change page
(core.account_views) counts against the same limit and is refused the same way.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied

from core import clients, ratelimit

SCOPE = "signin-failures"


def _limits() -> dict:
    return {
        "limit": settings.SIGNIN_FAILURES_PER_ADDRESS,
        "window": settings.SIGNIN_FAILURES_WINDOW_MINUTES * 60,
    }


class AddressThrottleBackend:
    """Logs nobody in: refuses every sign-in from an address over the limit, before the backend that
    checks passwords (AUTHENTICATION_BACKENDS). Without ``get_user`` on purpose, like django-axes'
    backend: a session is never attributed to it (force_login takes the first backend that has one)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        hit = ratelimit.rate_reached(SCOPE, clients.client_key(request), **_limits())
        if not hit.allowed:
            request.signin_throttled = hit
            request.axes_locked_out = True
            raise PermissionDenied
        return None


def address_refused(request) -> ratelimit.Hit | None:
    """The refusal of an address over the limit (counting nothing), or None: for the checks of a
    password outside sign-in (the old password on the password change page), before any hashing."""
    hit = ratelimit.rate_reached(SCOPE, clients.client_key(request), **_limits())
    return None if hit.allowed else hit


def password_check_failed(request) -> None:
    """A wrong password checked outside sign-in (the password change page's old password): counted
    against the address like a failed sign-in, so a stolen session cannot guess it without limit."""
    ratelimit.rate_hit(SCOPE, clients.client_key(request), **_limits())


def signin_failed(sender, credentials, request=None, **kwargs) -> None:
    """``user_login_failed``: count the failure against the address (core.apps connects it). A
    refusal of this throttle itself is not counted again."""
    if request is None or getattr(request, "signin_throttled", None) is not None:
        return
    ratelimit.rate_hit(SCOPE, clients.client_key(request), **_limits())
