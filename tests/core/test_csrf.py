"""CSRF on every form: every URL of the project, posted to without a CSRF token by a signed-in
user, is refused by Django's CSRF check (or does not take POST at all).

The URLs are enumerated from the resolver, so a view added later is covered without editing this
file; a POST view marked csrf_exempt makes test_every_page_refuses_a_post_without_a_csrf_token fail
(test_the_check_catches_a_csrf_exempt_post_view proves it on a planted one). The API (/api/v1/) is
django-ninja's: its session authentication checks CSRF itself, tested at the end.
"""

import re

import pytest
from django.http import HttpResponse, HttpResponseForbidden
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve
from django.urls.resolvers import RegexPattern
from django.views.decorators.csrf import csrf_exempt

from core.codes import code_issue
from core.models import IdentityCode
from supervision.inspections.documents import document_for
from supervision.models import Document
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

CSRF_FAILED = "X-Test-CSRF-Failed"


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW for these tests: a 403 that says it came from the CSRF check."""
    response = HttpResponseForbidden(reason)
    response[CSRF_FAILED] = "1"
    return response


@pytest.fixture(autouse=True)
def _marked_csrf_failures(settings):
    settings.CSRF_FAILURE_VIEW = f"{__name__}.csrf_failure"


# --- the URL patterns ------------------------------------------------------------------------------

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def url_patterns(patterns=None, parts=(), namespace=()):
    """(parts, name, pattern) for every view of the URLconf, API included; ``parts`` are the
    route's pieces, outermost first (each a RoutePattern or a RegexPattern)."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            spaces = (*namespace, entry.namespace) if entry.namespace else namespace
            yield from url_patterns(entry.url_patterns, (*parts, entry.pattern), spaces)
        elif isinstance(entry, URLPattern):
            yield (*parts, entry.pattern), ":".join((*namespace, entry.name or "?")), entry


def concrete_path(parts, values: dict[str, str]) -> str:
    """The route with its parameters filled in from ``values``."""

    def value(match) -> str:
        name = match["name"]
        if name not in values:
            raise KeyError(f"give test_csrf's fixture world a value for <{name}> ({parts})")
        return str(values[name])

    text = ""
    for part in parts:
        if isinstance(part, RegexPattern):
            text += _REGEX_GROUP.sub(value, str(part)).replace("^", "").replace("$", "")
        else:
            text += _ROUTE_PARAM.sub(value, str(part))
    return "/" + text


@pytest.fixture
def world(enterprise, order, submitted_inspection, task, loop_checklist):
    """One of each object the URLs name: an enterprise with its code, a submitted inspection with
    its order and record, the task it came from."""
    code = code_issue(enterprise=enterprise)
    record = document_for(inspection=submitted_inspection, kind=Document.Kind.INSPECTION_RECORD)
    return {
        "uscc": enterprise.uscc,
        "token": code.token,
        "public_id": record.public_id,
        "scene_code": enterprise.scene.code,
        "pk": order.pk,
        "id": 1,
        "manual_id": 1,
        "photo_id": 1,
        "variant": "thumb",
        "kind": "checklist",
        "version": 1,
        "object_id": 1,
        "content_type_id": 1,
        "app_label": "core",
        "url": "no-such-page/",
        # Data sources (history): the CSRF check comes before the view, so no source need exist.
        "code": "x",
        "credential_id": 1,
        "source": "x",
    }


def unprotected_posts(client: Client, values: dict) -> tuple[list[str], list[str]]:
    """Post, without a CSRF token, to every non-API URL; return (checked routes, offenders)."""
    checked, offenders = [], []
    for parts, name, pattern in url_patterns():
        if name.startswith("api:"):
            continue
        url = concrete_path(parts, values)
        # The filled-in URL must reach this very view, or the check would test another one.
        assert resolve(url).func == pattern.callback, (name, url)
        response = client.post(url, {"reason": "csrf probe", "text": "csrf probe"})
        checked.append(name)
        if response.status_code == 405:  # not a POST view at all (only possible when exempt)
            continue
        if response.status_code != 403 or response.get(CSRF_FAILED) != "1":
            offenders.append(f"{name} ({url}): {response.status_code}")
    return checked, offenders


