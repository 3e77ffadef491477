"""The inspection loop through /api/v1/: the whole loop as the clients drive it, one permissions
table, and bad input in the project's error format."""

import base64
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from checklists.models import ChecklistItem
from core.audit import verify_chain
from core.models import AuditEvent, Photo
from supervision.inspections import services as workflow
from supervision.models import Evaluation, Inspection, InspectionTask, RectificationOrder, Signature
from tests.factories import (
    MembershipFactory,
    api_token,
    fake_jpeg,
    items_of,
    jpeg,
    make_team,
    png_bytes,
    rectify,
    tablet_client,
)

pytestmark = pytest.mark.django_db

JSON = "application/json"


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def tablet_for(user) -> Client:
    """A tablet signs in with a bearer token and sends no CSRF token."""
    return tablet_client(api_token(user), enforce_csrf_checks=True)


def png_base64(**kwargs) -> str:
    return base64.b64encode(png_bytes(**kwargs)).decode()


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code and body["message"]
    return body


@pytest.fixture
def other_member(other_enterprise):
    return MembershipFactory(enterprise=other_enterprise).user


@pytest.fixture
def far_inspector_user(db):
    return make_team(1, districts=["110108"], prefix="far")[0].user


# --- the whole loop -----------------------------------------------------------------------------------


