"""Personal data: an enterprise's legal representative and a complainant's contact.

One table over every page and API response that shows them, for each kind of viewer. The legal
representative is for the enterprise's members and the officials with it in scope
(core.permissions.may_see_personal_data); a complainant's contact for the regulator in charge only.
Everyone else sees neither, not even the masked form of the contact. Regulators' exports are
data leaving the system: each one is in the audit chain.
"""

import json

import pytest
from django.test import Client

from core import codes
from core.models import AuditEvent, Complaint, District
from tests.factories import EnterpriseFactory, InspectorFactory, MembershipFactory, RegulatorFactory

pytestmark = pytest.mark.django_db

REPRESENTATIVE = "欧阳娜娜"
CONTACT = "laowang-7731@example.cn"
COMPLAINT = "后厨老鼠乱窜"

ROLES = [
    "anonymous",
    "member_of_another_enterprise",
    "inspector_out_of_scope",
    "regulator_out_of_scope",
    "member",
    "inspector_in_scope",
    "regulator_in_scope",
]


@pytest.fixture
def target(db):
    """A Chaoyang restaurant with a code and one report from the public, contact left."""
    enterprise = EnterpriseFactory(legal_representative=REPRESENTATIVE)
    code = codes.code_issue(enterprise=enterprise)
    response = Client(REMOTE_ADDR="203.0.113.9").post(
        f"/c/{code.token}", {"text": COMPLAINT, "contact": CONTACT}
    )
    assert response.status_code == 302
    assert Complaint.objects.get().contact == CONTACT
    return enterprise, code


@pytest.fixture
def viewers(target):
    enterprise, _ = target
    haidian = District.objects.get(code="110108")
    return {
        "anonymous": None,
        "member_of_another_enterprise": MembershipFactory(enterprise=EnterpriseFactory()).user,
        "inspector_out_of_scope": InspectorFactory(districts=["110108"]).user,
        "regulator_out_of_scope": RegulatorFactory(district=haidian).user,
        "member": MembershipFactory(enterprise=enterprise).user,
        "inspector_in_scope": InspectorFactory(districts=["110105"]).user,
        "regulator_in_scope": RegulatorFactory().user,
    }


def client_as(viewers, role) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if viewers[role] is not None:
        client.force_login(viewers[role])
    return client


def body(response) -> str:
    """The response as text, JSON with its unicode escapes undone."""
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


# What each surface shows; (surface) -> (roles that see the representative, roles that see the contact).
SEES = {
    "public card /c/<token>": ({"inspector_in_scope", "regulator_in_scope"}, {"regulator_in_scope"}),
    "GET /api/v1/scan/<token>": ({"member", "inspector_in_scope", "regulator_in_scope"}, set()),
    "enterprise page": ({"member", "inspector_in_scope", "regulator_in_scope"}, set()),
    "GET /api/v1/enterprises/<uscc>": ({"member", "inspector_in_scope", "regulator_in_scope"}, set()),
    "GET /api/v1/enterprises": ({"member", "inspector_in_scope", "regulator_in_scope"}, set()),
}


def fetch(surface: str, client: Client, enterprise, code):
    return {
        "public card /c/<token>": lambda: client.get(f"/c/{code.token}"),
        "GET /api/v1/scan/<token>": lambda: client.get(f"/api/v1/scan/{code.token}"),
        "enterprise page": lambda: client.get(f"/enterprises/{enterprise.uscc}/"),
        "GET /api/v1/enterprises/<uscc>": lambda: client.get(f"/api/v1/enterprises/{enterprise.uscc}"),
        "GET /api/v1/enterprises": lambda: client.get("/api/v1/enterprises"),
    }[surface]()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("surface", SEES)
def test_who_sees_the_legal_representative_and_the_complainants_contact(target, viewers, surface, role):
    enterprise, code = target
    response = fetch(surface, client_as(viewers, role), enterprise, code)
    assert response.status_code in {200, 302, 401, 404}
    sees_representative, sees_contact = SEES[surface]
    text = body(response)
    assert (REPRESENTATIVE in text) is (role in sees_representative)
    assert (CONTACT in text) is (role in sees_contact)
    # Not even in part (a masked "l*****@example.cn" would still say who to look for).
    if role not in sees_contact:
        assert "@example.cn" not in text


def test_the_regulator_in_charge_reads_the_complaint_with_its_contact(target, viewers):
    _, code = target
    html = body(client_as(viewers, "regulator_in_scope").get(f"/c/{code.token}"))
    assert COMPLAINT in html and CONTACT in html


@pytest.mark.parametrize("role", [r for r in ROLES if r != "regulator_in_scope"])
def test_nobody_else_reads_the_complaint_on_the_card(target, viewers, role):
    _, code = target
    assert COMPLAINT not in body(client_as(viewers, role).get(f"/c/{code.token}"))


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("member_of_another_enterprise", 404),
        ("inspector_out_of_scope", 404),
        ("regulator_out_of_scope", 404),
        ("regulator_in_scope", 200),
    ],
)
def test_the_enterprise_api_answers_outsiders_as_if_it_did_not_exist(target, viewers, role, status):
    enterprise, _ = target
    response = client_as(viewers, role).get(f"/api/v1/enterprises/{enterprise.uscc}")
    assert response.status_code == status
    if status == 200:
        assert response.json()["legal_representative"] == REPRESENTATIVE


@pytest.mark.parametrize("role", ["member_of_another_enterprise", "inspector_out_of_scope"])
def test_searching_by_the_representatives_name_finds_nothing_out_of_scope(target, viewers, role):
    response = client_as(viewers, role).get("/api/v1/enterprises", {"q": REPRESENTATIVE})
    assert REPRESENTATIVE not in body(response)


def test_the_contact_stays_out_of_the_audit_chain(target):
    """The chain is read more widely than complaints (every regulator, the verify page's checks)."""
    events = AuditEvent.objects.filter(action__startswith="complaint")
    assert events.exists()
    for event in AuditEvent.objects.all():
        assert CONTACT not in json.dumps(event.data, ensure_ascii=False)


# --- regulators' exports are audited ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "action"),
    [
        ("/monitor/loop/?format=csv", "export.loop_monitor"),
        ("/monitor/loop/?format=csv&by=scene&from=2024-01-01&to=2024-12-31", "export.loop_monitor"),
        ("/monitor/ratings/?format=csv", "export.ratings"),
        ("/monitor/ratings/?format=csv&table=department", "export.ratings"),
    ],
)
def test_every_monitor_export_writes_an_audit_event_naming_the_regulator(target, viewers, url, action):
    regulator = viewers["regulator_in_scope"]
    response = client_as(viewers, "regulator_in_scope").get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    event = AuditEvent.objects.get(action=action)
    assert event.actor == regulator
    assert "rows" in event.data


@pytest.mark.parametrize("role", ["anonymous", "member", "inspector_in_scope"])
def test_only_regulators_export_and_a_refused_export_leaves_no_event(target, viewers, role):
    response = client_as(viewers, role).get("/monitor/loop/?format=csv")
    assert response.status_code in {302, 404}
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()
