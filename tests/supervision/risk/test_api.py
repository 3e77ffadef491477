"""The ranking, the breakdown, policies and recomputes through /api/v1/: the same filters and scope
as the pages, errors in the project's format, 403 for roles that may not use an endpoint and 404
for an enterprise outside the caller's scope."""

import pytest
from django.test import Client

from core.models import AuditEvent
from supervision.models import ScoreRun, ScoringPolicy
from supervision.risk import scoring
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(ranking_world):
    return ranking_world


JSON = "application/json"


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code and body["message"]
    return body


def usccs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["uscc"] for item in response.json()["items"]]


# --- the ranking ---------------------------------------------------------------------------------------


def test_the_ranking_lists_scores_with_their_factor_contributions(world, admin_user):
    response = client_for(admin_user).get("/api/v1/ranking")
    assert world.by_uscc(usccs(response)) == ["haidian", "chaoyang", "dongcheng", "street", "hotel"]
    first = response.json()["items"][1]
    assert first["name"] == world.chaoyang.name
    assert first["district"] == {"code": "110105", "name": "Chaoyang"}
    assert first["scene"]["code"] == "catering"
    assert (first["risk"], first["risk_level"], first["credit"], first["tier"]) == (80, "high", "C", 4)
    assert first["overdue_orders"] == 2 and first["open_orders"] == 3
    assert set(first["factors"]) == set(scoring.FACTORS)
    assert sum(first["factors"].values()) == pytest.approx(first["risk"])
    assert first["policy_version"] == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("params", [{}, {"order": "credit"}, {"licence": "all", "page_size": 2, "page": 2}])
def test_a_ranking_page_is_exactly_what_its_schema_documents(world, admin_user, language, params):
    """The page is written without ninja's validation on the way out (supervision.risk.api
    ranking_page): it must still be PagedScoreOut, and each row what the breakdown says of it."""
    from supervision.risk.api import PagedScoreOut

    client = client_for(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    response = client.get("/api/v1/ranking", params)
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    page = PagedScoreOut.model_validate(body, by_alias=False, by_name=True).model_dump(mode="json")
    for row in [*page["items"], *body["items"]]:
        row.pop("as_of")  # the same moment, written to the millisecond by the API
    assert page == body
    assert body["items"]
    for item in body["items"]:
        detail = client.get(f"/api/v1/ranking/{item['uscc']}").json()["score"]
        assert {k: v for k, v in detail.items() if k not in {"open_order", "more_open_orders", "as_of"}} == {
            k: v for k, v in item.items() if k not in {"open_order", "more_open_orders"}
        }
    names = {item["district"]["code"]: item["district"]["name"] for item in body["items"]}
    assert names.get("110105", "Chaoyang" if language == "en" else "朝阳区") == (
        "Chaoyang" if language == "en" else "朝阳区"
    )
    assert "110105" in names or params


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"district": "110105"}, ["chaoyang", "street", "hotel"]),
        ({"department": "health"}, ["haidian", "hotel"]),
        ({"scene": "catering", "order": "credit"}, ["dongcheng", "chaoyang", "street"]),
        ({"tier": "4", "order": "overdue"}, ["chaoyang", "dongcheng", "haidian"]),
        ({"risk_level": "low"}, ["hotel"]),
    ],
)
def test_the_ranking_takes_the_pages_filters_and_orders(world, admin_user, params, expected):
    assert world.by_uscc(usccs(client_for(admin_user).get("/api/v1/ranking", params))) == expected


def test_the_ranking_is_paginated_without_a_count(world, admin_user):
    client = client_for(admin_user)
    first = client.get("/api/v1/ranking", {"page_size": 2}).json()
    assert set(first) == {"items", "page", "page_size", "has_next"}
    assert first["has_next"] is True
    last = client.get("/api/v1/ranking", {"page_size": 2, "page": 3}).json()
    assert [item["uscc"] for item in last["items"]] == [world.hotel.uscc]
    assert last["has_next"] is False


