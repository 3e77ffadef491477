"""Bearer tokens for tablets and scripts: created by password, stored as SHA-256, expiring, revocable."""

import hashlib
import secrets
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.audit import audit_record
from core.errors import DomainError
from core.models import ApiToken
from core.prepared import PreparedGet

TOKEN_PREFIX = "sp_"
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def secret_digest(secret: str) -> str:
    """What is stored of a bearer token or a data source's key: the SHA-256 of its text."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mark_used(record) -> None:
    """Set ``last_used_at`` of a token or key, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        type(record).objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now


def locked_out_error() -> DomainError:
    """What a sign-in refused by the login lock-out (AXES_* in config.settings) is told, page or API."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, seconds // 60)
    message = ngettext(
        "Too many failed sign-ins for this username from your address. Try again in %(minutes)d minute.",
        "Too many failed sign-ins for this username from your address. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    return DomainError(message, code="locked_out", status=429, details={"retry_after": seconds})


def address_throttled_error(retry_after: int) -> DomainError:
    """What a sign-in refused by the per-address throttle (core.signin) is told, page or API."""
    minutes = max(1, -(-retry_after // 60))
    message = ngettext(
        "Too many failed sign-ins from your address. Try again in %(minutes)d minute.",
        "Too many failed sign-ins from your address. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    return DomainError(message, code="address_throttled", status=429, details={"retry_after": retry_after})


def signin_refused_error(request) -> DomainError:
    """The refusal of a sign-in that the lock-out or the per-address throttle stopped."""
    throttled = getattr(request, "signin_throttled", None)
    if throttled is not None:
        return address_throttled_error(throttled.retry_after)
    return locked_out_error()


def token_create(*, request, username: str, password: str, device: str) -> tuple[ApiToken, str]:
    # Outside any transaction: the lock-out records a failure as it happens, and the refusal
    # raised below must not roll that record back.
    user = authenticate(request, username=username, password=password)
    if user is None:
        # Set by django-axes on the failure that reaches the limit and on every attempt after it,
        # and by core.signin on every attempt from an address over its limit.
        if getattr(request, "axes_locked_out", False):
            raise signin_refused_error(request)
        raise DomainError(_("Wrong username or password."), code="invalid_credentials", status=401)
    _lockout_reset(request, username)
    return _token_issue(user=user, device=device)


def _lockout_reset(request, username: str) -> None:
    """The right password clears the failures counted against this username and client, as a web
    sign-in does (AXES_RESET_ON_SUCCESS). Not through the user_logged_in signal: django-axes would
    then open a session for this sessionless API call."""
    if settings.AXES_ENABLED and settings.AXES_RESET_ON_SUCCESS:
        AxesProxyHandler.get_implementation().reset_user_attempts(request, get_credentials(username))


@transaction.atomic
def _token_issue(*, user, device: str) -> tuple[ApiToken, str]:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        device=device.strip(),
        key_hash=secret_digest(raw),
        prefix=raw[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
        expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS),
    )
    audit_record(actor=user, action="token.create", target=token, data={"device": token.device})
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise DomainError(_("This token is already revoked."), code="already_revoked", status=409)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="token.revoke", target=token, data={"device": token.device})
    return token


def tokens_revoke_all(*, user) -> list[int]:
    """Revoke every token of ``user`` not revoked yet; the ids revoked. The caller audits it, in
    its transaction (core.account: sign out everywhere, a password changed, a user deactivated)."""
    ids = list(
        ApiToken.objects.select_for_update()
        .filter(user=user, revoked_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        ApiToken.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
    return ids


# Every tablet request passes here: the token and its user are read by one statement written once
# per database (core.prepared), not compiled by the ORM on each call, which had cost more CPU than
# all the rest of an answer autosave (issue 17, bench/autosave.py).
_tokens = PreparedGet(ApiToken, by="key_hash", related=("user",))


def token_authenticate(raw: str) -> ApiToken | None:
    """The token ``raw`` stands for, its user loaded: one of ours, not revoked, not expired, of an
    active user (its last_used_at marked); else None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = _tokens.get(secret_digest(raw))
    if token is None or token.revoked_at is not None or token.expires_at <= timezone.now():
        return None
    if not token.user.is_active:
        return None
    mark_used(token)
    return token
