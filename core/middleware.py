"""Two guards every request passes, for pages and the API alike (config/settings.py, MIDDLEWARE).

``InvalidCharactersMiddleware``: text that no column may hold is refused at the door. A NUL byte
in a path, query, form field or JSON string made PostgreSQL fail the statement that stored or
searched it, so the request answered 500, anonymous ones included (``/c/%00``, the token
endpoint, the complaint form, list filters), and the failed scan went unrecorded. The request
is refused (400, code ``invalid_characters``), not cleaned: a changed token, password, code or
note would do something the client did not ask for, and no person types a control character,
so the client that sent one is broken or probing and is best told so. A refused scan is
still recorded (core.landing.scan_record_refused), its token written out.

A session cookie holding one is ignored (no session), as Django ignores a session key that names
no session.

``DatabaseUnavailableMiddleware``: a page whose database is unreachable (refused, timed out,
restarting) answers 503 with Retry-After instead of 500, as the API does (core.api_root); and
the connections opened while serving a request get the web statement timeout
(``DB_STATEMENT_TIMEOUT``), so a query that cannot finish fails before the worker is killed,
while migrations, recomputes and other commands, which open theirs outside a request, run as
long as they need.
"""

import json
import logging
import re
from contextvars import ContextVar
from importlib import import_module

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.landing import scan_record_refused
from core.pages import refused
from core.text import escape_control_characters, has_control_characters

logger = logging.getLogger(__name__)

# What a 503 asks the client to wait, in seconds: a restart or a failover is over in moments.
RETRY_AFTER = "2"

# The views whose path token is a scan: a refused one is recorded like any failed scan.
# (view name -> channel, as core.landing records it)
SCAN_VIEWS = {"landing": "web", "api:scan": "api"}

FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
# A JSON string escape of a control character (\u0000 to \u001f, \b, \f). Tab, newline and CR
# match too (and an escaped backslash before a b or f): the body is then read and let through.
_JSON_CONTROL_ESCAPE = re.compile(rb"\\(u00[01]|[bf])", re.IGNORECASE)

DATABASE_DOWN = (OperationalError, InterfaceError)


