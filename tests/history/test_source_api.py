"""The management API of data sources: who reaches it (a table: every operation x every role, with
bearer tokens as scripts use it) and what it does: create, edit (schemas validated, code fixed),
keys (the key returned once, the others revoked), batches."""

import pytest
from django.test import Client

from core.models import AuditEvent
from core.tokens import _token_issue
from history.models import DataSource, SourceCredential
from tests.factories import make_uscc
from tests.history.helpers import issue_key, make_source, post_batch, written

pytestmark = pytest.mark.django_db

MANAGERS = {"regulator", "health_regulator", "admin"}
ROLES = [
    "anonymous",
    "outsider",
    "business",
    "inspector",
    "chaoyang_regulator",
    "regulator",
    "health_regulator",
    "admin",
]
NEW = {"code": "cold_chain", "name": "冷链传感器", "kind": "sensor"}

# (method, path, body, status for a manager); {code} and {credential} are filled in.
OPERATIONS = [
    ("get", "/api/v1/sources", None, 200),
    ("post", "/api/v1/sources", NEW, 201),
    ("get", "/api/v1/sources/{code}", None, 200),
    ("patch", "/api/v1/sources/{code}", {"rate_limit_per_minute": 10}, 200),
    ("post", "/api/v1/sources/{code}/credentials", None, 201),
    ("post", "/api/v1/sources/{code}/credentials/{credential}/revoke", None, 200),
    ("get", "/api/v1/sources/{code}/batches", None, 200),
]


def api_client(user) -> Client:
    headers = {"Accept-Language": "en"}
    if user is not None:
        headers["Authorization"] = f"Bearer {_token_issue(user=user, device='script')[1]}"
    return Client(headers=headers)


def send(client: Client, method: str, path: str, body=None):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, content_type="application/json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "status"), OPERATIONS, ids=[f"{m} {p}" for m, p, *_ in OPERATIONS]
)
def test_who_reaches_the_api(people, role, method, path, body, status):
    source = make_source()
    issue_key(source)
    credential = SourceCredential.objects.get(source=source)
    url = path.format(code=source.code, credential=credential.pk)

    response = send(api_client(people[role]), method, url, body)

    if role == "anonymous":
        assert response.status_code == 401
    elif role in MANAGERS:
        assert response.status_code == status, response.content
    else:
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_manager_creates_and_reads_a_source(people):
    client = api_client(people["regulator"])
    body = {
        **NEW,
        "department": "market_regulation",
        "owner": people["regulator"].username,
        "business_key": "lives",
        "signal_schema": {
            "temperature_excursion": {"value": "number", "unit": "°C", "keyed": True, "located": False}
        },
    }

    created = send(client, "post", "/api/v1/sources", body)

    assert created.status_code == 201, created.content
    assert created.json()["department"] == "market_regulation"
    assert created.json()["owner"] == people["regulator"].username
    assert created.json()["credentials"] == []
    assert created.json()["counts"] == {"attributes": 0, "signals": 0, "unmatched_signals": 0, "batches": 0}
    listed = client.get("/api/v1/sources").json()
    assert [item["code"] for item in listed["items"]] == ["cold_chain"]
    assert AuditEvent.objects.filter(action="source.create").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "attribute_schema": {"x": {"type": "choice"}}}, "attribute_schema"),
        ({**NEW, "signal_schema": {"k": {"value": "none"}}}, "signal_schema"),
        ({**NEW, "department": "nope"}, "department"),
        ({**NEW, "owner": "nobody"}, "owner"),
        ({**NEW, "code": "Bad Code"}, "code"),
    ],
)
def test_a_bad_source_is_refused_naming_the_field_and_nothing_is_written(people, body, field):
    client = api_client(people["admin"])
    before = written()

    response = send(client, "post", "/api/v1/sources", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["details"]
    assert written() == before


def test_an_owner_must_be_a_regulator_or_an_admin(people):
    body = {**NEW, "owner": people["inspector"].username}
    response = send(api_client(people["admin"]), "post", "/api/v1/sources", body)
    assert response.status_code == 422
    assert "owner" in response.json()["details"]


def test_a_taken_code_is_a_conflict(people):
    make_source("cold_chain")
    response = send(api_client(people["admin"]), "post", "/api/v1/sources", NEW)
    assert (response.status_code, response.json()["code"]) == (409, "code_taken")


def test_editing_changes_only_what_is_sent_and_never_the_code(people):
    source = make_source()
    client = api_client(people["admin"])

    response = send(client, "patch", f"/api/v1/sources/{source.code}", {"active": False, "department": None})
    assert response.status_code == 200
    source.refresh_from_db()
    assert source.active is False and source.name == "许可登记"

    refused = send(client, "patch", f"/api/v1/sources/{source.code}", {"code": "renamed"})
    assert refused.status_code == 200  # an unknown field is ignored by the schema: nothing changes
    assert DataSource.objects.filter(code=source.code).exists()
    nulls = send(client, "patch", f"/api/v1/sources/{source.code}", {"kind": None, "signal_schema": None})
    assert nulls.status_code == 422 and set(nulls.json()["details"]) == {"kind", "signal_schema"}
    bad = send(
        client, "patch", f"/api/v1/sources/{source.code}", {"attribute_schema": {"tobacco": {"type": "bool"}}}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_schema"


def test_rotating_returns_the_key_once_and_revokes_the_others(people):
    source = make_source()
    old = issue_key(source)
    client = api_client(people["health_regulator"])

    response = client.post(f"/api/v1/sources/{source.code}/credentials")

    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("dsk_") and body["prefix"] == body["key"][:12]
    assert body["revoked"] == [old[:12]]
    detail = client.get(f"/api/v1/sources/{source.code}").json()
    assert [(c["prefix"], c["revoked_at"] is None) for c in detail["credentials"]] == [
        (body["key"][:12], True),
        (old[:12], False),
    ]
    assert body["key"] not in str(detail)
    assert post_batch(source.code, "signals", [], key=body["key"]).status_code == 200
    assert post_batch(source.code, "signals", [], key=old).status_code == 401


def test_revoking_twice_is_a_conflict_and_another_sources_key_is_not_found(people):
    source, other = make_source(), make_source("other_register")
    issue_key(source)
    issue_key(other)
    mine = SourceCredential.objects.get(source=source)
    theirs = SourceCredential.objects.get(source=other)
    client = api_client(people["admin"])

    assert client.post(f"/api/v1/sources/{source.code}/credentials/{mine.pk}/revoke").status_code == 200
    again = client.post(f"/api/v1/sources/{source.code}/credentials/{mine.pk}/revoke")
    assert (again.status_code, again.json()["code"]) == (409, "already_revoked")
    assert client.post(f"/api/v1/sources/{source.code}/credentials/{theirs.pk}/revoke").status_code == 404


def test_the_batches_list_what_arrived_with_unmatched_keys(people, shop):
    source = make_source()
    key = issue_key(source)
    rows = [
        {
            "signal_id": "1",
            "kind": "garbage_complaint",
            "occurred_at": "2024-01-01",
            "business_key": make_uscc(5555),
        }
    ]
    post_batch(source.code, "signals", rows, key=key)

    response = api_client(people["regulator"]).get(f"/api/v1/sources/{source.code}/batches")

    assert response.status_code == 200, response.content
    [batch] = response.json()["items"]
    assert batch["content"] == "signals" and batch["channel"] == "api"
    assert batch["credential"] == key[:12]
    assert batch["unmatched_count"] == 1
