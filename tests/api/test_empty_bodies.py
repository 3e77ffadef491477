"""An action with nothing to say needs no body: every write whose JSON body has no required field
answers an empty request (no body, an empty form, "{}") as it answers "{}", for every role, and a
missing body is never read as bad input. Operations that do require fields say which, as 422."""

import re

import pytest
from django.test import Client

from config.api import api
from tests.api.world import build_world

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch", "delete"}
ROLES = ["anonymous", "business", "inspector", "regulator", "admin"]


def _schema(document, node):
    ref = node.get("$ref")
    return _schema(document, document["components"]["schemas"][ref.rsplit("/", 1)[1]]) if ref else node


def _json_body(document, operation):
    content = operation.get("requestBody", {}).get("content", {})
    return _schema(document, content["application/json"]["schema"]) if "application/json" in content else None


def _writes(*, required: bool):
    """(method, path) of every write whose JSON body has required fields (or none)."""
    document = api.get_openapi_schema()
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = _json_body(document, operation) if method in WRITES else None
            if body is not None and bool(body.get("required")) == required:
                found.append((method, path.removeprefix("/api/v1")))
    return found


OPTIONAL = _writes(required=False)
REQUIRED = _writes(required=True)


@pytest.fixture(scope="module")
def world(django_db_blocker, django_db_setup):
    # One world for the module, rolled back at its end: each operation below is a write, but the
    # answers compared are those of one role's three empty forms in a row (see _send).
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)


def _url(world, path: str) -> str:
    """A real row's id where the world has one; else 1 (the body is read before the row is looked up)."""
    return "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world.values.get(m.group(1), [1])[0]), path)


def _client(world, role) -> Client:
    headers = {"Accept-Language": "en", **world.headers(role)}
    return Client(headers=headers)


def test_there_are_actions_without_required_fields_and_the_rotation_is_one():
    assert ("post", "/enterprises/{uscc}/code/rotate") in OPTIONAL
    assert len(OPTIONAL) >= 5


@pytest.mark.parametrize(("method", "path"), OPTIONAL, ids=[f"{m.upper()} {p}" for m, p in OPTIONAL])
@pytest.mark.parametrize("role", ROLES)
def test_an_empty_request_is_no_bad_input(world, method, path, role):
    url = _url(world, path)
    client = _client(world, role)
    send = getattr(client, method)
    answers = [
        send(url),  # what a test client or a browser's empty form sends (multipart, no fields)
        client.generic(method.upper(), url, b""),  # no body at all, no content type
        client.generic(method.upper(), url, b"", content_type="application/x-www-form-urlencoded"),
    ]
    for response in answers:
        assert response.status_code != 400, (url, response.content)
        if response.status_code >= 400:
            assert response.json()["code"] != "http_400"


def test_the_rotation_without_a_body_rotates_for_the_regulator_and_is_refused_to_others(world):
    uscc = world.values["uscc"][0]
    url = f"/api/v1/enterprises/{uscc}/code/rotate"
    before = _client(world, "regulator").get(f"/api/v1/enterprises/{uscc}/code").json()["token"]
    response = _client(world, "regulator").post(url)
    assert response.status_code == 200
    assert response.json()["token"] != before
    assert _client(world, "inspector").post(url).status_code == 403
    assert _client(world, "business").post(url).status_code in {403, 404}
    assert _client(world, "anonymous").post(url).status_code == 401


@pytest.mark.parametrize(("method", "path"), REQUIRED[:8], ids=[f"{m.upper()} {p}" for m, p in REQUIRED[:8]])
def test_a_missing_body_of_an_action_that_needs_fields_names_them(world, method, path):
    response = getattr(_client(world, "admin"), method)(_url(world, path))
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_input"
