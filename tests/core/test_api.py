import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.audit import verify_chain
from core.models import ApiToken, AuditEvent, District
from tests.factories import PASSWORD, EnterpriseFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # API messages follow Accept-Language; these tests read the English ones.
    from django.test import Client

    return Client(headers={"Accept-Language": "en"})


def test_messages_default_to_chinese():
    from django.test import Client

    response = Client().get("/api/v1/enterprises")
    assert response.json()["message"] == "请登录或提供有效的访问令牌。"


def get_token(client, username, device="tablet-1"):
    response = client.post(
        "/api/v1/auth/token",
        {"username": username, "password": PASSWORD, "device": device},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["token"]


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- tokens -------------------------------------------------------------------------------------


def test_a_token_is_returned_once_and_stored_only_as_a_hash(client, inspector_user):
    token = get_token(client, inspector_user.username)
    stored = ApiToken.objects.get(user=inspector_user)
    assert token.startswith("sp_") and len(token) > 40
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.key_hash, stored.prefix}
    assert AuditEvent.objects.filter(action="token.create", actor=inspector_user).exists()


def test_a_token_authenticates_api_calls(client, inspector_user, enterprise):
    token = get_token(client, inspector_user.username)
    response = client.get(f"/api/v1/enterprises/{enterprise.uscc}", **bearer(token))
    assert response.status_code == 200
    assert response.json()["uscc"] == enterprise.uscc
    assert ApiToken.objects.get().last_used_at is not None