def test_the_whole_loop_through_the_api(enterprise, team, regulator_user, business_user, loop_checklist):
    regulator, business = client_for(regulator_user), client_for(business_user)
    first, second = tablet_for(team[0].user), tablet_for(team[1].user)
    today = timezone.localdate()

    # The regulator plans the visit.
    response = regulator.post(
        "/api/v1/tasks",
        {
            "enterprise": enterprise.uscc,
            "inspectors": [i.pk for i in team],
            "due_from": str(today),
            "due_to": str(today + timedelta(days=3)),
            "source": "random",
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    task = response.json()
    assert (task["status"], task["source"], task["inspection_id"]) == ("planned", "random", None)
    assert sorted(i["id"] for i in task["inspectors"]) == sorted(i.pk for i in team)

    # The inspectors see it among their tasks; the business does not.
    assert [t["id"] for t in first.get("/api/v1/tasks").json()["items"]] == [task["id"]]
    assert [t["id"] for t in second.get(f"/api/v1/tasks?on={today}&status=planned").json()["items"]] == [
        task["id"]
    ]
    assert business.get("/api/v1/tasks").json()["items"] == []

    # On site: start (then resume from the second tablet), answer, photo, signatures, refusal.
    response = first.post(f"/api/v1/tasks/{task['id']}/inspection")
    assert response.status_code == 201, response.content
    record = response.json()
    assert (record["status"], record["answered"], record["total"]) == ("draft", 0, 3)
    items = {item["code"]: item for item in record["items"]}
    resumed = second.post(f"/api/v1/tasks/{task['id']}/inspection")
    assert resumed.status_code == 200 and resumed.json()["id"] == record["id"]
    url = f"/api/v1/inspections/{record['id']}"

    for code, result in [("mar-1", "compliant"), ("mar-2", "non_compliant"), ("mar-3", "not_applicable")]:
        response = first.put(
            f"{url}/answers/{items[code]['id']}", {"result": result, "note": f"on {code}"}, content_type=JSON
        )
        assert response.status_code == 200, response.content
        assert response.json() == {
            "item_id": items[code]["id"],
            "result": result,
            "note": f"on {code}",
            "photos": [],
        }
    response = second.post(f"{url}/answers/{items['mar-2']['id']}/photos", {"photo": jpeg()})
    assert response.status_code == 200, response.content
    assert response.json()["photos"] == [Photo.objects.get().sha256]
    assert first.patch(url, {"representative_name": "李四"}, content_type=JSON).status_code == 200

    for tablet, inspector in ((first, team[0]), (second, team[1])):
        response = tablet.post(
            f"{url}/signatures",
            {
                "role": "inspector",
                "inspector_id": inspector.pk,
                "png_base64": f"data:image/png;base64,{png_base64()}",
            },
            content_type=JSON,
        )
        assert response.status_code == 201, response.content
        assert response.json()["inspector_id"] == inspector.pk
    response = first.post(f"{url}/refusal", {"note": "the manager declined to sign"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["representative_refused"] is True

    # Submit, and the flaky network retries: the same record, once in the audit chain.
    submission = {"submission_id": str(uuid.uuid4()), "conclusion": "rectify"}
    response = first.post(f"{url}/submit", submission, content_type=JSON)
    assert response.status_code == 200, response.content
    submitted = response.json()
    assert submitted["status"] == "submitted" and submitted["order"].startswith("ZG")
    retried = second.post(f"{url}/submit", submission, content_type=JSON)
    assert retried.status_code == 200
    assert (retried.json()["id"], retried.json()["content_hash"]) == (
        submitted["id"],
        submitted["content_hash"],
    )
    assert AuditEvent.objects.filter(action="inspection.submit").count() == 1
    assert first.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "done"

    # The business finds its order and answers the finding with text and a photo.
    [order] = business.get("/api/v1/orders").json()["items"]
    assert (order["number"], order["status"], order["overdue"]) == (submitted["order"], "issued", False)
    [finding] = order["findings"]
    assert finding["item_code"] == "mar-2"
    response = business.post(
        f"/api/v1/orders/{order['id']}/rectification",
        {
            "note": "fixed it",
            f"text_{finding['id']}": "replaced the seals",
            f"photos_{finding['id']}": [jpeg(color="green"), jpeg(color="blue")],
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "submitted"
    [rectification] = response.json()["rectifications"]
    assert rectification["entries"][0]["text"] == "replaced the seals"
    assert len(rectification["entries"][0]["photos"]) == 2

    # An inspector verifies; the loop is closed.
    response = first.post(f"/api/v1/orders/{order['id']}/verify", {"accepted": True}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed" and response.json()["closed_at"]

    # The business rates the inspection, once.
    response = business.post(
        f"/api/v1/inspections/{submitted['id']}/evaluation",
        {"rating": 5, "comment": "quick"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    assert response.json()["rating"] == 5
    again = business.post(
        f"/api/v1/inspections/{submitted['id']}/evaluation", {"rating": 1}, content_type=JSON
    )
    assert_error(again, 409, "already_rated")
    assert Evaluation.objects.get().rating == 5

    assert RectificationOrder.objects.get().status == RectificationOrder.Status.CLOSED
    assert verify_chain().ok


# --- the permissions table ----------------------------------------------------------------------------

WHO = [
    "anonymous",
    "outsider",
    "business_user",
    "other_member",
    "lead",  # an inspector assigned to the task
    "inspector_user",  # an inspector of the same district, not assigned
    "far_inspector_user",  # an inspector of another district
    "regulator_user",
    "admin_user",
]


def _row(*expected):
    """Expected outcome per WHO: a status, or "status code" when the error code matters."""
    assert len(expected) == len(WHO)
    return dict(zip(WHO, expected, strict=True))


# (operation, state it needs, method, url, body) -> outcome per role. The rule: anonymous 401;
# what you may not see 404 (as if it did not exist); visible but not yours to change 403.
OPERATIONS = {
    "list tasks": (
        "task",
        "get",
        "/api/v1/tasks",
        None,
        _row("401 not_authenticated", 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    "get task": (
        "task",
        "get",
        "/api/v1/tasks/{task}",
        None,
        _row(401, "404 not_found", 404, 404, 200, 404, 404, 200, 200),
    ),
    "create task": (
        "team",
        "post",
        "/api/v1/tasks",
        "task_in",
        _row(401, "404 not_found", "403 forbidden", 404, "403 forbidden", 403, 404, 201, 201),
    ),
    "start inspection": (
        "task",
        "post",
        "/api/v1/tasks/{task}/inspection",
        None,
        _row(401, 404, 404, 404, 201, 404, 404, "403 not_assigned", "403 not_assigned"),
    ),
    "get inspection draft": (
        "inspection",
        "get",
        "/api/v1/inspections/{inspection}",
        None,
        _row(401, 404, 404, 404, 200, 404, 404, 404, 200),
    ),
    "answer": (
        "inspection",
        "put",
        "/api/v1/inspections/{inspection}/answers/{item}",
        {"result": "compliant"},
        _row(401, 404, 404, 404, 200, 404, 404, 404, "403 not_assigned"),
    ),
    "update inspection": (
        "inspection",
        "patch",
        "/api/v1/inspections/{inspection}",
        {"note": "checked with the manager"},
        _row(401, 404, 404, 404, 200, 404, 404, 404, "403 not_assigned"),
    ),
    "photo": (
        "answered",
        "post",
        "/api/v1/inspections/{inspection}/answers/{item}/photos",
        "photo_in",
        _row(401, 404, 404, 404, 200, 404, 404, 404, "403 not_assigned"),
    ),
    "sign": (
        "inspection",
        "post",
        "/api/v1/inspections/{inspection}/signatures",
        "signature_in",
        _row(401, 404, 404, 404, 201, 404, 404, 404, "403 not_assigned"),
    ),
    "submit": (
        "ready",
        "post",
        "/api/v1/inspections/{inspection}/submit",
        "submit_in",
        _row(401, 404, 404, 404, 200, 404, 404, 404, "403 not_assigned"),
    ),
    "get order": (
        "order",
        "get",
        "/api/v1/orders/{order}",
        None,
        _row(401, 404, 200, 404, 200, 200, 404, 200, 200),
    ),
    "submit rectification": (
        "order",
        "post",
        "/api/v1/orders/{order}/rectification",
        "rectification_in",
        _row(401, 404, 201, 404, "403 not_member", 403, 404, 403, "403 not_member"),
    ),
    "verify": (
        "rectified",
        "post",
        "/api/v1/orders/{order}/verify",
        {"accepted": True},
        _row(401, 404, "403 forbidden", 404, 200, 200, 404, "403 forbidden", 403),
    ),
    "escalate": (
        "overdue",
        "post",
        "/api/v1/orders/{order}/escalate",
        {"reason": "ignored the order"},
        _row(401, 404, "403 forbidden", 404, 200, 200, 404, 200, 200),
    ),
    "evaluate": (
        "order",
        "post",
        "/api/v1/inspections/{inspection}/evaluation",
        {"rating": 4},
        _row(401, 404, 201, 404, "403 not_member", 403, 404, 403, 403),
    ),
    "record.pdf": (
        "order",
        "get",
        "/api/v1/inspections/{inspection}/record.pdf",
        None,
        _row(401, 404, 200, 404, 200, 200, 404, 200, 200),
    ),
}

CASES = [pytest.param(operation, who, id=f"{operation}-{who}") for operation in OPERATIONS for who in WHO]


@pytest.fixture
def fast_pdf(monkeypatch):
    """The table asks who may have the record, not how it looks: skip the second of rendering."""
    monkeypatch.setattr(
        "supervision.inspections.documents.render_pdf", lambda html: b"%PDF-1.7\n%stub\n%%EOF\n"
    )


def _state(request, name: str) -> dict:
    """Build what the operation needs, and the ids its url and body refer to."""
    if name == "team":
        return {"team": request.getfixturevalue("team")}
    if name == "task":
        return {"task": request.getfixturevalue("task").pk}
    if name in ("inspection", "ready", "answered"):
        inspection = request.getfixturevalue("inspection" if name == "answered" else name)
        item = items_of(inspection)["mar-1"]
        if name == "answered":  # a photo goes with an answer
            workflow.inspection_answer(
                inspection=inspection,
                actor=request.getfixturevalue("lead"),
                item_id=item.pk,
                result="compliant",
            )
        return {"inspection": inspection.pk, "item": item.pk}
    order = request.getfixturevalue("order")
    if name == "rectified":
        rectify(order, request.getfixturevalue("business_user"))
    if name == "overdue":
        RectificationOrder.objects.filter(pk=order.pk).update(deadline=timezone.now() - timedelta(days=1))
    return {"order": order.pk, "inspection": order.inspection_id}


def _body(kind, ids, request):
    today = timezone.localdate()
    if kind == "task_in":
        return {
            "enterprise": request.getfixturevalue("enterprise").uscc,
            "inspectors": [i.pk for i in ids["team"]],
            "due_from": str(today),
            "due_to": str(today + timedelta(days=7)),
        }
    if kind == "submit_in":
        return {"submission_id": str(uuid.uuid4()), "conclusion": "rectify"}
    if kind == "photo_in":
        return {"photo": jpeg()}
    if kind == "signature_in":
        return {"role": "representative", "png_base64": png_base64()}
    if kind == "rectification_in":
        order = RectificationOrder.objects.get(pk=ids["order"])
        return {f"text_{f.pk}": "fixed" for f in order.findings.all()}
    return kind


@pytest.mark.parametrize(("operation", "who"), CASES)
def test_permissions(request, operation, who, fast_pdf, enterprise, other_member, far_inspector_user):
    state, method, url, body, expected = OPERATIONS[operation]
    ids = _state(request, state)
    user = None if who == "anonymous" else request.getfixturevalue(who)
    client = client_for(user)
    path = url.format(**ids)
    payload = _body(body, ids, request)
    if payload is None:
        response = getattr(client, method)(path)
    elif body in ("rectification_in", "photo_in"):
        response = client.post(path, payload)  # multipart, as a browser or the tablet sends it
    else:
        response = getattr(client, method)(path, payload, content_type=JSON)

    status, _, code = str(expected[who]).partition(" ")
    assert response.status_code == int(status), response.content
    if int(status) >= 400:
        assert_error(response, int(status), code or response.json()["code"])
        if operation in ("photo", "sign"):  # refused before anything is stored
            assert not Photo.objects.exists() and not Signature.objects.exists()


def test_each_role_lists_only_its_tasks(task, enterprise, team, regulator_user, inspector_user, admin_user):
    assert [t["id"] for t in client_for(team[1].user).get("/api/v1/tasks").json()["items"]] == [task.pk]
    assert client_for(inspector_user).get("/api/v1/tasks").json()["items"] == []
    assert [t["id"] for t in client_for(regulator_user).get("/api/v1/tasks").json()["items"]] == [task.pk]
    assert [t["id"] for t in client_for(admin_user).get("/api/v1/tasks").json()["items"]] == [task.pk]


def test_a_submitted_record_is_seen_by_the_business_and_officials_in_scope(
    submitted_inspection, business_user, inspector_user, regulator_user, far_inspector_user
):
    url = f"/api/v1/inspections/{submitted_inspection.pk}"
    for user in (business_user, inspector_user, regulator_user):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert response.json()["content_hash"] == submitted_inspection.content_hash
    assert_error(client_for(far_inspector_user).get(url), 404, "not_found")


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"submission_id": "not-a-uuid", "conclusion": "rectify"},
        {"submission_id": "12345678-1234-1234-1234-1234567890", "conclusion": "rectify"},
        {"submission_id": str(uuid.uuid4()), "conclusion": "maybe"},
        {"conclusion": "rectify"},
        {"submission_id": str(uuid.uuid4()), "conclusion": "rectify", "rectify_deadline": "next week"},
    ],
    ids=["malformed-uuid", "short-uuid", "unknown-conclusion", "no-submission-id", "bad-deadline"],
)
def test_submit_refuses_malformed_input(ready, lead, body):
    response = client_for(lead).post(f"/api/v1/inspections/{ready.pk}/submit", body, content_type=JSON)
    body = assert_error(response, 422, "invalid_input")
    assert body["details"]
    assert Inspection.objects.get(pk=ready.pk).status == Inspection.Status.DRAFT


@pytest.mark.parametrize("rating", [7, 0, "five"])
def test_evaluation_refuses_a_rating_out_of_range(submitted_inspection, business_user, rating):
    response = client_for(business_user).post(
        f"/api/v1/inspections/{submitted_inspection.pk}/evaluation", {"rating": rating}, content_type=JSON
    )
    assert_error(response, 422, "invalid_input")
    assert not Evaluation.objects.exists()


def test_an_answer_refuses_an_unknown_result(inspection, lead):
    item = items_of(inspection)["mar-1"]
    response = client_for(lead).put(
        f"/api/v1/inspections/{inspection.pk}/answers/{item.pk}", {"result": "maybe"}, content_type=JSON
    )
    assert_error(response, 422, "invalid_input")


def test_workflow_refusals_keep_their_code_and_details(inspection, lead):
    response = client_for(lead).post(
        f"/api/v1/inspections/{inspection.pk}/submit",
        {"submission_id": str(uuid.uuid4()), "conclusion": "pass"},
        content_type=JSON,
    )
    body = assert_error(response, 422, "incomplete")
    assert body["details"] == {"missing": ["mar-1", "mar-2", "mar-3"]}


def test_a_fake_photo_is_refused_and_nothing_is_stored(inspection, lead):
    item = items_of(inspection)["mar-1"]
    client = client_for(lead)
    client.put(
        f"/api/v1/inspections/{inspection.pk}/answers/{item.pk}", {"result": "compliant"}, content_type=JSON
    )
    response = client.post(
        f"/api/v1/inspections/{inspection.pk}/answers/{item.pk}/photos", {"photo": fake_jpeg()}
    )
    assert_error(response, 422, "not_an_image")
    assert not Photo.objects.exists()


@pytest.mark.parametrize(
    "png", ["not base64 at all!", base64.b64encode(b"plain text").decode()], ids=["not-base64", "not-png"]
)
def test_a_signature_must_be_a_base64_png(inspection, lead, team, png):
    response = client_for(lead).post(
        f"/api/v1/inspections/{inspection.pk}/signatures",
        {"role": "inspector", "inspector_id": team[0].pk, "png_base64": png},
        content_type=JSON,
    )
    assert_error(response, 422, "invalid_signature")
    assert not Signature.objects.exists()


def test_a_rectification_without_a_text_names_the_finding(order, business_user):
    finding = order.findings.order_by("pk").first()
    response = client_for(business_user).post(
        f"/api/v1/orders/{order.pk}/rectification", {f"text_{finding.pk}": "fixed one of two"}
    )
    body = assert_error(response, 422, "incomplete")
    assert finding.pk not in body["details"]["findings"] and len(body["details"]["findings"]) == 1


def test_a_task_for_an_unknown_inspector_is_refused(enterprise, team, regulator_user):
    today = timezone.localdate()
    response = client_for(regulator_user).post(
        "/api/v1/tasks",
        {
            "enterprise": enterprise.uscc,
            "inspectors": [team[0].pk, 987654],
            "due_from": str(today),
            "due_to": str(today),
        },
        content_type=JSON,
    )
    assert_error(response, 422, "unknown_inspector")
    assert not InspectionTask.objects.exists()


def test_the_submit_answers_with_what_reading_the_record_afterwards_shows(ready, lead):
    """The submit's answer is built from the rows it read under its lock, not read again: the same
    items, answers, photos, signatures and order as the record read back, even when an answer to an
    item that stopped applying was dropped on the way."""
    client = client_for(lead)
    item = items_of(ready)["mar-1"]
    photo = client.post(f"/api/v1/inspections/{ready.pk}/answers/{item.pk}/photos", {"photo": jpeg()})
    assert photo.status_code == 200, photo.content
    ChecklistItem.objects.filter(code="mar-3").update(applies_if="online_delivery")

    response = client.post(
        f"/api/v1/inspections/{ready.pk}/submit",
        {"submission_id": str(uuid.uuid4()), "conclusion": "rectify"},
        content_type=JSON,
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == client.get(f"/api/v1/inspections/{ready.pk}").json()
    assert body["status"] == "submitted" and body["order"]
    assert [row["code"] for row in body["items"]] == ["mar-1", "mar-2"] and body["answered"] == 2
    assert body["items"][0]["answer"]["photos"] == photo.json()["photos"] != []
    assert len(body["signatures"]) == 3
