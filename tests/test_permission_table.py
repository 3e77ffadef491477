"""The permission table: every URL pattern and every API operation, x every role, x the role's own
object, another business's object in the same district, and an object in another district,
with the exact status each must answer.

The rule the rows follow (core/permissions.py has the scopes):
- anonymous: pages redirect to the login page, the API answers 401; public pages answer everyone;
- an object outside the caller's scope does not exist for them: 404, never 403, so ids and
  credit codes cannot be probed;
- an object the caller sees but may not change: 403, checked before anything about the request's
  content, so that every refused row below also proves the gate comes first;
- a permitted write is sent with a harmless body that the service refuses after the gate (409 for
  a state that does not allow it, 422 for a missing field); a status other than 403/404 proves the
  caller passed. Writes that do go through are undone with the test's transaction.

The existing tables (tests/core/test_code_api.py and test_api.py; under tests/supervision/,
landing/test_landing.py, inspections/test_api.py, self_inspection/test_api.py and
monitor/test_views.py) check what each role *gets*; this one checks that *every* address has a
rule and that no role reaches past its scope. A new URL or API operation without a row fails
test_every_url_and_operation_has_a_row.
"""

import base64
import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from config.api import api
from tests.factories import PASSWORD, fake_jpeg, jpeg, png_bytes
from tests.permission_world import OBJECTS, ROLES, World, build_world, stub_pdf

pytestmark = pytest.mark.django_db

API_PREFIX = "/api/v1/"
LOGIN = "302 login"  # a redirect to the login page, with ?next=


# --- what exists: every URL pattern and API operation ------------------------------------------------


def _view_methods(callback) -> tuple[str, ...]:
    """The methods a view accepts: from require_http_methods (and require_GET / require_POST) anywhere
    in its decorator chain, or from a class-based view's handlers; ("ANY",) when nothing limits them."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        handlers = ("get", "post", "put", "patch", "delete")
        return tuple(
            m.upper() for m in handlers if m in view_class.http_method_names and hasattr(view_class, m)
        )
    func = callback
    while func is not None:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            return tuple(func.__closure__[code.co_freevars.index("request_method_list")].cell_contents)
        func = getattr(func, "__wrapped__", None)
    return ("ANY",)


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern


def _skipped(namespace: str, pattern: URLPattern) -> bool:
    """Framework URLs that need no row.

    - admin/: Django's admin guards each page with its own checks (is_staff, then model
      permissions); no platform role is staff except the superuser. One row covers its index.
    - media files under DEBUG (never in production, never in tests): django.views.static.serve.
    """
    if namespace == "admin" or namespace.startswith("admin:"):
        return True
    return getattr(pattern.callback, "__module__", "") == "django.views.static"


@functools.cache
def url_keys() -> tuple[frozenset, frozenset]:
    """(every key, the keys that need a row). A key is (method, URL name) for a page, or
    (method, path as in the OpenAPI schema) for an API operation; unnamed patterns go by route."""
    schema = api.get_openapi_schema()["paths"]
    every, required = set(), set()
    for route, namespace, pattern in _walk(get_resolver().url_patterns):
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        if namespace == api.urls_namespace and path in schema:
            keys = {(method.upper(), path) for method in schema[path]}
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name or route
            keys = {(method, name) for method in _view_methods(pattern.callback)}
        every |= keys
        if not _skipped(namespace, pattern):
            required |= keys
    return frozenset(every), frozenset(required)


# --- how the rows say what they expect ---------------------------------------------------------------

T, F = True, False
NONE = (F, F, F)
# Which of the own / other / far objects each role sees, per kind of object.
SEES = {
    # Enterprises (core.permissions.enterprises_visible_to) and what follows them: submitted
    # inspections and self-inspections, orders, photos, codes, documents.
    "enterprise": {
        "outsider": NONE,
        "business": (T, F, F),
        "inspector": (T, T, F),
        "partner": (T, T, F),
        "colleague": (T, T, F),
        "inspector_far": (F, F, T),
        "regulator": (T, T, F),
        "regulator_far": (F, F, T),
        "admin": (T, T, T),
    },
    # Tasks (tasks_visible_to): the assigned inspectors, regulators in scope.
    "task": {
        "outsider": NONE,
        "business": NONE,
        "inspector": (T, F, F),
        "partner": (T, F, F),
        "colleague": NONE,
        "inspector_far": (F, F, T),
        "regulator": (T, T, F),
        "regulator_far": (F, F, T),
        "admin": (T, T, T),
    },
    # A draft inspection (inspections_visible_to): its assigned inspectors, and the admin.
    "draft": {
        "outsider": NONE,
        "business": NONE,
        "inspector": (T, F, F),
        "partner": (T, F, F),
        "colleague": NONE,
        "inspector_far": (F, F, T),
        "regulator": NONE,
        "regulator_far": NONE,
        "admin": (T, T, T),
    },
    # A self-inspection draft: the business's members only, not even the admin.
    "self_draft": {**{role: NONE for role in ROLES[1:]}, "business": (T, F, F)},
    # Content versions (own: published, other: a draft the regulator's department may edit,
    # far: a draft of another department or of a scene it does not supervise).
    "content": {
        **{role: (T, F, F) for role in ROLES[1:]},
        "regulator": (T, T, F),
        "admin": (T, T, T),
    },
    # Who may edit a version at all (content_editable_by).
    "editor": {**{role: NONE for role in ROLES[1:]}, "regulator": (T, T, F), "admin": (T, T, T)},
    # Code batches: whoever requested them, and the admin.
    "batch": {
        **{role: NONE for role in ROLES[1:]},
        "regulator": (T, F, F),
        "regulator_far": (F, F, T),
        "admin": (T, T, T),
    },
    # API tokens: their owner only (own: the business's, other and far: other members').
    "token": {**{role: NONE for role in ROLES[1:]}, "business": (T, F, F)},
    # Plans and draws (planning_scope): regulators within their area, the admin.
    "plan": {
        **{role: NONE for role in ROLES[1:]},
        "regulator": (T, T, F),
        "regulator_far": (F, F, T),
        "admin": (T, T, T),
    },
    # Complaints (complaints_visible_to): regulators in scope, the admin; inspectors only those
    # their tasks check (none in the world); never the business complained about.
    "complaint": {
        **{role: NONE for role in ROLES[1:]},
        "regulator": (T, T, F),
        "regulator_far": (F, F, T),
        "admin": (T, T, T),
    },
    # Public objects (codes on the landing, published documents).
    "public": {role: (T, T, T) for role in ROLES[1:]},
    # Notifications: their recipient only, not even the admin, nor anyone who sees the record they
    # are about (own: the business's order notice; other: the inspector's task notice, at the own
    # enterprise; far: the far inspector's task notice).
    "notification": {
        **{role: NONE for role in ROLES[1:]},
        "business": (T, F, F),
        "inspector": (F, T, F),
        "inspector_far": (F, F, T),
    },
}

INSPECTORS = frozenset({"inspector", "partner", "colleague", "inspector_far"})
REGULATORS = frozenset({"regulator", "regulator_far"})
OFFICIALS = INSPECTORS | REGULATORS | {"admin"}
NOT_REGULATORS = frozenset({"outsider", "business"}) | INSPECTORS
NOT_INSPECTORS = frozenset({"outsider", "business", "admin"}) | REGULATORS
NOT_MEMBERS = OFFICIALS | {"outsider"}
# Data sources (history.permissions): whoever manages scoring, which in the world is the admin
# alone (both regulators are district regulators).
NOT_SOURCE_MANAGERS = frozenset(ROLES[1:]) - {"admin"}


def scoped(
    sees: str, ok, *, anonymous, refused=(), denied=(), denial=404, hidden=404, **exact
) -> dict[str, tuple]:
    """Per role, the statuses for (own, other, far): ``ok`` where the role sees the object, 403 where
    it sees it but is ``refused``, ``hidden`` where it does not see it; ``denied`` roles get
    ``denial`` for every object (refused before any lookup); ``exact`` spells one role out."""

    def three(value):
        return value if isinstance(value, tuple) else (value,) * 3

    table = {"anonymous": three(anonymous)}
    for role in ROLES[1:]:
        if role in exact:
            table[role] = three(exact[role])
        elif role in denied:
            table[role] = three(denial)
        else:
            seen = 403 if role in refused else ok
            table[role] = tuple(seen if visible else hidden for visible in SEES[sees][role])
    return table


def flat(ok, *, anonymous, denied=(), denial=404, **exact) -> dict[str, int]:
    """Per role, one status (no object in the URL)."""
    table = {"anonymous": anonymous}
    for role in ROLES[1:]:
        table[role] = exact.get(role, denial if role in denied else ok)
    return table


@dataclass(frozen=True)
class Row:
    method: str
    key: str  # a URL name, or an API path as in the OpenAPI schema
    expect: dict  # role -> status (no object), or role -> (own, other, far)
    params: Callable[[World, str | None], dict] | None = None  # the URL's arguments
    query: Callable[[World, str | None], dict] | None = None
    body: Callable[[World, str | None], dict] | None = None
    json: bool = False  # body as JSON (the API's default), else form-encoded / multipart
    variant: str = ""  # when one key has rows for different states of its object
    send: str = ""  # the method to send for an "ANY" key
    note: str = ""

    @property
    def objects(self) -> tuple:
        return OBJECTS if isinstance(next(iter(self.expect.values())), tuple) else (None,)

    @property
    def is_api(self) -> bool:
        return self.key.startswith(API_PREFIX)

    def expected(self, role: str, which: str | None):
        value = self.expect[role]
        return value[OBJECTS.index(which)] if which else value

    def url(self, world: World, which: str | None) -> str:
        params = self.params(world, which) if self.params else {}
        path = self.key.format(**params) if self.is_api else reverse(self.key, kwargs=params)
        return path

    @property
    def id(self) -> str:
        return f"{self.method} {self.key}" + (f" [{self.variant}]" if self.variant else "")


def api_row(method, path, expect, **kwargs) -> Row:
    return Row(method, API_PREFIX + path.lstrip("/"), expect, json=kwargs.pop("json", True), **kwargs)


# URL arguments and bodies, by the object they name.
def enterprise(w, o):
    return {"uscc": w.enterprise[o].uscc}


def order_pk(w, o):
    return {"pk": w.order[o].pk}


def order_id(w, o):
    return {"order_id": w.order[o].pk}


def inspection_pk(w, o):
    return {"pk": w.inspection[o].pk}


def inspection_id(w, o):
    return {"inspection_id": w.inspection[o].pk}


def draft_pk(w, o):
    return {"pk": w.draft[o].pk}


def draft_id(w, o):
    return {"inspection_id": w.draft[o].pk}


def draft_item(w, o):
    return {"inspection_id": w.draft[o].pk, "item_id": w.draft_item[o].pk}


def complaint_pk(w, o):
    return {"pk": w.complaint[o].pk}


def complaint_id(w, o):
    return {"complaint_id": w.complaint[o].pk}


def task_pk(w, o):
    return {"pk": w.task[o].pk}


def task_id(w, o):
    return {"task_id": w.task[o].pk}


def yaml_file():
    return {"file": SimpleUploadedFile("content.yaml", b"scene: [unclosed", content_type="application/yaml")}


def policy_version(w, o):
    """The current scoring policy."""
    return {"version": w.policy.version}


def backtest_run(w, o):
    """A kept two-day back-test of the current policy."""
    return {"pk": w.backtest.pk}


def score_run(w, o):
    return {"pk": w.score_run.pk}


# The ingest operations of history.api, by what they take in.
INGEST = ("attributes", "signals")


def source_code(w, o):
    return {"code": w.source.code}


def revoked_source_credential(w, o):
    """The source's first key, revoked already: revoking it again is refused (409) after the gate."""
    return {"code": w.source.code, "credential_id": w.source_credential["revoked"].pk}