def _is_api(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and "api" in match.namespaces


# --- invalid characters --------------------------------------------------------------------------------


class InvalidCharacters(DomainError, SuspiciousOperation):
    """A request holding a control character in its text. A DomainError, so a page and the API
    answer it as any refusal; a SuspiciousOperation, so that where neither catches it (a form read
    by another middleware) Django still answers 400, never 500."""

    def __init__(self, message: str, *, where: str, name: str):
        super().__init__(
            message, code="invalid_characters", status=400, details={"in": where, "name": _shown(name)}
        )


def _shown(name: str) -> str:
    return escape_control_characters(name)[:100]


def _in_path() -> InvalidCharacters:
    return InvalidCharacters(
        _("The address holds a control character (such as NUL) that no text may contain."),
        where="path",
        name="",
    )


def _in_query(name: str) -> InvalidCharacters:
    return InvalidCharacters(
        _('The query parameter "%(name)s" holds a control character (such as NUL) that no text may contain.')
        % {"name": _shown(name)},
        where="query",
        name=name,
    )


def _in_form(name: str) -> InvalidCharacters:
    return InvalidCharacters(
        _('The form field "%(name)s" holds a control character (such as NUL) that no text may contain.')
        % {"name": _shown(name)},
        where="form",
        name=name,
    )


def _in_json(path: str) -> InvalidCharacters:
    return InvalidCharacters(
        _("The JSON body holds a control character (such as NUL) that no text may contain, at %(path)s.")
        % {"path": _shown(path)},
        where="body",
        name=path,
    )


def _pairs_problem(pairs, refusal) -> InvalidCharacters | None:
    for key, values in pairs:
        if has_control_characters(key) or any(has_control_characters(value) for value in values):
            return refusal(key)
    return None


def _form_problem(post, files) -> InvalidCharacters | None:
    """Form fields, and the names of the upload fields. (Django drops every unprintable character
    from an uploaded file's own name.)"""
    problem = _pairs_problem(post.lists(), _in_form)
    if problem is None:
        problem = next((_in_form(key) for key in files if has_control_characters(key)), None)
    return problem


def _json_problem(request) -> InvalidCharacters | None:
    """The first string (or key) of a JSON body holding a control character. Any body that is not a
    form counts: the API reads JSON whatever the content type says. A body that is not JSON (or is
    too large to read here) is left to whoever reads it."""
    if request.content_type in FORM_TYPES or not request.META.get("CONTENT_LENGTH"):
        return None
    try:
        body = request.body
    except SuspiciousOperation:  # larger than DATA_UPLOAD_MAX_MEMORY_SIZE: refused when read
        return None
    # A raw control byte inside a JSON string does not parse (the API answers 400): only escapes
    # can carry one. Most bodies have none, and are not parsed twice.
    if not _JSON_CONTROL_ESCAPE.search(body):
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    stack = [("", data)]
    while stack:  # iterative: nesting is as deep as the client likes
        path, node = stack.pop()
        if isinstance(node, str):
            if has_control_characters(node):
                return _in_json(path or "/")
        elif isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else key
                if has_control_characters(key):
                    return _in_json(child)
                stack.append((child, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[{index}]", value) for index, value in enumerate(node))
    return None


def _check_forms_when_read(request) -> None:
    """Check the form fields when something first reads them (request.POST / FILES), not before:
    a view may refuse a large upload by its length before its body is read (/v/<id>)."""
    load = request._load_post_and_files

    def load_checked():
        load()
        problem = _form_problem(request._post, request._files)
        if problem is not None:
            request._mark_post_parse_error()  # nothing of the refused form stays readable
            raise problem

    request._load_post_and_files = load_checked


def _forget_cookies_with_control_characters(request) -> None:
    """A cookie holding a control character is not there. Browsers send none, but a quoted cookie's
    octal escape ("\\000") reads as NUL, and the session's was looked up in the database: 500 on
    every page that asks who is signed in. Like a session key that names no session, such a
    session cookie means no session (anonymous), not a refused request."""
    bad = [name for name, value in request.COOKIES.items() if has_control_characters(name + value)]
    for name in bad:
        del request.COOKIES[name]
    if settings.SESSION_COOKIE_NAME in bad and hasattr(request, "session"):
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(None)


class InvalidCharactersMiddleware:
    """Refuses a request whose path, query, form fields or JSON strings hold a control character
    (core.text), and ignores such a cookie. Listed after SessionMiddleware, whose session it may
    replace, and before CsrfViewMiddleware, whose check would read the form first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _forget_cookies_with_control_characters(request)
        _check_forms_when_read(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        problem = None
        if has_control_characters(request.path_info):
            problem = _in_path()
            self._record_scan(request, view_kwargs)
        else:
            problem = _pairs_problem(request.GET.lists(), _in_query) or _json_problem(request)
        if problem is None and request.method == "POST" and not getattr(view_func, "csrf_exempt", False):
            # The CSRF check reads this form next anyway; a view exempt from it reads its own.
            try:
                request.POST  # noqa: B018 (read: checked by _check_forms_when_read)
            except InvalidCharacters as exc:
                problem = exc
        return None if problem is None else self.refuse(request, problem)

    def process_exception(self, request, exception):
        # A form that a view (one exempt from CSRF) read itself.
        if isinstance(exception, InvalidCharacters):
            return self.refuse(request, exception)
        return None

    @staticmethod
    def refuse(request, problem: InvalidCharacters) -> HttpResponse:
        if _is_api(request):
            return JsonResponse(
                {"code": problem.code, "message": problem.message, "details": problem.details}, status=400
            )
        try:
            return refused(request, problem)
        except DATABASE_DOWN:  # the page's menu reads the session
            return database_unavailable(request)

    @staticmethod
    def _record_scan(request, view_kwargs) -> None:
        match = request.resolver_match
        channel = SCAN_VIEWS.get(match.view_name) if match is not None else None
        if channel is None or request.method != "GET" or "token" not in view_kwargs:
            return
        try:
            scan_record_refused(request, view_kwargs["token"], channel=channel)
        except DATABASE_DOWN as exc:
            logger.warning("refused scan not recorded, database unavailable: %s", exc)


# --- the database unavailable -----------------------------------------------------------------------

# True while a request is being served: the connections opened then get the statement timeout.
_serving = ContextVar("serving_request", default=False)


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After: the API's coded error, or a page that reads nothing from the database
    (no session, no menu), rendered without the request's context for that reason."""
    message = _("The service is briefly unavailable; try again in a moment.")
    if _is_api(request):
        response = JsonResponse({"code": "unavailable", "message": message, "details": None}, status=503)
    else:
        response = HttpResponse(render_to_string("core/unavailable.html", {"message": message}), status=503)
    response["Retry-After"] = RETRY_AFTER
    return response


class DatabaseUnavailableMiddleware:
    """First in MIDDLEWARE, so every connection opened for a request is one it serves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _serving.set(True)
        try:
            return self.get_response(request)
        finally:
            _serving.reset(token)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_DOWN):
            logger.warning("database unavailable: %s", exception)
            return database_unavailable(request)
        return None


def _request_settings(sender, connection, **kwargs) -> None:
    """A connection opened while serving a request (a web worker's, kept CONN_MAX_AGE) gets the web
    statement timeout and the web's parallel workers per query; one opened by a command or a task
    worker keeps the server's settings.

    Parallel workers: PostgreSQL plans them for a ranking page that walks an index past thousands of
    rows, and starting them took longer than the walk (the slowest first-page queries of
    bench/ranking.py: 10 to 32 ms with them, 2 to 18 ms without; none was faster with them). Under
    load they only take the cores other requests need. The full recompute and other commands keep them."""
    if not (_serving.get() and connection.vendor == "postgresql"):
        return
    values = {"max_parallel_workers_per_gather": str(getattr(settings, "DB_REQUEST_PARALLEL_WORKERS", 0))}
    seconds = getattr(settings, "DB_STATEMENT_TIMEOUT", 0)
    if seconds:
        values["statement_timeout"] = f"{int(seconds * 1000)}ms"
    calls = ", ".join("set_config(%s, %s, false)" for _ in values)
    with connection.connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", [part for pair in values.items() for part in pair])


# Connected on import, in any process: only a request being served sets _serving.
connection_created.connect(_request_settings, dispatch_uid="core.middleware.request_settings")
