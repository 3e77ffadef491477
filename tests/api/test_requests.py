"""What the API layer (core.api_root, core.api_auth, core.api_schemas) answers to requests it
refuses before a handler runs, found by the fuzz test."""

import pytest
from django.test import Client

from tests.api.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _as(world, role) -> Client:
    return Client(headers={"Authorization": f"Bearer {world.tokens[role]}", "Accept-Language": "en"})


def test_a_write_without_credentials_is_unauthenticated_not_forged():
    """No token, no session cookie: 401, not the CSRF refusal meant for a browser session."""
    response = Client(enforce_csrf_checks=True).post("/api/v1/tasks", {}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("body", ["0", "[]", '"reason"', "null"])
def test_a_json_body_must_be_an_object(world, body):
    """Ninja read these as an object with every field left to its default: the code was rotated."""
    uscc = world.values["uscc"][0]
    url = f"/api/v1/enterprises/{uscc}/code/rotate"
    response = _as(world, "regulator").post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "http_400"
    assert _as(world, "regulator").post(url, "{}", content_type="application/json").status_code == 200


@pytest.mark.parametrize("on", ["0", "20250301", "1700000000"])
def test_a_date_is_iso_text_not_a_timestamp(world, on):
    """?on=0 was read as a Unix timestamp: the tasks due on 1 January 1970."""
    response = _as(world, "inspector").get("/api/v1/tasks", {"on": on})
    assert response.status_code == 422
    assert response.json()["details"][0]["loc"] == ["query", "on"]
    assert _as(world, "inspector").get("/api/v1/tasks", {"on": "2025-03-01"}).status_code == 200
