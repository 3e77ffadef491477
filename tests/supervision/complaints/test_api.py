"""Complaint triage through /api/v1/complaints: who lists and reads which complaints, whose contact
is shown in full, the three triage moves, and refusals in the project's error format."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent, Complaint, District
from supervision.complaints import services as triage
from supervision.models import InspectionTask
from tests.factories import EnterpriseFactory, MembershipFactory, RegulatorFactory, make_team

pytestmark = pytest.mark.django_db

JSON = "application/json"
CONTACT = "laowang@example.cn"
MASKED = "l***@example.cn"


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, url: str, body: dict):
    return client.post(url, body, content_type=JSON)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code
    return body


def window() -> dict:
    today = timezone.localdate()
    return {"due_from": today.isoformat(), "due_to": (today + timedelta(days=3)).isoformat()}


@pytest.fixture
def complaint(enterprise):
    return Complaint.objects.create(enterprise=enterprise, text="后厨有老鼠", contact=CONTACT, client="t")


@pytest.fixture
def earlier(enterprise):
    return Complaint.objects.create(enterprise=enterprise, text="厨房很脏", client="t")


def test_a_regulator_lists_the_complaints_in_scope_with_the_contact(
    complaint, regulator_user, far_enterprise
):
    Complaint.objects.create(enterprise=far_enterprise, text="海淀的投诉", client="t")
    body = client_for(regulator_user).get("/api/v1/complaints").json()
    assert body["page"] == 1 and body["has_next"] is False
    (item,) = body["items"]
    assert item["id"] == complaint.pk and item["contact"] == CONTACT
    assert item["enterprise"] == complaint.enterprise.uscc and item["district"] == "110105"
    assert item["status"] == "new" and item["tasks"] == [] and item["has_photo"] is False
    assert "client" not in item and "reporter" not in item


def test_an_inspector_on_its_task_reads_the_complaint_with_the_contact_masked(
    complaint, regulator_user, team
):
    today = timezone.localdate()
    task = triage.complaint_to_task(
        complaint=complaint, actor=regulator_user, inspectors=team, due_from=today, due_to=today
    )
    client = client_for(team[0].user)
    (item,) = client.get("/api/v1/complaints").json()["items"]
    assert item["contact"] == MASKED and item["tasks"] == [task.pk]
    assert client.get(f"/api/v1/complaints/{complaint.pk}").json()["contact"] == MASKED
    assert CONTACT not in client.get(f"/api/v1/complaints/{complaint.pk}").content.decode()
    assert_error(
        post(client, f"/api/v1/complaints/{complaint.pk}/dismiss", {"reason": "x"}), 403, "forbidden"
    )


@pytest.mark.parametrize("who", ["outsider", "member", "haidian_regulator", "unassigned_inspector"])
def test_everyone_else_finds_no_complaint(complaint, outsider, who):
    user = {
        "outsider": lambda: outsider,
        "member": lambda: MembershipFactory(enterprise=complaint.enterprise).user,
        "haidian_regulator": lambda: RegulatorFactory(district=District.objects.get(code="110108")).user,
        "unassigned_inspector": lambda: make_team(1)[0].user,
    }[who]()
    client = client_for(user)
    assert client.get("/api/v1/complaints").json()["items"] == []
    assert_error(client.get(f"/api/v1/complaints/{complaint.pk}"), 404, "not_found")
    for move, body in (("dismiss", {"reason": "x"}), ("merge", {"into": complaint.pk}), ("task", window())):
        payload = {**body, "inspectors": []} if move == "task" else body
        assert_error(post(client, f"/api/v1/complaints/{complaint.pk}/{move}", payload), 404, "not_found")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.NEW


def test_anonymous_callers_are_not_authenticated(complaint):
    assert_error(Client().get("/api/v1/complaints"), 401, "not_authenticated")


def test_the_list_filters_and_refuses_unknown_values(complaint, regulator_user):
    other = Complaint.objects.create(enterprise=EnterpriseFactory(), text="噪音", client="t")
    client = client_for(regulator_user)
    ids = [
        i["id"]
        for i in client.get("/api/v1/complaints", {"enterprise": other.enterprise.uscc}).json()["items"]
    ]
    assert ids == [other.pk]
    assert client.get("/api/v1/complaints", {"status": "dismissed"}).json()["items"] == []
    assert len(client.get("/api/v1/complaints", {"district": "110105"}).json()["items"]) == 2
    assert_error(client.get("/api/v1/complaints", {"district": "999999"}), 400, "unknown_district")
    assert_error(client.get("/api/v1/complaints", {"status": "nonsense"}), 422, "invalid_input")


def test_the_list_pages_without_counting(enterprise, regulator_user):
    for n in range(3):
        Complaint.objects.create(enterprise=enterprise, text=f"投诉{n}", client="t")
    client = client_for(regulator_user)
    first = client.get("/api/v1/complaints", {"page_size": 2}).json()
    assert [i["text"] for i in first["items"]] == ["投诉2", "投诉1"] and first["has_next"] is True
    second = client.get("/api/v1/complaints", {"page_size": 2, "page": 2}).json()
    assert [i["text"] for i in second["items"]] == ["投诉0"] and second["has_next"] is False


def test_a_regulator_dismisses_through_the_api(complaint, regulator_user):
    client = client_for(regulator_user)
    assert_error(post(client, f"/api/v1/complaints/{complaint.pk}/dismiss", {}), 422, "reason_required")
    assert not AuditEvent.objects.exists()
    response = post(client, f"/api/v1/complaints/{complaint.pk}/dismiss", {"reason": "不属实"})
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed" and response.json()["triage_note"] == "不属实"
    assert_error(
        post(client, f"/api/v1/complaints/{complaint.pk}/dismiss", {"reason": "再次"}), 409, "not_new"
    )


def test_a_regulator_merges_through_the_api(complaint, earlier, regulator_user, far_enterprise):
    client = client_for(regulator_user)
    url = f"/api/v1/complaints/{complaint.pk}/merge"
    assert_error(post(client, url, {"into": complaint.pk}), 422, "merge_into_self")
    far = Complaint.objects.create(enterprise=far_enterprise, text="远处", client="t")
    assert_error(post(client, url, {"into": far.pk}), 422, "merge_target_unknown")
    elsewhere = Complaint.objects.create(enterprise=EnterpriseFactory(), text="隔壁", client="t")
    assert_error(post(client, url, {"into": elsewhere.pk}), 422, "merge_other_enterprise")
    response = post(client, url, {"into": earlier.pk})
    assert response.status_code == 200 and response.json()["duplicate_of"] == earlier.pk


def test_a_regulator_plans_a_complaint_task_through_the_api(complaint, regulator_user, team):
    client = client_for(regulator_user)
    url = f"/api/v1/complaints/{complaint.pk}/task"
    assert_error(post(client, url, {**window(), "inspectors": [team[0].pk]}), 422, "too_few_inspectors")
    assert_error(
        post(client, url, {**window(), "inspectors": [team[0].pk, 999999]}), 422, "unknown_inspector"
    )
    assert not InspectionTask.objects.exists() and not AuditEvent.objects.exists()
    response = post(
        client, url, {**window(), "inspectors": [i.pk for i in team], "department": "market_regulation"}
    )
    assert response.status_code == 201, response.content
    task = InspectionTask.objects.get()
    assert response.json()["id"] == task.pk and response.json()["source"] == "complaint"
    assert task.complaint == complaint
    detail = client.get(f"/api/v1/complaints/{complaint.pk}").json()
    assert detail["status"] == "tasked" and detail["tasks"] == [task.pk]