def planning_request(w, o, **extra):
    """A plan or draw for the object's district, over a period already past: refused (422) after
    the scope check, which refuses a district outside the caller's remit (403)."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return {
        "department": "market_regulation",
        "district": w.enterprise[o].district.code,
        "period_from": str(yesterday - timedelta(days=1)),
        "period_to": str(yesterday),
        **extra,
    }


def notification_pk(w, o):
    return {"pk": w.notification[o].pk}


def notification_id(w, o):
    return {"notification_id": w.notification[o].pk}


# A new password the validators accept; every world user's current one is the factories' PASSWORD.
NEW_PASSWORD = "a-much-longer-passphrase-2024"


def password_change(w, o):
    return {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}


def tablet_photo(w, o):
    """A real photo the tablet took for an item of the open task (the draft's), just now."""
    return {
        "photo": jpeg(),
        "task": w.task[o].pk,
        "item": w.draft_item[o].pk,
        "taken_at": timezone.now().isoformat(),
    }


def tablet_journal(w, o):
    """A tablet's journal of the open task: the draft's checklist versions (the record started
    online goes on) and one answer; replayed whole, undone with the test's transaction."""
    now = timezone.now().isoformat()
    return {
        "inspection": str(uuid.uuid4()),
        "task": w.task[o].pk,
        "started_at": now,
        "checklists": list(w.draft[o].checklists.values_list("pk", flat=True)),
        "answers": [{"id": str(uuid.uuid4()), "item": w.draft_item[o].pk, "result": "compliant", "at": now}],
    }


def past_window(w, o):
    """A re-inspection or task in the past: refused (422) by the service after the permission check."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return {
        "inspectors": [i.pk for i in w.teams[o]],
        "due_from": str(yesterday - timedelta(days=1)),
        "due_to": str(yesterday),
    }


ROWS = [
    # --- core pages --------------------------------------------------------------------------------
    Row("GET", "home", flat(200, anonymous=200)),
    Row("GET", "login", flat(302, anonymous=200), note="signed-in users are sent home"),
    Row("POST", "login", flat(302, anonymous=200), note="empty form: shown again with its errors"),
    Row("PUT", "login", flat(302, anonymous=200), note="FormView treats PUT as POST"),
    Row("POST", "logout", flat(302, anonymous=302)),
    Row("GET", "healthz", flat(200, anonymous=200)),
    Row("GET", "enterprise-list", flat(200, anonymous=LOGIN), note="filtered to the caller's scope"),
    Row("GET", "enterprise-detail", scoped("enterprise", 200, anonymous=LOGIN), params=enterprise),
    Row(
        "POST",
        "code-rotate",
        scoped("enterprise", 302, anonymous=LOGIN, refused={"business"} | INSPECTORS),
        params=enterprise,
        note="regulators in scope and the admin rotate (302 back to the enterprise)",
    ),
    Row(
        "GET", "landing", scoped("public", 200, anonymous=200), params=lambda w, o: {"token": w.code[o].token}
    ),
    Row(
        "GET",
        "landing-timeline",
        scoped("public", 200, anonymous=200),
        params=lambda w, o: {"token": w.code[o].token},
        note="whoever holds the code; the public sees the published part",
    ),
    Row(
        "GET",
        "enterprise-timeline",
        scoped("enterprise", 200, anonymous=LOGIN),
        params=enterprise,
        note="what the caller may see of an enterprise in scope",
    ),
    Row(
        "POST",
        "landing",
        scoped("public", 422, anonymous=422),
        params=lambda w, o: {"token": w.code[o].token},
        body=lambda w, o: {"text": ""},
        note="anyone may report; an empty report is refused with the form",
    ),
    Row(
        "GET",
        "verify-document",
        scoped("public", 200, anonymous=200),
        params=lambda w, o: {"public_id": w.record[o].public_id},
    ),
    Row(
        "POST",
        "verify-document",
        scoped("public", 400, anonymous=400),
        params=lambda w, o: {"public_id": w.record[o].public_id},
        note="no file to compare",
    ),
    Row("ANY", "set_language", flat(302, anonymous=302), send="POST", body=lambda w, o: {"language": "en"}),
    Row("ANY", "admin:index", flat(302, anonymous=302, admin=200), send="GET", note="staff only"),
    Row("ANY", "api:openapi-json", flat(200, anonymous=200), send="GET", note="the API's schema is public"),
    Row("ANY", "api:openapi-view", flat(200, anonymous=200), send="GET"),
    Row(
        "ANY",
        "api:api-root",
        flat(404, anonymous=404),
        send="GET",
        note="ninja's home redirects to docs under DEBUG only",
    ),
    # --- the user's own account (core/account_views.py; the API's in "tokens and enterprises") ------
    # Every signed-in user has one, for themselves only: nothing here takes another user's id but a
    # token's, and another user's token does not exist for them. What ends sessions or changes the
    # password acts on the caller and is undone with the test's transaction (the world's sessions
    # are rows of that transaction: the next test finds them again).
    Row("GET", "account", flat(200, anonymous=LOGIN)),
    Row("GET", "password-change", flat(200, anonymous=LOGIN)),
    Row(
        "POST",
        "password-change",
        flat(302, anonymous=LOGIN),
        body=password_change,
        note="a valid change: back to the account page (the caller's tokens revoked, this session kept)",
    ),
    Row(
        "PUT",
        "password-change",
        flat(200, anonymous=LOGIN),
        note="FormView treats PUT as POST, but a PUT's body is no form data: the form is shown again",
    ),
    Row(
        "POST",
        "account-token-revoke",
        scoped("token", 302, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.token[o].pk},
        note="only the owner revokes a token, not even the admin",
    ),
    Row(
        "POST",
        "account-sign-out-everywhere",
        flat(302, anonymous=LOGIN),
        note="every session and token of the caller ended, this one too: to the sign-in page",
    ),
    # --- the audit chain's checkpoints (core/audit_views.py, audit_api.py) ---------------------------
    # Published on purpose, to anyone: event numbers, hashes and times, nothing about a record or
    # a person; a copy kept outside shows a chain rewritten later.
    Row("GET", "audit-checkpoints", flat(200, anonymous=200)),
    api_row("GET", "audit/checkpoints", flat(200, anonymous=200)),
    # --- manuals and content -----------------------------------------------------------------------
    Row(
        "GET",
        "checklists:scene-manual",
        flat(200, anonymous=200),
        params=lambda w, o: {"scene_code": "catering"},
    ),
    Row("GET", "checklists:enterprise-manual", scoped("enterprise", 200, anonymous=LOGIN), params=enterprise),
    Row(
        "POST",
        "checklists:acknowledge",
        scoped("enterprise", 302, anonymous=LOGIN, refused=NOT_MEMBERS),
        params=enterprise,
        note="members only; an official in scope is refused (403)",
    ),
    Row(
        "GET",
        "checklists:manual-pdf",
        scoped("content", 200, anonymous=(200, 404, 404)),
        params=lambda w, o: {"manual_id": w.manual[o].pk},
        note="published manuals are public; drafts for their editors",
    ),
    Row("GET", "checklists:rates", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row(
        "GET",
        "checklists:content",
        flat(200, anonymous=LOGIN, denied=NOT_REGULATORS | {"regulator_far"}),
        note="a regulator without a department edits no content",
    ),
    Row(
        "POST",
        "checklists:upload",
        flat(422, anonymous=LOGIN, denied=NOT_REGULATORS | {"regulator_far"}),
        body=lambda w, o: yaml_file(),
        note="a broken file: editors get its errors",
    ),
    Row(
        "POST",
        "checklists:publish",
        scoped("editor", 302, anonymous=LOGIN),
        params=lambda w, o: {"kind": "manual", "pk": w.manual[o].pk},
        variant="manual",
    ),
    Row(
        "POST",
        "checklists:publish",
        scoped("editor", 302, anonymous=LOGIN),
        params=lambda w, o: {"kind": "checklist", "pk": w.checklist[o].pk},
        variant="checklist",
    ),
    # --- self-inspections --------------------------------------------------------------------------
    Row("GET", "supervision:enterprise", scoped("enterprise", 200, anonymous=LOGIN), params=enterprise),
    Row(
        "POST",
        "supervision:enterprise",
        scoped("enterprise", 302, anonymous=LOGIN, refused=OFFICIALS),
        params=enterprise,
        note="members start or resume the draft",
    ),
    Row(
        "GET",
        "supervision:detail",
        scoped("enterprise", 200, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.self_inspection[o].pk},
        variant="submitted",
    ),
    Row(
        "GET",
        "supervision:detail",
        scoped("self_draft", 200, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.self_draft[o].pk},
        variant="draft",
    ),
    Row(
        "POST",
        "supervision:detail",
        scoped("enterprise", 302, anonymous=LOGIN, refused=OFFICIALS),
        params=lambda w, o: {"pk": w.self_inspection[o].pk},
        variant="submitted",
        note="a member is told it is submitted; officials may not write",
    ),
    Row(
        "POST",
        "supervision:detail",
        scoped("self_draft", 302, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.self_draft[o].pk},
        variant="draft",
    ),
    Row(
        "GET",
        "supervision:photo",
        scoped("enterprise", 200, anonymous=LOGIN),
        params=lambda w, o: {
            "pk": w.self_inspection[o].pk,
            "photo_id": w.self_photo[o].pk,
            "variant": "display",
        },
    ),
    Row(
        "POST",
        "supervision:issue-fix",
        scoped("enterprise", 422, anonymous=LOGIN, refused=OFFICIALS),
        params=lambda w, o: {"pk": w.issue[o].pk},
        note="a member's empty note is refused",
    ),
    # --- the loop: tablet pages ---------------------------------------------------------------------
    Row("GET", "loop:today", flat(200, anonymous=LOGIN, denied=NOT_INSPECTORS)),
    Row(
        "GET",
        "loop:route",
        flat(200, anonymous=LOGIN, denied=NOT_INSPECTORS),
        note="the caller's own tasks of the day",
    ),
    # The tablet app that works offline (docs/OFFLINE.md; its API under "API: the tablet offline"):
    # the shell for inspectors only; its manifest and service worker are static and public (the
    # browser fetches them without asking who is signed in).
    Row("GET", "loop:tablet", flat(200, anonymous=LOGIN, denied=NOT_INSPECTORS)),
    Row("GET", "loop:tablet-manifest", flat(200, anonymous=200)),
    Row("GET", "loop:service-worker", flat(200, anonymous=200)),
    Row(
        "GET",
        "loop:scan",
        scoped("enterprise", 302, anonymous=LOGIN, denied=NOT_INSPECTORS),
        query=lambda w, o: {"code": w.enterprise[o].uscc},
        variant="credit code",
        note="an enterprise in the inspector's jurisdiction opens its landing; another is not found",
    ),
    Row(
        "POST",
        "loop:start",
        scoped("task", 302, anonymous=LOGIN, refused=REGULATORS | {"admin"}),
        params=task_pk,
        note="the assigned pair resumes the draft; planners see the task but do not inspect",
    ),
    Row(
        "GET",
        "loop:inspection",
        scoped("enterprise", 200, anonymous=LOGIN),
        params=inspection_pk,
        variant="submitted",
    ),
    Row(
        "GET",
        "loop:inspection",
        scoped("draft", 200, anonymous=LOGIN),
        params=draft_pk,
        variant="draft",
        note="the admin reads a draft; nobody else outside the pair sees it",
    ),
    Row(
        "POST",
        "loop:inspection",
        scoped(
            "enterprise",
            403,
            anonymous=LOGIN,
            inspector=(302, 403, 404),
            partner=(302, 403, 404),
            inspector_far=(404, 404, 302),
        ),
        params=inspection_pk,
        body=lambda w, o: {"note": "changed"},
        variant="submitted",
        note="its pair is told it is submitted; no one else may post to it",
    ),
    Row(
        "POST",
        "loop:inspection",
        scoped("draft", 302, anonymous=LOGIN, refused={"admin"}),
        params=draft_pk,
        body=lambda w, o: {"note": "changed"},
        variant="draft",
    ),
    Row(
        "POST",
        "loop:evaluate",
        scoped("enterprise", 422, anonymous=LOGIN, refused=OFFICIALS),
        params=inspection_pk,
        note="the business rates; no rating given",
    ),
    Row(
        "GET",
        "loop:inspection-photo",
        scoped("enterprise", 200, anonymous=LOGIN),
        params=lambda w, o: {
            "pk": w.inspection[o].pk,
            "photo_id": w.inspection_photo[o].pk,
            "variant": "thumbnail",
        },
    ),
    Row("GET", "loop:orders", flat(200, anonymous=LOGIN, denied={"outsider"})),
    Row("GET", "loop:order", scoped("enterprise", 200, anonymous=LOGIN), params=order_pk),
    Row(
        "POST",
        "loop:rectify",
        scoped("enterprise", 422, anonymous=LOGIN, refused=NOT_MEMBERS),
        params=order_pk,
        note="members answer; nothing said about the findings",
    ),
    Row(
        "POST",
        "loop:verify",
        scoped("enterprise", 409, anonymous=LOGIN, refused={"business", "admin"} | REGULATORS),
        params=order_pk,
        body=lambda w, o: {"decision": "accept"},
        note="inspectors with jurisdiction verify; the order is not answered yet",
    ),
    Row(
        "POST",
        "loop:reinspect",
        scoped("enterprise", 422, anonymous=LOGIN, refused={"business"}),
        params=order_pk,
        body=past_window,
        note="inspectors with jurisdiction and planners; a window in the past",
    ),
    Row(
        "POST",
        "loop:escalate",
        scoped("enterprise", 409, anonymous=LOGIN, refused={"business"}),
        params=order_pk,
        body=lambda w, o: {"reason": "ignored"},
        note="the order is not overdue",
    ),
    Row(
        "GET",
        "loop:order-photo",
        scoped("enterprise", 200, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.order[o].pk, "photo_id": w.inspection_photo[o].pk, "variant": "display"},
    ),
    # --- regulators' desk ----------------------------------------------------------------------------
    Row("GET", "monitor:loop", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "monitor:ratings", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "monitor:consistency", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "monitor:tasks", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row(
        "GET",
        "monitor:task-new",
        scoped("enterprise", 200, anonymous=LOGIN, denied=NOT_REGULATORS),
        query=lambda w, o: {"enterprise": w.enterprise[o].uscc},
    ),
    Row(
        "POST",
        "monitor:task-new",
        scoped("enterprise", 422, anonymous=LOGIN, denied=NOT_REGULATORS),
        query=lambda w, o: {"enterprise": w.enterprise[o].uscc},
        note="no dates",
    ),
    Row(
        "POST",
        "monitor:task-cancel",
        scoped("task", 302, anonymous=LOGIN, denied=NOT_REGULATORS),
        params=task_pk,
        note="no reason: back to the list with the error",
    ),
    # --- API: tokens and enterprises ---------------------------------------------------------------
    api_row(
        "POST",
        "auth/token",
        flat(422, anonymous=422),
        body=lambda w, o: {},
        note="public, throttled; an empty body",
    ),
    api_row("GET", "auth/tokens", flat(200, anonymous=401), note="the caller's own tokens"),
    api_row(
        "DELETE",
        "auth/tokens/{token_id}",
        scoped("token", 204, anonymous=401),
        params=lambda w, o: {"token_id": w.token[o].pk},
        note="only the owner revokes a token, not even the admin",
    ),
    api_row(
        "POST",
        "auth/sign-out-everywhere",
        flat(200, anonymous=401),
        note="the caller's own sessions and tokens (undone with the test's transaction)",
    ),
    api_row("GET", "enterprises", flat(200, anonymous=401)),
    api_row("GET", "enterprises/{uscc}", scoped("enterprise", 200, anonymous=401), params=enterprise),
    api_row(
        "GET",
        "enterprises/{uscc}/timeline",
        scoped("enterprise", 200, anonymous=401),
        params=enterprise,
        note="each entry filtered by its feature's rules (tests/supervision/landing/test_timeline.py)",
    ),
    api_row(
        "GET",
        "scan/{token}",
        scoped("public", 200, anonymous=200),
        params=lambda w, o: {"token": w.code[o].token},
    ),
    *(
        api_row(
            "GET",
            f"enterprises/{{uscc}}/{suffix}",
            scoped("enterprise", 200, anonymous=401),
            params=enterprise,
        )
        for suffix in ("code", "code.png", "code.svg", "code.pdf")
    ),
    api_row(
        "POST",
        "enterprises/{uscc}/code/rotate",
        scoped("enterprise", 200, anonymous=401, refused={"business"} | INSPECTORS),
        params=enterprise,
        body=lambda w, o: {},
    ),
    api_row(
        "POST",
        "enterprises/{uscc}/code/revoke",
        scoped("enterprise", 422, anonymous=401, refused={"business"} | INSPECTORS),
        params=enterprise,
        body=lambda w, o: {},
        note="no reason given",
    ),
    api_row(
        "GET",
        "scans",
        scoped("enterprise", 200, anonymous=401, denied=NOT_REGULATORS, denial=403),
        query=lambda w, o: {"enterprise": w.enterprise[o].uscc},
    ),
    api_row(
        "POST",
        "code-batches",
        scoped("enterprise", 202, anonymous=401, denied=NOT_REGULATORS, denial=403, hidden=422),
        body=lambda w, o: {"usccs": [w.enterprise[o].uscc]},
        note="a selection outside the scope is refused whole, without saying which (422)",
    ),
    api_row(
        "GET",
        "code-batches/{batch_id}",
        scoped("batch", 200, anonymous=401),
        params=lambda w, o: {"batch_id": w.batch[o].pk},
    ),
    api_row(
        "GET",
        "code-batches/{batch_id}/file",
        scoped("batch", 200, anonymous=401),
        params=lambda w, o: {"batch_id": w.batch[o].pk},
    ),
    # --- API: content ------------------------------------------------------------------------------
    api_row(
        "GET",
        "scenes/{scene_code}/manual",
        flat(200, anonymous=200),
        params=lambda w, o: {"scene_code": "catering"},
    ),
    api_row(
        "GET",
        "manuals/{manual_id}",
        scoped("content", 200, anonymous=(200, 404, 404)),
        params=lambda w, o: {"manual_id": w.manual[o].pk},
    ),
    api_row(
        "GET",
        "manuals/{manual_id}/pdf",
        scoped("content", 200, anonymous=(200, 404, 404)),
        params=lambda w, o: {"manual_id": w.manual[o].pk},
    ),
    api_row(
        "POST",
        "manuals/{manual_id}/publish",
        scoped(
            "content",
            200,
            anonymous=401,
            refused=NOT_REGULATORS | {"regulator_far"},
            regulator=(409, 200, 404),
            admin=(409, 200, 200),
        ),
        params=lambda w, o: {"manual_id": w.manual[o].pk},
        note="the published version is not a draft (409)",
    ),
    api_row(
        "GET",
        "checklists/{checklist_id}",
        scoped("content", 200, anonymous=401),
        params=lambda w, o: {"checklist_id": w.checklist[o].pk},
    ),
    api_row(
        "POST",
        "checklists/{checklist_id}/publish",
        scoped(
            "content",
            200,
            anonymous=401,
            refused=NOT_REGULATORS | {"regulator_far"},
            regulator=(409, 200, 404),
            admin=(409, 200, 200),
        ),
        params=lambda w, o: {"checklist_id": w.checklist[o].pk},
    ),
    api_row(
        "GET",
        "scenes/{scene_code}/checklist",
        scoped("enterprise", 200, anonymous=401),
        params=lambda w, o: {"scene_code": "catering"},
        query=lambda w, o: {"enterprise": w.enterprise[o].uscc},
    ),
    api_row("GET", "enterprises/{uscc}/manual", scoped("enterprise", 200, anonymous=401), params=enterprise),
    api_row(
        "POST",
        "enterprises/{uscc}/manual/acknowledge",
        scoped("enterprise", 200, anonymous=401, refused=NOT_MEMBERS),
        params=enterprise,
        body=lambda w, o: {},
    ),
    api_row("GET", "acknowledgement-rates", flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403)),
    api_row(
        "POST",
        "content",
        flat(422, anonymous=401, denied=NOT_REGULATORS | {"regulator_far"}, denial=403),
        body=lambda w, o: yaml_file(),
        json=False,
    ),
    api_row(
        "POST",
        "content/checklist.csv",
        flat(422, anonymous=401, denied=NOT_REGULATORS | {"regulator_far"}, denial=403),
        body=lambda w, o: {
            "scene": "catering",
            "department": "market_regulation",
            "title": "table",
            "file": SimpleUploadedFile("items.csv", b"not,a\nchecklist", content_type="text/csv"),
        },
        json=False,
    ),
    # --- API: self-inspections ---------------------------------------------------------------------
    api_row(
        "POST",
        "enterprises/{uscc}/self-inspections",
        scoped("enterprise", 200, anonymous=401, refused=OFFICIALS),
        params=enterprise,
        note="a member resumes the draft",
    ),
    api_row(
        "GET",
        "enterprises/{uscc}/self-inspections",
        scoped("enterprise", 200, anonymous=401),
        params=enterprise,
    ),
    api_row(
        "GET",
        "self-inspections/{si_id}",
        scoped("enterprise", 200, anonymous=401),
        params=lambda w, o: {"si_id": w.self_inspection[o].pk},
        variant="submitted",
    ),
    api_row(
        "GET",
        "self-inspections/{si_id}",
        scoped("self_draft", 200, anonymous=401),
        params=lambda w, o: {"si_id": w.self_draft[o].pk},
        variant="draft",
    ),
    api_row(
        "PUT",
        "self-inspections/{si_id}/answers/{item_id}",
        scoped("self_draft", 200, anonymous=401),
        params=lambda w, o: {"si_id": w.self_draft[o].pk, "item_id": w.self_draft_item[o].pk},
        body=lambda w, o: {"result": "compliant"},
    ),
    api_row(
        "POST",
        "self-inspections/{si_id}/answers/{item_id}/photos",
        scoped("self_draft", 422, anonymous=401),
        params=lambda w, o: {"si_id": w.self_draft[o].pk, "item_id": w.self_draft_item[o].pk},
        body=lambda w, o: {"photo": fake_jpeg(), "result": "compliant"},
        json=False,
        note="not an image",
    ),
    api_row(
        "POST",
        "self-inspections/{si_id}/submit",
        scoped("self_draft", 422, anonymous=401),
        params=lambda w, o: {"si_id": w.self_draft[o].pk},
        note="nothing answered",
    ),
    api_row(
        "GET",
        "self-inspections/{si_id}/photos/{photo_id}",
        scoped("enterprise", 200, anonymous=401),
        params=lambda w, o: {"si_id": w.self_inspection[o].pk, "photo_id": w.self_photo[o].pk},
    ),
    api_row(
        "GET", "enterprises/{uscc}/self-issues", scoped("enterprise", 200, anonymous=401), params=enterprise
    ),
    api_row(
        "POST",
        "self-issues/{issue_id}/fix",
        scoped("enterprise", 422, anonymous=401, refused=OFFICIALS),
        params=lambda w, o: {"issue_id": w.issue[o].pk},
        body=lambda w, o: {"note": ""},
        json=False,
    ),
    # --- API: tasks and the on-site record ---------------------------------------------------------
    api_row(
        "POST",
        "tasks",
        scoped("enterprise", 422, anonymous=401, refused={"business"} | INSPECTORS),
        body=lambda w, o: {"enterprise": w.enterprise[o].uscc, **past_window(w, o)},
        note="planners only; a window in the past",
    ),
    api_row("GET", "tasks", flat(200, anonymous=401), note="filtered to the caller's tasks"),
    api_row("GET", "tasks/{task_id}", scoped("task", 200, anonymous=401), params=task_id),
    api_row(
        "POST",
        "tasks/{task_id}/cancel",
        scoped("task", 422, anonymous=401, refused=INSPECTORS),
        params=task_id,
        body=lambda w, o: {"reason": ""},
    ),
    api_row(
        "POST",
        "tasks/{task_id}/inspection",
        scoped("task", 200, anonymous=401, refused=REGULATORS | {"admin"}),
        params=task_id,
        note="the pair resumes its draft",
    ),
    api_row(
        "GET",
        "inspections/{inspection_id}",
        scoped("enterprise", 200, anonymous=401),
        params=inspection_id,
        variant="submitted",
    ),
    api_row(
        "GET",
        "inspections/{inspection_id}",
        scoped("draft", 200, anonymous=401),
        params=draft_id,
        variant="draft",
    ),
    api_row(
        "PATCH",
        "inspections/{inspection_id}",
        scoped("draft", 200, anonymous=401, refused={"admin"}),
        params=draft_id,
        body=lambda w, o: {"note": "changed"},
    ),
    api_row(
        "PUT",
        "inspections/{inspection_id}/answers/{item_id}",
        scoped("draft", 200, anonymous=401, refused={"admin"}),
        params=draft_item,
        body=lambda w, o: {"result": "compliant"},
    ),
    api_row(
        "POST",
        "inspections/{inspection_id}/answers/{item_id}/photos",
        scoped("draft", 422, anonymous=401, refused={"admin"}),
        params=draft_item,
        body=lambda w, o: {"photo": jpeg()},
        json=False,
        note="a real photo (the workflow decodes photos before its assignment check, so a fake one "
        "would be refused as such before the admin is refused), on an item not answered yet",
    ),
    api_row(
        "POST",
        "inspections/{inspection_id}/signatures",
        scoped("draft", 201, anonymous=401, refused={"admin"}),
        params=draft_id,
        body=lambda w, o: {"role": "representative", "png_base64": png_base64()},
    ),
    api_row(
        "POST",
        "inspections/{inspection_id}/refusal",
        scoped("draft", 422, anonymous=401, refused={"admin"}),
        params=draft_id,
        body=lambda w, o: {"note": ""},
    ),
    api_row(
        "POST",
        "inspections/{inspection_id}/submit",
        scoped("draft", 422, anonymous=401, refused={"admin"}),
        params=draft_id,
        body=lambda w, o: {"submission_id": str(uuid.uuid4()), "conclusion": "pass"},
        note="nothing answered",
    ),
    api_row(
        "GET",
        "inspections/{inspection_id}/record.pdf",
        scoped("enterprise", 200, anonymous=401),
        params=inspection_id,
    ),
    api_row(
        "POST",
        "inspections/{inspection_id}/evaluation",
        scoped("enterprise", 201, anonymous=401, refused=OFFICIALS),
        params=inspection_id,
        body=lambda w, o: {"rating": 5},
    ),
    # --- API: the tablet offline (supervision/inspections/api/offline.py, docs/OFFLINE.md) ----------
    # The day pack is the caller's own work: inspectors only. Photos and journals name a task: who
    # does not see it gets 404; who sees it but is not on it (planners, the admin) 403 not_assigned.
    api_row("GET", "daypack", flat(200, anonymous=401, denied=NOT_INSPECTORS)),
    api_row(
        "POST",
        "inspections/photos/{client_id}",
        scoped("task", 201, anonymous=401, refused=REGULATORS | {"admin"}),
        params=lambda w, o: {"client_id": uuid.uuid4()},
        body=tablet_photo,
        json=False,
        note="a real photo, stored (201) for the pair; the others are refused before it is decoded",
    ),
    api_row(
        "POST",
        "inspections/sync",
        scoped("task", 200, anonymous=401, refused=REGULATORS | {"admin"}),
        body=tablet_journal,
        note="the pair's journal is replayed on the draft",
    ),
    api_row(
        "GET",
        "inspections/{inspection_id}/history",
        scoped("enterprise", 200, anonymous=401, denied={"outsider", "business"}),
        params=inspection_id,
        variant="submitted",
        note="officials who see the record; never the business, which sees the record as submitted",
    ),
    api_row(
        "GET",
        "inspections/{inspection_id}/history",
        scoped("draft", 200, anonymous=401),
        params=draft_id,
        variant="draft",
        note="its pair, and the admin (who reads drafts)",
    ),
    # --- API: orders -------------------------------------------------------------------------------
    api_row("GET", "orders", flat(200, anonymous=401), note="filtered to the caller's scope"),
    api_row("GET", "orders/{order_id}", scoped("enterprise", 200, anonymous=401), params=order_id),
    api_row(
        "POST",
        "orders/{order_id}/rectification",
        scoped("enterprise", 422, anonymous=401, refused=NOT_MEMBERS),
        params=order_id,
        body=lambda w, o: {"note": ""},
        json=False,
    ),
    api_row(
        "POST",
        "orders/{order_id}/verify",
        scoped("enterprise", 409, anonymous=401, refused={"business", "admin"} | REGULATORS),
        params=order_id,
        body=lambda w, o: {"accepted": True},
    ),
    api_row(
        "POST",
        "orders/{order_id}/reinspection",
        scoped("enterprise", 422, anonymous=401, refused={"business"}),
        params=order_id,
        body=past_window,
    ),
    api_row(
        "POST",
        "orders/{order_id}/escalate",
        scoped("enterprise", 409, anonymous=401, refused={"business"}),
        params=order_id,
        body=lambda w, o: {"reason": "ignored"},
    ),
    api_row("GET", "orders/{order_id}/notice.pdf", scoped("enterprise", 200, anonymous=401), params=order_id),
    # --- risk ranking and scoring (supervision/risk/views/ranking.py, api_scoring.py) ---------------------
    # Regulators and the admin rank (others: 404 on pages, 403 in the API); both regulators of the
    # world are district regulators, so only the admin changes the city's policy or recomputes.
    Row("GET", "ranking:list", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "ranking:distribution", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row(
        "GET",
        "ranking:detail",
        scoped("enterprise", 200, anonymous=LOGIN, denied=NOT_REGULATORS),
        params=enterprise,
    ),
    Row(
        "POST",
        "ranking:credit-event-new",
        scoped("enterprise", 422, anonymous=LOGIN, denied=NOT_REGULATORS),
        params=enterprise,
        note="regulators in scope; an empty form is refused field by field",
    ),
    Row("GET", "ranking:policies", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "ranking:policy", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS), params=policy_version),
    Row("GET", "ranking:policy-new", flat(403, anonymous=LOGIN, denied=NOT_REGULATORS, admin=200)),
    Row(
        "POST",
        "ranking:policy-new",
        flat(403, anonymous=LOGIN, denied=NOT_REGULATORS, admin=400),
        note="an empty form: every weight missing",
    ),
    Row(
        "POST",
        "ranking:policy-adopt",
        flat(403, anonymous=LOGIN, denied=NOT_REGULATORS, admin=302),
        params=policy_version,
        note="already current: back to the version with the message",
    ),
    Row(
        "GET",
        "ranking:policy-card",
        flat(404, anonymous=LOGIN, denied=NOT_REGULATORS),
        params=policy_version,
        note="version 1 was not calibrated: it has no model card",
    ),
    Row(
        "POST",
        "ranking:policy-offsite-example",
        flat(403, anonymous=LOGIN, denied=NOT_REGULATORS, admin=302),
        note="the admin's candidate version is made and undone with the test's transaction",
    ),
    Row("POST", "ranking:recompute", flat(403, anonymous=LOGIN, denied=NOT_REGULATORS, admin=302)),
    Row("GET", "ranking:run", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS), params=score_run),
    api_row("GET", "ranking", flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403)),
    api_row(
        "GET",
        "ranking/{uscc}",
        scoped("enterprise", 200, anonymous=401, denied=NOT_REGULATORS, denial=403),
        params=enterprise,
    ),
    api_row("GET", "scoring/policies", flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403)),
    api_row(
        "GET",
        "scoring/policies/{version}",
        flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403),
        params=policy_version,
    ),
    api_row(
        "POST",
        "scoring/policies",
        flat(403, anonymous=401, denied=NOT_REGULATORS, denial=403, admin=400),
        body=lambda w, o: {"weights": {}},
        note="the admin's empty weights are refused by validation",
    ),
    api_row(
        "POST",
        "scoring/policies/{version}/adopt",
        flat(403, anonymous=401, denied=NOT_REGULATORS, denial=403, admin=400),
        params=policy_version,
        note="already current",
    ),
    api_row("GET", "scoring/offsite-example", flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403)),
    api_row(
        "POST",
        "scoring/offsite-example",
        flat(403, anonymous=401, denied=NOT_REGULATORS, denial=403, admin=201),
        note="the admin's candidate version is made and undone with the test's transaction",
    ),
    api_row(
        "POST", "scoring/recompute", flat(403, anonymous=401, denied=NOT_REGULATORS, denial=403, admin=202)
    ),
    api_row(
        "GET",
        "scoring/runs/{run_id}",
        flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403),
        params=lambda w, o: {"run_id": score_run(w, o)["pk"]},
    ),
    # --- back-test and calibration (supervision/risk/views/backtest.py) ------------------------------------
    # Whoever manages scoring (here only the admin: both regulators are district regulators); every
    # other signed-in user 403.
    Row("GET", "backtest:index", flat(403, anonymous=LOGIN, admin=200)),
    Row("POST", "backtest:index", flat(403, anonymous=LOGIN, admin=422), note="an empty form: no start date"),
    Row("POST", "backtest:calibrate", flat(403, anonymous=LOGIN, admin=422), note="an empty form: no date"),
    Row("GET", "backtest:detail", flat(403, anonymous=LOGIN, admin=200), params=backtest_run),
    # --- planning: risk plans, double-random draws, conflicts, burden (planning/views.py, api.py) ------
    # Planners (core.permissions.planning_scope: regulators within their area, the admin); anyone
    # else 404 on pages, 403 in the API for what names no object.
    Row("GET", "planning:plans", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "planning:plan-new", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row(
        "POST",
        "planning:plan-new",
        flat(422, anonymous=LOGIN, denied=NOT_REGULATORS),
        note="an empty form: no period (or no department for a planner without one)",
    ),
    Row(
        "GET", "planning:plan", scoped("plan", 200, anonymous=LOGIN), params=lambda w, o: {"pk": w.plan[o].pk}
    ),
    Row(
        "POST",
        "planning:plan-confirm",
        scoped("plan", 302, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.plan[o].pk},
    ),
    Row("GET", "planning:draws", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row("GET", "planning:draw-new", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    Row(
        "POST",
        "planning:draw-new",
        flat(422, anonymous=LOGIN, denied=NOT_REGULATORS),
        note="an empty form: no tier (or no department)",
    ),
    Row(
        "GET", "planning:draw", scoped("plan", 200, anonymous=LOGIN), params=lambda w, o: {"pk": w.draw[o].pk}
    ),
    Row(
        "POST",
        "planning:draw-confirm",
        scoped("plan", 302, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.draw[o].pk},
    ),
    Row(
        "GET",
        "planning:conflicts",
        flat(200, anonymous=LOGIN, denied={"outsider", "business"}),
        note="inspectors declare theirs, planners see those in their scope",
    ),
    Row(
        "POST",
        "planning:conflicts",
        flat(422, anonymous=LOGIN, denied=NOT_INSPECTORS),
        note="only inspectors declare; an empty form (an unknown enterprise reads the same)",
    ),
    Row(
        "POST",
        "planning:conflict-end",
        scoped(
            "plan", 404, anonymous=LOGIN, hidden=404, inspector=(302, 404, 404), colleague=(404, 302, 404)
        ),
        params=lambda w, o: {"pk": w.conflict[o].pk},
        note="only the declaring inspector ends a declaration; a regulator who sees it gets 404 too",
    ),
    Row("GET", "planning:burden", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    api_row(
        "POST",
        "plans",
        scoped("enterprise", 422, anonymous=401, denied=NOT_REGULATORS, denial=403, hidden=403),
        body=lambda w, o: planning_request(w, o, capacity=10),
    ),
    api_row(
        "GET",
        "plans/{plan_id}",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"plan_id": w.plan[o].pk},
    ),
    api_row(
        "GET",
        "plans/{plan_id}/entries",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"plan_id": w.plan[o].pk},
    ),
    api_row(
        "POST",
        "plans/{plan_id}/confirm",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"plan_id": w.plan[o].pk},
    ),
    api_row(
        "POST",
        "draws",
        scoped("enterprise", 422, anonymous=401, denied=NOT_REGULATORS, denial=403, hidden=403),
        body=lambda w, o: planning_request(w, o),
    ),
    api_row(
        "GET",
        "draws/{draw_id}",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"draw_id": w.draw[o].pk},
    ),
    api_row(
        "GET",
        "draws/{draw_id}/entries",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"draw_id": w.draw[o].pk},
    ),
    api_row(
        "GET",
        "draws/{draw_id}/verify",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"draw_id": w.draw[o].pk},
    ),
    api_row(
        "POST",
        "draws/{draw_id}/confirm",
        scoped("plan", 200, anonymous=401),
        params=lambda w, o: {"draw_id": w.draw[o].pk},
    ),
    api_row(
        "GET",
        "burden",
        flat(200, anonymous=401, denied=NOT_REGULATORS, denial=403),
        query=lambda w, o: {"period_from": str(timezone.localdate()), "period_to": str(timezone.localdate())},
    ),
    # --- complaints: the desk and triage (supervision/complaints/views.py, api_complaints.py) ----------
    # Officials reach the list (each sees their own complaints in it); a complaint exists only for
    # those who see it. The world's complaints are new: a harmless body is refused after the gate.
    Row("GET", "complaints:list", flat(200, anonymous=LOGIN, denied={"outsider", "business"})),
    Row("GET", "complaints:detail", scoped("complaint", 200, anonymous=LOGIN), params=complaint_pk),
    Row(
        "GET",
        "complaints:photo",
        scoped("complaint", 200, anonymous=LOGIN),
        params=lambda w, o: {"pk": w.complaint[o].pk, "variant": "thumbnail"},
    ),
    Row(
        "POST",
        "complaints:dismiss",
        scoped("complaint", 422, anonymous=LOGIN),
        params=complaint_pk,
        body=lambda w, o: {"reason": ""},
        note="no reason",
    ),
    Row(
        "POST",
        "complaints:merge",
        scoped("complaint", 422, anonymous=LOGIN),
        params=complaint_pk,
        note="no complaint named to merge into",
    ),
    Row(
        "POST",
        "complaints:task",
        scoped("complaint", 422, anonymous=LOGIN),
        params=complaint_pk,
        body=past_window,
        note="a window in the past",
    ),
    api_row("GET", "complaints", flat(200, anonymous=401), note="filtered to the caller's complaints"),
    api_row(
        "GET",
        "complaints/{complaint_id}",
        scoped("complaint", 200, anonymous=401),
        params=complaint_id,
    ),
    api_row(
        "POST",
        "complaints/{complaint_id}/dismiss",
        scoped("complaint", 422, anonymous=401),
        params=complaint_id,
        body=lambda w, o: {"reason": ""},
    ),
    api_row(
        "POST",
        "complaints/{complaint_id}/merge",
        scoped("complaint", 422, anonymous=401),
        params=complaint_id,
        body=lambda w, o: {"into": w.complaint[o].pk},
        note="into itself",
    ),
    api_row(
        "POST",
        "complaints/{complaint_id}/task",
        scoped("complaint", 422, anonymous=401),
        params=complaint_id,
        body=past_window,
    ),
    # --- notifications: the inbox and its settings (supervision/notifications/views.py, api.py) ------
    # Every signed-in user has an inbox, their own: another's notification does not exist for them,
    # whoever they are (the admin included).
    Row("GET", "notifications:inbox", flat(200, anonymous=LOGIN), note="the caller's own"),
    Row(
        "POST",
        "notifications:read",
        scoped("notification", 302, anonymous=LOGIN),
        params=notification_pk,
        note="back to the inbox",
    ),
    Row("POST", "notifications:read-all", flat(302, anonymous=LOGIN), note="the caller's own"),
    Row("GET", "notifications:preferences", flat(200, anonymous=LOGIN)),
    Row(
        "POST",
        "notifications:preferences",
        flat(302, anonymous=LOGIN),
        body=lambda w, o: {"language": "en"},
        variant="valid",
        note="English, every optional notice off: saved, back to the page",
    ),
    Row(
        "POST",
        "notifications:preferences",
        flat(422, anonymous=LOGIN),
        body=lambda w, o: {"language": "en", "phone": "not a phone"},
        variant="invalid",
    ),
    api_row("GET", "notifications", flat(200, anonymous=401), note="the caller's own"),
    api_row("POST", "notifications/read-all", flat(200, anonymous=401), note="the caller's own"),
    api_row(
        "POST",
        "notifications/{notification_id}/read",
        scoped("notification", 200, anonymous=401),
        params=notification_id,
    ),
    # --- 一公开: published results and objections (supervision/publication/) --
    # The world's inspections were just submitted, so not yet published: a member's objection is
    # refused (409) after the gate, and a regulator in scope finds no objection to decide (409).
    Row("GET", "publication:list", flat(200, anonymous=200), note="public, no sign-in"),
    Row("GET", "publication:objection", scoped("enterprise", 200, anonymous=LOGIN), params=inspection_pk),
    Row(
        "POST",
        "publication:objection",
        scoped("enterprise", 409, anonymous=LOGIN, refused=NOT_MEMBERS),
        params=inspection_pk,
        body=lambda w, o: {"reason": "wrong"},
        note="members object, once the result is published",
    ),
    Row(
        "POST",
        "publication:decision",
        scoped("enterprise", 409, anonymous=LOGIN, refused={"business"} | INSPECTORS),
        params=inspection_pk,
        body=lambda w, o: {"decision": "reject", "note": "no"},
        note="regulators in scope decide; there is no objection",
    ),
    Row("GET", "publication:objections", flat(200, anonymous=LOGIN, denied=NOT_REGULATORS)),
    api_row("GET", "published-inspections", flat(200, anonymous=200), note="public, no sign-in"),
    api_row(
        "POST",
        "inspections/{inspection_id}/objection",
        scoped("enterprise", 409, anonymous=401, refused=NOT_MEMBERS),
        params=inspection_id,
        body=lambda w, o: {"reason": "wrong"},
    ),
    api_row(
        "POST",
        "inspections/{inspection_id}/objection/decision",
        scoped("enterprise", 409, anonymous=401, refused={"business"} | INSPECTORS),
        params=inspection_id,
        body=lambda w, o: {"upheld": False, "note": "no"},
    ),
    api_row("GET", "objections", flat(200, anonymous=401), note="members: their own; regulators: scope"),
    # --- data sources of other departments (history/views.py, history/api.py) ------------------------
    # Managed by whoever manages scoring (history.permissions; in the world the admin alone); anyone
    # else signed in does not see that they exist: 404 on pages and in the API alike. A source is
    # not scoped by district, so the rows name the world's one source (no own / other / far).
    Row("GET", "sources:list", flat(200, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS)),
    Row("GET", "sources:new", flat(200, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS)),
    Row(
        "POST",
        "sources:new",
        flat(422, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS),
        note="an empty form: no code, name or kind",
    ),
    Row("GET", "sources:detail", flat(200, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS), params=source_code),
    Row("GET", "sources:edit", flat(200, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS), params=source_code),
    Row(
        "POST",
        "sources:edit",
        flat(422, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS),
        params=source_code,
        note="an empty form: no name or kind",
    ),
    Row(
        "POST",
        "sources:key-issue",
        flat(200, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS),
        params=source_code,
        note="a manager gets the new key, shown once (undone with the test's transaction)",
    ),
    Row(
        "POST",
        "sources:key-revoke",
        flat(409, anonymous=LOGIN, denied=NOT_SOURCE_MANAGERS),
        params=revoked_source_credential,
        note="the key is revoked already",
    ),
    api_row("GET", "sources", flat(200, anonymous=401, denied=NOT_SOURCE_MANAGERS)),
    api_row(
        "POST",
        "sources",
        flat(409, anonymous=401, denied=NOT_SOURCE_MANAGERS),
        body=lambda w, o: {"code": w.source.code, "name": "taken", "kind": "register"},
        note="a valid body whose code is taken (a body the schema refuses is refused before the gate)",
    ),
    api_row(
        "GET", "sources/{code}", flat(200, anonymous=401, denied=NOT_SOURCE_MANAGERS), params=source_code
    ),
    api_row(
        "PATCH",
        "sources/{code}",
        flat(422, anonymous=401, denied=NOT_SOURCE_MANAGERS),
        params=source_code,
        body=lambda w, o: {"kind": None},
        note="a null kind, refused by the view after the gate",
    ),
    api_row(
        "POST",
        "sources/{code}/credentials",
        flat(201, anonymous=401, denied=NOT_SOURCE_MANAGERS),
        params=source_code,
        note="a new key (undone with the test's transaction)",
    ),
    api_row(
        "POST",
        "sources/{code}/credentials/{credential_id}/revoke",
        flat(409, anonymous=401, denied=NOT_SOURCE_MANAGERS),
        params=revoked_source_credential,
        note="the key is revoked already",
    ),
    api_row(
        "GET",
        "sources/{code}/batches",
        flat(200, anonymous=401, denied=NOT_SOURCE_MANAGERS),
        params=source_code,
    ),
    # Ingest takes the source's key and nothing else: no user ingests, not even the admin (401
    # source_key_required; test_no_user_can_ingest tries bearer tokens too, and the key itself).
    *(
        api_row(
            "POST",
            f"sources/{{source}}/{content}",
            flat(401, anonymous=401),
            params=lambda w, o: {"source": w.source.code},
            body=lambda w, o: {"rows": []},
            note="a session is no source's key",
        )
        for content in INGEST
    ),
]


def png_base64() -> str:
    return base64.b64encode(png_bytes()).decode()


CASES = [
    pytest.param(row, role, which, id=f"{row.id} | {role} | {which or '-'}")
    for row in ROWS
    for role in ROLES
    for which in row.objects
]


# --- the world, built once for the module ------------------------------------------------------------


@pytest.fixture(scope="module")
def world_media(tmp_path_factory):
    return tmp_path_factory.mktemp("permission-table-media")


@pytest.fixture(autouse=True)
def _media_root(settings, world_media):
    # Overrides tests/conftest.py's: the world's photos and documents live in one module-wide place.
    settings.MEDIA_ROOT = world_media


@pytest.fixture(autouse=True)
def _stub_pdfs(monkeypatch):
    for module in ("supervision.inspections.documents", "checklists.documents", "core.code_documents"):
        monkeypatch.setattr(f"{module}.render_pdf", stub_pdf)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, world_media):
    """Built once, in a transaction rolled back after the module; each test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        with (
            override_settings(
                MEDIA_ROOT=world_media, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
            ),
            mock.patch("supervision.inspections.documents.render_pdf", stub_pdf),
        ):
            built = build_world()
            # One session per role, signed in once: each test only sends its cookie.
            for role in ROLES[1:]:
                client = Client()
                client.force_login(built.users[role])
                built.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        yield built
        transaction.set_rollback(True)


# --- the tests ---------------------------------------------------------------------------------------


def _send(client: Client, row: Row, url: str, data):
    method = (row.send or row.method).lower()
    if method == "get":
        return client.get(url, data)
    if row.json and data is not None:
        return client.generic(method.upper(), url, json.dumps(data), content_type="application/json")
    if method == "post":
        return client.post(url, data or {})
    return client.generic(method.upper(), url)


@pytest.mark.parametrize(("row", "role", "which"), CASES)
def test_permission(world, row, role, which):
    client = Client(headers={"Accept-Language": "en"})
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    url = row.url(world, which)
    query = row.query(world, which) if row.query else None
    if query and (row.send or row.method) != "GET":
        url, query = f"{url}?{urlencode(query)}", None
    data = row.body(world, which) if row.body else query
    response = _send(client, row, url, data)
    expected = row.expected(role, which)
    # Read a streamed file to its end: that closes it the way the test client expects (closing it
    # by hand would fire request_finished, and close the connection holding the world's transaction).
    content = b"".join(response.streaming_content) if response.streaming else response.content
    content = content[:300]
    detail = f"{response.status_code} for {role} on {which or '-'}: {content!r}"
    if expected == LOGIN:
        assert response.status_code == 302, detail
        assert response["Location"].startswith(reverse("login") + "?next="), response["Location"]
    else:
        assert response.status_code == expected, detail
    if row.is_api and response.status_code >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "details"}, body
        if response.status_code == 404:
            # Out of scope and non-existent must read the same.
            assert body["code"] == "not_found", body


