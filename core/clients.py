"""A stable, anonymous handle for the client behind a request.

Scans and complaints keep a keyed hash of the client address rather than the
address itself: enough to rate-limit and to see one client probing many codes,
not enough to identify a person from the database alone.
"""

import hashlib
import hmac
import ipaddress

from django.conf import settings


def client_address(request) -> str:
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "")


def client_ip(request) -> str | None:
    """The client address as an IP, or None: the login lock-out's (AXES_CLIENT_IP_CALLABLE).

    The lock-out stores it in an IP column; a forwarded value that is not an address (a proxy
    passing on whatever the client sent) must not break sign-in for everyone behind it.
    """
    try:
        return str(ipaddress.ip_address(client_address(request)))
    except ValueError:
        return None


def client_key(request) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), client_address(request).encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]