def test_it_rejects_wrong_credentials_with_the_error_format(client, inspector_user):
    response = client.post(
        "/api/v1/auth/token",
        {"username": inspector_user.username, "password": "wrong", "device": "x"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Wrong username or password.",
        "details": None,
    }
    assert not ApiToken.objects.exists()


def test_it_rejects_a_token_request_without_a_device(client, inspector_user):
    response = client.post(
        "/api/v1/auth/token",
        {"username": inspector_user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input" and any("device" in str(err["loc"]) for err in body["details"])


def test_token_requests_are_rate_limited(client, inspector_user):
    payload = {"username": inspector_user.username, "password": "wrong", "device": "x"}
    statuses = [
        client.post("/api/v1/auth/token", payload, content_type="application/json").status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_an_owner_lists_and_revokes_their_tokens(client, inspector_user, enterprise):
    token = get_token(client, inspector_user.username, "tablet-1")
    get_token(client, inspector_user.username, "tablet-2")
    listed = client.get("/api/v1/auth/tokens", **bearer(token)).json()
    assert sorted(t["device"] for t in listed) == ["tablet-1", "tablet-2"]
    assert all("key_hash" not in t and "token" not in t for t in listed)
    revoke_id = next(t["id"] for t in listed if t["device"] == "tablet-1")
    assert client.delete(f"/api/v1/auth/tokens/{revoke_id}", **bearer(token)).status_code == 204
    # The revoked token no longer opens anything.
    response = client.get(f"/api/v1/enterprises/{enterprise.uscc}", **bearer(token))
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert verify_chain().ok


def test_nobody_revokes_or_lists_another_users_token(client, inspector_user, business_user):
    victim = get_token(client, inspector_user.username)
    attacker = get_token(client, business_user.username)
    victim_id = ApiToken.objects.get(user=inspector_user).pk
    assert client.delete(f"/api/v1/auth/tokens/{victim_id}", **bearer(attacker)).status_code == 404
    assert [t["device"] for t in client.get("/api/v1/auth/tokens", **bearer(attacker)).json()] == ["tablet-1"]
    assert ApiToken.objects.get(pk=victim_id).revoked_at is None
    assert client.get("/api/v1/auth/tokens", **bearer(victim)).status_code == 200


def test_revoking_twice_is_a_conflict(client, inspector_user):
    token = get_token(client, inspector_user.username)
    second = get_token(client, inspector_user.username, "phone")
    first_id = ApiToken.objects.get(device="tablet-1").pk
    assert client.delete(f"/api/v1/auth/tokens/{first_id}", **bearer(second)).status_code == 204
    response = client.delete(f"/api/v1/auth/tokens/{first_id}", **bearer(second))
    assert response.status_code == 409 and response.json()["code"] == "already_revoked"
    assert token


def test_an_expired_token_is_refused(client, inspector_user, enterprise, settings):
    token = get_token(client, inspector_user.username)
    with time_machine.travel(timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS, minutes=1)):
        response = client.get(f"/api/v1/enterprises/{enterprise.uscc}", **bearer(token))
    assert response.status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(client, inspector_user, enterprise):
    token = get_token(client, inspector_user.username)
    inspector_user.is_active = False
    inspector_user.save()
    assert client.get(f"/api/v1/enterprises/{enterprise.uscc}", **bearer(token)).status_code == 401


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer sp_" + "a" * 43, "Token abc", ""])
def test_garbage_credentials_get_401(client, enterprise, header):
    response = client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- enterprises: the permission table --------------------------------------------------------------

ROLES = ["anonymous", "outsider", "business", "other_business", "inspector", "regulator", "admin"]
# (role, which enterprise) -> expected status of GET /api/v1/enterprises/{uscc}
EXPECTED = {
    ("anonymous", "own"): 401,
    ("anonymous", "out_of_scope"): 401,
    ("outsider", "own"): 404,
    ("outsider", "out_of_scope"): 404,
    ("business", "own"): 200,
    ("business", "other"): 404,
    ("business", "out_of_scope"): 404,
    ("other_business", "own"): 404,
    ("inspector", "own"): 200,
    ("inspector", "other"): 200,
    ("inspector", "out_of_scope"): 404,
    ("regulator", "own"): 200,
    ("regulator", "other"): 200,
    ("regulator", "out_of_scope"): 404,
    ("admin", "own"): 200,
    ("admin", "out_of_scope"): 200,
}


@pytest.fixture
def people(business_user, inspector_user, regulator_user, admin_user, outsider, other_enterprise):
    return {
        "outsider": outsider,
        "business": business_user,
        "other_business": MembershipFactory(enterprise=other_enterprise).user,
        "inspector": inspector_user,
        "regulator": regulator_user,
        "admin": admin_user,
    }


@pytest.mark.parametrize(("role", "which"), sorted(EXPECTED))
def test_permission_table_for_one_enterprise(
    client, people, enterprise, other_enterprise, far_enterprise, role, which
):
    target = {"own": enterprise, "other": other_enterprise, "out_of_scope": far_enterprise}[which]
    if role != "anonymous":
        client.force_login(people[role])
    response = client.get(f"/api/v1/enterprises/{target.uscc}")
    assert response.status_code == EXPECTED[(role, which)]
    if response.status_code == 404:
        # Not found and not allowed must be indistinguishable.
        assert response.json() == {"code": "not_found", "message": "No such enterprise.", "details": None}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("outsider", set()),
        ("business", {"own"}),
        ("inspector", {"own", "other"}),
        ("regulator", {"own", "other"}),
        ("admin", {"own", "other", "out_of_scope"}),
    ],
)
def test_the_list_holds_exactly_what_the_role_may_see(
    client, people, enterprise, other_enterprise, far_enterprise, role, expected
):
    names = {enterprise.uscc: "own", other_enterprise.uscc: "other", far_enterprise.uscc: "out_of_scope"}
    client.force_login(people[role])
    response = client.get("/api/v1/enterprises")
    assert response.status_code == 200
    assert {names[item["uscc"]] for item in response.json()["items"]} == expected


def test_anonymous_gets_401_for_the_list(client, enterprise):
    assert client.get("/api/v1/enterprises").status_code == 401


# --- enterprises: filters, pages, bad input ------------------------------------------------------------


def test_filters_by_district_subtree_scene_and_query(client, admin_user, enterprise, far_enterprise):
    in_street = EnterpriseFactory(district=District.objects.get(code="110105003"), name="三里屯烤鸭店")
    client.force_login(admin_user)

    def usccs(**params):
        return {item["uscc"] for item in client.get("/api/v1/enterprises", params).json()["items"]}

    assert usccs(district="110105") == {enterprise.uscc, in_street.uscc}
    assert usccs(district="110105003") == {in_street.uscc}
    assert usccs(scene="medical") == {far_enterprise.uscc}
    assert usccs(q="烤鸭") == {in_street.uscc}
    assert usccs(q=far_enterprise.uscc[:17].lower()) == {far_enterprise.uscc}


def test_pages_do_not_count_but_say_whether_there_is_more(client, admin_user):
    EnterpriseFactory.create_batch(5)
    client.force_login(admin_user)
    first = client.get("/api/v1/enterprises", {"page_size": 2}).json()
    last = client.get("/api/v1/enterprises", {"page_size": 2, "page": 3}).json()
    assert len(first["items"]) == 2 and first["has_next"] is True and first["page"] == 1
    assert len(last["items"]) == 1 and last["has_next"] is False
    everything = [
        item["uscc"]
        for p in (1, 2, 3)
        for item in client.get("/api/v1/enterprises", {"page_size": 2, "page": p}).json()["items"]
    ]
    assert everything == sorted(everything) and len(set(everything)) == 5


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"district": "999999"}, 400, "unknown_district"),
        ({"scene": "casino"}, 400, "unknown_scene"),
        ({"licence_status": "sleeping"}, 400, "unknown_licence_status"),
        ({"page": 0}, 422, "invalid_input"),
        ({"page_size": 1000}, 422, "invalid_input"),
        ({"page": "two"}, 422, "invalid_input"),
    ],
)
def test_bad_filters_are_named_not_silently_empty(client, admin_user, params, status, code):
    client.force_login(admin_user)
    response = client.get("/api/v1/enterprises", params)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_a_malformed_code_says_which_rule_failed(client, admin_user, enterprise):
    client.force_login(admin_user)
    broken = enterprise.uscc[:17] + ("0" if enterprise.uscc[17] != "0" else "1")
    response = client.get(f"/api/v1/enterprises/{broken}")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_uscc" and body["details"] == {"rule": "check_character"}
    assert "check character" in body["message"]