def test_every_page_refuses_a_post_without_a_csrf_token(admin_user, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    checked, offenders = unprotected_posts(client, world)
    assert offenders == []
    # The walk reached the forms we know of (and so, presumably, the ones added later).
    for name in [
        "login",
        "logout",
        "code-rotate",
        "landing",
        "checklists:acknowledge",
        "checklists:upload",
        "supervision:issue-fix",
        "loop:start",
        "loop:inspection",
        "loop:evaluate",
        "loop:rectify",
        "loop:verify",
        "loop:escalate",
        "monitor:task-new",
        "monitor:task-cancel",
        "verify-document",
        "set_language",
        "sources:new",
        "sources:edit",
        "sources:key-issue",
        "sources:key-revoke",
        "password-change",
        "account-token-revoke",
        "account-sign-out-everywhere",
        "notifications:read",
        "notifications:read-all",
        "notifications:preferences",
        "admin:login",
        "admin:core_enterprise_change",
    ]:
        assert name in checked


def test_a_post_with_the_csrf_token_gets_through_the_check(admin_user, world):
    """Control: the 403s above are the CSRF check's, not the views' refusals."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    token = client.get(f"/c/{world['token']}").context["csrf_token"]
    response = client.post(f"/enterprises/{world['uscc']}/code/rotate", {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert (
        IdentityCode.objects.filter(status=IdentityCode.Status.ACTIVE).exclude(token=world["token"]).exists()
    )


def test_an_anonymous_post_without_a_token_is_refused_too(world):
    """The public report form on /c/<token>: a cross-site post in someone's name is refused."""
    response = Client(enforce_csrf_checks=True).post(f"/c/{world['token']}", {"text": "forged"})
    assert response.status_code == 403 and response[CSRF_FAILED] == "1"


# --- the check itself can fail --------------------------------------------------------------------


@csrf_exempt
def _exempt_post_view(request, uscc):
    return HttpResponse("done")


# The project's URLconf plus one planted view (test_the_check_catches_a_csrf_exempt_post_view).
urlpatterns = [
    path("planted/<str:uscc>/do", _exempt_post_view, name="planted"),
    path("", include("config.urls")),
]


def test_the_check_catches_a_csrf_exempt_post_view(settings, admin_user, world):
    settings.ROOT_URLCONF = __name__
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    _, offenders = unprotected_posts(client, world)
    assert offenders == [f"planted (/planted/{world['uscc']}/do): 200"]


# --- the API: django-ninja checks CSRF for session-authenticated calls -----------------------------


def api_mutations():
    """(method, path template, parameters, secured) of every API operation that changes something."""
    from config.api import api

    schema = api.get_openapi_schema()
    for path_template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch", "delete"}:
                yield method, path_template, operation.get("parameters", []), bool(operation.get("security"))


def api_url(path_template: str, parameters: list, values: dict) -> str:
    def value(match) -> str:
        name = match[1]
        if name in values:
            return str(values[name])
        kind = next((p["schema"].get("type") for p in parameters if p["name"] == name), "string")
        return "1" if kind == "integer" else "x"

    return re.sub(r"{(\w+)}", value, path_template)


# The exceptions to the CSRF check, each with its reason. The ingest operations of data sources
# (history.api) authenticate with the source's key in the Authorization header and nothing else:
# a session carries no authority there, and a cross-site form cannot set that header, so there is
# nothing to forge. They answer a session 401 source_key_required (checked, not skipped).
SOURCE_KEY_ONLY = {
    "POST /api/v1/sources/{source}/attributes",
    "POST /api/v1/sources/{source}/signals",
}


def test_every_api_write_with_a_session_and_no_csrf_token_is_refused(regulator_user, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(regulator_user)
    unsecured, key_only, offenders = [], [], []
    for method, template, parameters, secured in api_mutations():
        operation = f"{method.upper()} {template}"
        if not secured:
            unsecured.append(operation)
            continue
        url = api_url(template, parameters, world)
        response = getattr(client, method)(url, {}, content_type="application/json")
        if operation in SOURCE_KEY_ONLY:
            key_only.append(operation)
            if (response.status_code, response.json()["code"]) != (401, "source_key_required"):
                offenders.append(
                    f"{method.upper()} {url}: {response.status_code} (expected 401 source_key_required)"
                )
            continue
        if response.status_code != 403 or "CSRF" not in response.json()["message"]:
            offenders.append(f"{method.upper()} {url}: {response.status_code}")
    assert offenders == []
    # Callable without signing in, so without a session identity to abuse: exchanging a password for a token.
    assert unsecured == ["POST /api/v1/auth/token"]
    # Every exception still names an operation that exists (a stale one would hide nothing, but lie).
    assert sorted(key_only) == sorted(SOURCE_KEY_ONLY)


def test_an_api_post_by_session_without_the_csrf_token_is_refused(regulator_user, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(regulator_user)
    url = f"/api/v1/enterprises/{world['uscc']}/code/rotate"
    response = client.post(url, {"reason": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert IdentityCode.objects.get(token=world["token"]).status == IdentityCode.Status.ACTIVE
    # Control: the same call with the token goes through.
    client.get("/")  # sets the CSRF cookie
    response = client.post(
        url,
        {"reason": "x"},
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 200


def test_an_api_post_with_a_bearer_token_needs_no_csrf_token(regulator_user, world):
    """A bearer token is not sent by the browser on its own, so there is nothing to forge."""
    client = Client(enforce_csrf_checks=True)
    created = client.post(
        "/api/v1/auth/token",
        {"username": regulator_user.username, "password": PASSWORD, "device": "script"},
        content_type="application/json",
    )
    assert created.status_code == 201
    response = client.post(
        f"/api/v1/enterprises/{world['uscc']}/code/rotate",
        {"reason": "x"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {created.json()['token']}"},
    )
    assert response.status_code == 200
