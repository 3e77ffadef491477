import pytest
from django.test import Client

from core import codes
from core.audit import verify_chain
from core.models import AuditEvent, IdentityCode, ScanEvent

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "business", "inspector", "regulator", "admin"]
WHICH = ["own", "other", "far"]

# Reading a code (png / svg / json): whoever may see the enterprise.
READ = {
    "anonymous": {"own": 401, "other": 401, "far": 401},
    "outsider": {"own": 404, "other": 404, "far": 404},
    "business": {"own": 200, "other": 404, "far": 404},
    "inspector": {"own": 200, "other": 200, "far": 404},
    "regulator": {"own": 200, "other": 200, "far": 404},
    "admin": {"own": 200, "other": 200, "far": 200},
}
# Rotating or revoking: a regulator in scope or an admin; those who can see but not manage get 403.
MANAGE = {
    "anonymous": {"own": 401, "other": 401, "far": 401},
    "outsider": {"own": 404, "other": 404, "far": 404},
    "business": {"own": 403, "other": 404, "far": 404},
    "inspector": {"own": 403, "other": 403, "far": 404},
    "regulator": {"own": 200, "other": 200, "far": 404},
    "admin": {"own": 200, "other": 200, "far": 200},
}


@pytest.fixture
def people(business_user, inspector_user, regulator_user, admin_user, outsider):
    return {
        "outsider": outsider,
        "business": business_user,
        "inspector": inspector_user,
        "regulator": regulator_user,
        "admin": admin_user,
    }


@pytest.fixture
def targets(enterprise, other_enterprise, far_enterprise):
    return {"own": enterprise, "other": other_enterprise, "far": far_enterprise}


def client_for(people, role):
    client = Client(headers={"Accept-Language": "en"})
    if role != "anonymous":
        client.force_login(people[role])
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("suffix", ["code", "code.png", "code.svg"])
def test_reading_a_code_permission_table(people, targets, role, which, suffix):
    response = client_for(people, role).get(f"/api/v1/enterprises/{targets[which].uscc}/{suffix}")
    assert response.status_code == READ[role][which]
    if response.status_code == 200 and suffix == "code.png":
        assert response["Content-Type"] == "image/png" and response.content.startswith(b"\x89PNG")
        assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_managing_a_code_permission_table(people, targets, role, which, action):
    before = codes.code_issue(enterprise=targets[which])
    response = client_for(people, role).post(
        f"/api/v1/enterprises/{targets[which].uscc}/code/{action}",
        {"reason": "sticker lost"},
        content_type="application/json",
    )
    assert response.status_code == MANAGE[role][which]
    before.refresh_from_db()
    if response.status_code == 200:
        assert before.status == ("replaced" if action == "rotate" else "revoked")
        assert AuditEvent.objects.filter(action=f"code.{action}", actor=people[role]).exists()
    else:
        assert before.status == "active"
        assert not AuditEvent.objects.filter(action=f"code.{action}").exists()


def test_rotation_through_the_api_returns_the_new_code_and_url(people, targets, settings):
    settings.PUBLIC_BASE_URL = "https://jianguan.example.gov.cn"
    old = codes.code_issue(enterprise=targets["own"])
    body = (
        client_for(people, "regulator")
        .post(f"/api/v1/enterprises/{targets['own'].uscc}/code/rotate", {}, content_type="application/json")
        .json()
    )
    assert body["status"] == "active" and body["token"] != old.token
    assert body["url"] == f"https://jianguan.example.gov.cn/c/{body['token']}"
    assert (
        IdentityCode.objects.filter(enterprise=targets["own"], status="active").get().token == body["token"]
    )
    assert verify_chain().ok


def test_session_writes_need_csrf(people, targets):
    codes.code_issue(enterprise=targets["own"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["regulator"])
    response = client.post(
        f"/api/v1/enterprises/{targets['own'].uscc}/code/rotate", {}, content_type="application/json"
    )
    assert response.status_code in {401, 403}
    assert IdentityCode.objects.get(enterprise=targets["own"]).status == "active"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("outsider", 403),
        ("business", 403),
        ("inspector", 403),
        ("regulator", 200),
        ("admin", 200),
    ],
)
def test_scan_events_are_for_regulators(people, role, status):
    assert client_for(people, role).get("/api/v1/scans").status_code == status


def test_a_regulator_sees_scans_of_their_enterprises_and_probes_but_not_others(people, targets):
    own, far = codes.code_issue(enterprise=targets["own"]), codes.code_issue(enterprise=targets["far"])
    prober = Client(REMOTE_ADDR="10.6.6.6")
    for token in (own.token, far.token, "Z" * codes.TOKEN_LENGTH, "junk"):
        prober.get(f"/c/{token}")
    items = client_for(people, "regulator").get("/api/v1/scans").json()["items"]
    assert sorted((item["outcome"], item["enterprise"] or "") for item in items) == [
        ("malformed", ""),
        ("ok", targets["own"].uscc),
        ("unknown", ""),
    ]
    client_handle = items[0]["client"]
    followed = client_for(people, "admin").get("/api/v1/scans", {"client": client_handle}).json()["items"]
    assert len(followed) == 4
    assert ScanEvent.objects.count() == 4


def test_filtering_scans_by_an_enterprise_out_of_scope_is_404(people, targets):
    response = client_for(people, "regulator").get("/api/v1/scans", {"enterprise": targets["far"].uscc})
    assert response.status_code == 404