def test_unknown_filter_values_are_a_400_naming_each_one(world, admin_user):
    response = client_for(admin_user).get(
        "/api/v1/ranking", {"district": "999999", "credit": "E", "order": "name"}
    )
    body = assert_error(response, 400, "invalid_filter")
    assert set(body["details"]) == {"district", "credit", "order"}


def test_a_district_regulator_never_sees_another_district_through_the_api(world, chaoyang_regulator):
    client = client_for(chaoyang_regulator)
    for params in ({}, {"district": "110101"}, {"order": "tier"}, {"department": "health"}):
        seen = set(usccs(client.get("/api/v1/ranking", params)))
        assert seen <= {world.chaoyang.uscc, world.street.uscc, world.hotel.uscc}
    for outside in (world.dongcheng, world.haidian):
        assert_error(client.get(f"/api/v1/ranking/{outside.uscc}"), 404, "not_found")


@pytest.mark.parametrize("who", ["business_user", "inspector_user", "outsider"])
def test_other_roles_get_403_from_every_scoring_endpoint(world, request, who):
    scoring.current_policy()
    client = client_for(request.getfixturevalue(who))
    for response in (
        client.get("/api/v1/ranking"),
        client.get(f"/api/v1/ranking/{world.chaoyang.uscc}"),
        client.get("/api/v1/scoring/policies"),
        client.get("/api/v1/scoring/policies/1"),
        client.post("/api/v1/scoring/policies", {"weights": {}}, content_type=JSON),
        client.post("/api/v1/scoring/recompute"),
        client.get("/api/v1/scoring/runs/1"),
    ):
        assert_error(response, 403, "forbidden")


def test_anonymous_callers_get_401(world):
    assert_error(Client().get("/api/v1/ranking"), 401, "not_authenticated")


# --- the breakdown -------------------------------------------------------------------------------------