def test_the_code_lookup_accepts_lower_case(client, admin_user, enterprise):
    client.force_login(admin_user)
    assert client.get(f"/api/v1/enterprises/{enterprise.uscc.lower()}").status_code == 200


def test_session_writes_need_csrf(inspector_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(inspector_user)
    token = ApiToken.objects.create(
        user=inspector_user,
        device="d",
        key_hash="0" * 64,
        prefix="x",
        expires_at=timezone.now() + timedelta(days=1),
    )
    response = csrf_client.delete(f"/api/v1/auth/tokens/{token.pk}")
    assert response.status_code in {401, 403}
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_openapi_schema_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/auth/token", "/api/v1/enterprises", "/api/v1/enterprises/{uscc}"} <= set(paths)


def test_other_users_are_not_created_by_the_api(client):
    UserFactory(username="u1")
    assert client.get("/api/v1/auth/tokens").status_code == 401


@pytest.mark.parametrize("error", ["OperationalError", "InterfaceError"])
def test_a_lost_database_connection_answers_503_to_retry(client, regulator_user, monkeypatch, error):
    import django.db

    from core import selectors

    def broken(*args, **kwargs):
        raise getattr(django.db, error)("server closed the connection unexpectedly")

    client.force_login(regulator_user)
    monkeypatch.setattr(selectors, "enterprise_list", broken)
    response = client.get("/api/v1/enterprises")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert response["Retry-After"] == "2"


def test_other_database_errors_stay_500(rf):
    from django.db import IntegrityError

    from core.api_root import on_database_error

    response = on_database_error(rf.get("/api/v1/enterprises"), IntegrityError("duplicate key"))
    assert response.status_code == 500
