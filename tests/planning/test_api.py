"""Planning through /api/v1/: draws, plans, the burden view, in the project's error format."""

import pytest
from django.test import Client

from planning.models import Draw, RiskPlan
from supervision.models import InspectionTask
from tests.factories import MembershipFactory, UserFactory, make_inspectors, scored

pytestmark = pytest.mark.django_db
JSON = "application/json"


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code and body["message"]
    return body


@pytest.fixture
def due(db):
    make_inspectors(4)
    return [scored(tier=3, risk=risk) for risk in (30.0, 20.0, 10.0)]


DRAW = {"period_from": "2025-07-01", "period_to": "2025-09-30", "tiers": [3], "ratios": {"3": 1}}
PLAN = {"period_from": "2025-07-01", "period_to": "2025-09-30", "capacity": 4}


def test_a_draw_through_the_api(due, market_regulator):
    api = client_for(market_regulator)

    created = api.post("/api/v1/draws", DRAW, content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (
        body["status"] == "draft"
        and body["department"] == "market_regulation"
        and body["district"] == "110105"
    )
    assert body["ratios"] == {"3": "1.000000"} and body["pool_size"] == 3 and body["drawn"] == 3
    assert len(body["seed"]) == 32 and body["algorithm"] == "draw-v1"
    draw_id = body["id"]

    entries = api.get(f"/api/v1/draws/{draw_id}/entries").json()["items"]
    assert sorted(e["enterprise"] for e in entries) == sorted(e.uscc for e in due)
    assert all(len(e["inspectors"]) == 2 and e["task_id"] is None for e in entries)

    verified = api.get(f"/api/v1/draws/{draw_id}/verify").json()
    assert verified == {
        "ok": True,
        "mismatch": "",
        "entries": 3,
        "pool_changed": False,
        "pool_added": 0,
        "pool_removed": 0,
        "pool_retiered": 0,
    }

    confirmed = api.post(f"/api/v1/draws/{draw_id}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert InspectionTask.objects.filter(source="random").count() == 3
    assert api.get(f"/api/v1/draws/{draw_id}").json()["confirmed_at"]
    assert_error(api.post(f"/api/v1/draws/{draw_id}/confirm"), 409, "already_confirmed")


def test_the_api_reports_a_tampered_draw(due, market_regulator):
    api = client_for(market_regulator)
    draw_id = api.post("/api/v1/draws", DRAW, content_type=JSON).json()["id"]
    Draw.objects.filter(pk=draw_id).update(seed="0" * 32)

    verified = api.get(f"/api/v1/draws/{draw_id}/verify").json()
    assert verified["ok"] is False and verified["mismatch"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({**DRAW, "ratios": {"3": 1.5}}, "invalid_ratio"),
        ({**DRAW, "ratios": {"3": -0.5}}, "invalid_ratio"),
        ({**DRAW, "scene": "hotel"}, "scene_not_supervised"),
        ({**DRAW, "district": "000000"}, "unknown_district"),
        ({**DRAW, "department": "nope"}, "unknown_department"),
        ({**DRAW, "inspectors_per_task": 5}, "too_few_inspectors"),
    ],
)
def test_bad_draws_are_refused_and_record_nothing(due, market_regulator, payload, code):
    assert_error(client_for(market_regulator).post("/api/v1/draws", payload, content_type=JSON), 422, code)
    assert not Draw.objects.exists()


def test_an_empty_pool_is_refused(market_regulator):
    make_inspectors(2)
    assert_error(
        client_for(market_regulator).post("/api/v1/draws", DRAW, content_type=JSON), 422, "empty_pool"
    )


def test_a_plan_through_the_api(due, market_regulator):
    api = client_for(market_regulator)

    created = api.post("/api/v1/plans", PLAN, content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["capacity_used"] == 4 and body["policy_version"] == 1
    assert body["outcomes"] == {"scheduled": 2, "over_capacity": 1, "no_inspectors": 0, "already_planned": 0}

    unplaced = api.get(f"/api/v1/plans/{body['id']}/entries", {"scheduled": "false"}).json()["items"]
    assert [(e["enterprise"], e["outcome"], e["due_reason"]) for e in unplaced] == [
        (due[2].uscc, "over_capacity", "never_inspected")
    ]
    everything = api.get(f"/api/v1/plans/{body['id']}/entries").json()["items"]
    assert [e["risk"] for e in everything] == [30.0, 20.0, 10.0]

    confirmed = api.post(f"/api/v1/plans/{body['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert InspectionTask.objects.filter(source="risk").count() == 2


def test_a_plan_with_no_capacity_is_refused(due, market_regulator):
    response = client_for(market_regulator).post("/api/v1/plans", {**PLAN, "capacity": 0}, content_type=JSON)
    assert_error(response, 422, "invalid_capacity")
    assert not RiskPlan.objects.exists()


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("outsider", 403, "forbidden"),
        ("business", 403, "forbidden"),
        ("inspector", 403, "forbidden"),
    ],
)
def test_only_planners_create_or_see_the_burden(due, enterprise, who, status, code):
    user = {
        "anonymous": None,
        "outsider": UserFactory(username="nobody"),
        "business": MembershipFactory(enterprise=enterprise).user,
        "inspector": make_inspectors(1, prefix="solo")[0].user,
    }[who]
    api = client_for(user)

    assert_error(api.post("/api/v1/draws", DRAW, content_type=JSON), status, code)
    assert_error(api.post("/api/v1/plans", PLAN, content_type=JSON), status, code)
    burden = api.get("/api/v1/burden", {"period_from": "2025-07-01", "period_to": "2025-09-30"})
    assert_error(burden, status, code)


def test_draws_and_plans_out_of_scope_are_404(due, market_regulator, health_regulator, enterprise):
    api = client_for(market_regulator)
    draw_id = api.post("/api/v1/draws", DRAW, content_type=JSON).json()["id"]
    plan_id = api.post("/api/v1/plans", PLAN, content_type=JSON).json()["id"]

    for user in (
        health_regulator,
        make_inspectors(1, prefix="solo")[0].user,
        MembershipFactory(enterprise=enterprise).user,
    ):
        other = client_for(user)
        for url in (
            f"/api/v1/draws/{draw_id}",
            f"/api/v1/draws/{draw_id}/entries",
            f"/api/v1/draws/{draw_id}/verify",
            f"/api/v1/plans/{plan_id}",
            f"/api/v1/plans/{plan_id}/entries",
        ):
            assert_error(other.get(url), 404, "not_found")
        assert_error(other.post(f"/api/v1/draws/{draw_id}/confirm"), 404, "not_found")
        assert_error(other.post(f"/api/v1/plans/{plan_id}/confirm"), 404, "not_found")
    assert not InspectionTask.objects.exists()


def test_a_department_regulator_cannot_draw_for_another_department(due, market_regulator):
    response = client_for(market_regulator).post(
        "/api/v1/draws", {**DRAW, "department": "health"}, content_type=JSON
    )
    assert_error(response, 403, "out_of_scope")
