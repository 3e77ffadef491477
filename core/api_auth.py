"""How API callers prove who they are: a bearer token (tablets, scripts) or the browser session;
and the throttle of the endpoint that trades a password for a token."""

import functools
import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from ninja.throttling import BaseThrottle

from core import clients, ratelimit
from core.models import ApiToken
from core.tokens import TOKEN_PREFIX, mark_used, secret_digest


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        api_token = bearer_token_authenticate(token)
        if api_token is None:
            return None
        # Permissions read request.user, whichever way the caller signed in.
        request.user = api_token.user
        return api_token


def bearer_token_authenticate(raw: str) -> ApiToken | None:
    """core.tokens.token_authenticate's rule (a token of ours, not revoked, not expired, of an
    active user; last_used_at marked), with the token and its user read by one statement written
    once per database: every tablet request passes here, and building that select_related query
    through the ORM on each request cost more CPU than all the rest of an answer autosave (issue 17,
    bench/autosave.py). The token is found by its hash (unique) and its state checked here;
    tests/supervision/inspections/test_autosave_queries.py holds the two functions to the same
    answers."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    statement = _token_statement(ApiToken.objects.db)
    connection = connections[statement.alias]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [secret_digest(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    token, user = statement.load(row, connection)
    if token.revoked_at is not None or token.expires_at <= timezone.now() or not user.is_active:
        return None
    mark_used(token)
    return token


class _TokenStatement:
    """SELECT of a token and its user by the token's hash, and the rows' conversion to model
    instances as the ORM's select_related would make them (the backend's converters applied:
    SQLite returns datetimes as text). Kept per database alias: the statement and the converters
    depend on the backend and the settings only, the same for every thread's connection."""

    def __init__(self, alias: str):
        connection = connections[alias]
        quote = connection.ops.quote_name
        user_model = get_user_model()
        self.alias = alias
        self.token_fields = ApiToken._meta.concrete_fields
        self.user_fields = user_model._meta.concrete_fields
        columns = [f"t.{quote(f.column)}" for f in self.token_fields]
        columns += [f"u.{quote(f.column)}" for f in self.user_fields]
        user_fk = ApiToken._meta.get_field("user")
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t"
            f" JOIN {quote(user_model._meta.db_table)} u"
            f" ON u.{quote(user_model._meta.pk.column)} = t.{quote(user_fk.column)}"
            f" WHERE t.{quote(ApiToken._meta.get_field('key_hash').column)} = %s"
        )
        self.converters = [
            (n, converters)
            for n, field in enumerate([*self.token_fields, *self.user_fields])
            if (converters := self._converters(field, connection))
        ]

    @staticmethod
    def _converters(field, connection) -> list:
        column = field.get_col(field.model._meta.db_table)
        return [
            (converter, column)
            for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        ]

    def load(self, row, connection) -> tuple[ApiToken, object]:
        values = list(row)
        for n, converters in self.converters:
            for converter, column in converters:
                values[n] = converter(values[n], column, connection)
        split = len(self.token_fields)
        token = ApiToken.from_db(self.alias, None, values[:split])
        user = get_user_model().from_db(self.alias, None, values[split:])
        ApiToken._meta.get_field("user").set_cached_value(token, user)
        return token, user


@functools.cache
def _token_statement(alias: str) -> _TokenStatement:
    return _TokenStatement(alias)


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