@pytest.mark.parametrize("content", INGEST)
@pytest.mark.parametrize("credential", ["session", "bearer"])
@pytest.mark.parametrize("role", ROLES[1:])
def test_no_user_can_ingest(world, role, credential, content):
    """Whoever a user is, and however they authenticate, ingest refuses them: 401
    source_key_required, nothing written. The control: the same batch with the source's own key
    gets through."""
    from core.tokens import _token_issue
    from history.models import SourceBatch

    uscc = world.enterprise["own"].uscc
    row = {
        "attributes": {"business_key": uscc, "name": "tobacco", "value": 1, "valid_from": "2024-01-01"},
        "signals": {
            "signal_id": "perm-1",
            "kind": "garbage_complaint",
            "occurred_at": "2024-01-01",
            "business_key": uscc,
        },
    }[content]
    url = f"{API_PREFIX}sources/{world.source.code}/{content}"
    body = json.dumps({"rows": [row]})
    client = Client(headers={"Accept-Language": "en"})
    if credential == "session":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        headers = {}
    else:
        headers = {"Authorization": f"Bearer {_token_issue(user=world.users[role], device='script')[1]}"}
    batches = SourceBatch.objects.count()

    response = client.post(url, body, content_type="application/json", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "source_key_required"), response.content
    assert SourceBatch.objects.count() == batches
    keyed = Client().post(
        url, body, content_type="application/json", headers={"Authorization": f"Source {world.source_key}"}
    )
    assert (keyed.status_code, keyed.json()["created"]) == (200, 1), keyed.content
    assert SourceBatch.objects.count() == batches + 1


def test_every_url_and_operation_has_a_row():
    _, required = url_keys()
    rows = {(row.method, row.key) for row in ROWS}
    missing = sorted(required - rows)
    assert not missing, "URLs / API operations without a row in the permission table:\n" + "\n".join(
        f"  {method} {key}" for method, key in missing
    )


def test_every_row_names_a_url_or_operation_that_exists():
    every, _ = url_keys()
    stale = sorted({(row.method, row.key) for row in ROWS} - every)
    assert not stale, "Rows for URLs / API operations that no longer exist:\n" + "\n".join(
        f"  {method} {key}" for method, key in stale
    )


def test_each_row_has_a_status_for_every_role():
    for row in ROWS:
        assert set(row.expect) == set(ROLES), row.id
        for value in row.expect.values():
            assert (isinstance(value, tuple) and len(value) == len(OBJECTS)) == (row.objects == OBJECTS), (
                row.id
            )