def test_the_breakdown_explains_each_factor(enterprise, city_regulator):
    scoring.recompute_enterprise(enterprise_id=enterprise.pk)
    response = client_for(city_regulator).get(f"/api/v1/ranking/{enterprise.uscc.lower()}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["score"]["uscc"] == enterprise.uscc
    factors = {row["factor"]: row for row in body["factors"]}
    assert set(factors) == set(scoring.FACTORS)
    assert sum(row["points"] for row in body["factors"]) == pytest.approx(body["score"]["risk"])
    assert sum(row["max_points"] for row in body["factors"]) == pytest.approx(100)
    for row in body["factors"]:
        assert row["points"] == pytest.approx(row["value"] * row["max_points"])
    assert factors["violations"]["weight"] == 35
    rule = scoring.current_policy().params["tiers"][str(body["score"]["tier"])]
    assert body["tier_rule"]["draw_ratio"] == rule["draw_ratio"]
    assert body["credit"]["rating"] == body["score"]["credit"]
    assert body["credit_events"] == [] and body["open_orders"] == [] and body["findings"] == []


def test_an_enterprise_in_scope_without_a_score_has_an_empty_breakdown(enterprise, city_regulator):
    # Not a 404: that would tell "not scored yet" apart from "not yours" only by the error code.
    response = client_for(city_regulator).get(f"/api/v1/ranking/{enterprise.uscc}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["score"] is None and body["credit"] is None and body["factors"] == []


def test_an_enterprise_outside_the_scope_looks_like_no_enterprise(world, city_regulator):
    unknown = client_for(city_regulator).get("/api/v1/ranking/91110105MA00000000")
    outside = client_for(city_regulator).get(f"/api/v1/ranking/{world.haidian.uscc}")
    assert assert_error(unknown, 404, "not_found") == assert_error(outside, 404, "not_found")


# --- policies ------------------------------------------------------------------------------------------


def test_regulators_list_the_policy_versions(world, chaoyang_regulator, city_regulator):
    v1 = scoring.current_policy()
    scoring.policy_create(
        actor=city_regulator, weights=v1.weights, params=v1.params, note="candidate", adopt=False
    )
    body = client_for(chaoyang_regulator).get("/api/v1/scoring/policies").json()
    assert [(p["version"], p["is_current"], p["note"]) for p in body["items"]] == [
        (2, False, "candidate"),
        (1, True, "initial policy"),
    ]
    assert body["items"][0]["created_by"] == city_regulator.username
    assert body["items"][1]["weights"] == {k: float(v) for k, v in scoring.DEFAULT_WEIGHTS.items()}


def test_a_city_regulator_creates_a_candidate_and_adopts_it(city_regulator):
    v1 = scoring.current_policy()
    client = client_for(city_regulator)
    response = client.post(
        "/api/v1/scoring/policies",
        {"weights": {**v1.weights, "orders": 15}, "note": "more weight on orders"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["version"] == 2 and created["is_current"] is False and created["adopted_at"] is None
    assert created["params"] == v1.params  # omitted: the current policy's parameters
    adopted = client.post("/api/v1/scoring/policies/2/adopt")
    assert adopted.status_code == 200, adopted.content
    assert adopted.json()["is_current"] is True
    assert scoring.current_policy().version == 2
    assert AuditEvent.objects.filter(action="scoring.policy_adopt").exists()


def test_an_invalid_policy_is_refused_with_every_problem_and_nothing_saved(city_regulator):
    v1 = scoring.current_policy()
    weights = {**v1.weights, "scene": -1, "bogus": 3}
    del weights["orders"]
    params = {**v1.params, "tiers": {**v1.params["tiers"], "2": {"interval_days": 0, "draw_ratio": 2}}}
    response = client_for(city_regulator).post(
        "/api/v1/scoring/policies", {"weights": weights, "params": params}, content_type=JSON
    )
    body = assert_error(response, 400, "policy_invalid")
    assert body["details"] == {
        "weights.scene": "must be at least 0",
        "weights.orders": "missing",
        "weights.bogus": "unknown factor",
        "params.tiers.2.interval_days": "must be at least 1",
        "params.tiers.2.draw_ratio": "must be at most 1",
    }
    assert ScoringPolicy.objects.count() == 1


def test_a_policy_that_is_not_an_object_is_422(city_regulator):
    response = client_for(city_regulator).post(
        "/api/v1/scoring/policies", {"weights": [1, 2, 3]}, content_type=JSON
    )
    assert_error(response, 422, "invalid_input")


def test_a_district_regulator_may_read_but_not_change_the_policy(chaoyang_regulator):
    v1 = scoring.current_policy()
    client = client_for(chaoyang_regulator)
    assert client.get("/api/v1/scoring/policies/1").status_code == 200
    assert_error(
        client.post("/api/v1/scoring/policies", {"weights": v1.weights}, content_type=JSON), 403, "forbidden"
    )
    assert_error(client.post("/api/v1/scoring/policies/1/adopt"), 403, "forbidden")
    assert_error(client.post("/api/v1/scoring/recompute"), 403, "forbidden")
    assert ScoringPolicy.objects.count() == 1 and not ScoreRun.objects.exists()


# --- recompute -----------------------------------------------------------------------------------------


def test_a_recompute_is_accepted_and_runs_to_done(
    city_regulator, chaoyang_regulator, django_capture_on_commit_callbacks
):
    for _ in range(3):
        EnterpriseFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(city_regulator).post("/api/v1/scoring/recompute")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    # Any regulator may watch it.
    run = client_for(chaoyang_regulator).get(f"/api/v1/scoring/runs/{run_id}").json()
    assert run["status"] == "done"
    assert run["total"] == run["done"] == 1
    assert run["enterprises"] == 3
    assert run["policy_version"] == 1 and run["error"] == ""


def test_a_second_recompute_is_409_while_one_runs(city_regulator):
    running = ScoreRun.objects.create(policy=scoring.current_policy(), status=ScoreRun.Status.RUNNING)
    body = assert_error(
        client_for(city_regulator).post("/api/v1/scoring/recompute"), 409, "recompute_running"
    )
    assert body["details"] == {"run": running.pk}


def test_an_unknown_run_is_404(city_regulator):
    assert_error(client_for(city_regulator).get("/api/v1/scoring/runs/999"), 404, "not_found")
