"""Scoring policy pages and the background recompute: versions, the edit form with its errors per
field, adopting a candidate, starting a recompute and watching it finish (or fail)."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent, District
from supervision.models import EnterpriseScore, ScoreRun, ScoringPolicy
from supervision.risk import scoring
from supervision.risk import services as rescoring
from tests.factories import EnterpriseFactory, RegulatorFactory


@pytest.fixture
def client():
    """Pages in English, the language the assertions are written in (Chinese is the default)."""
    return Client(headers={"Accept-Language": "en"})


NEW = "/ranking/policies/new"


def form_data(policy: ScoringPolicy, **changes) -> dict:
    """The form as it comes pre-filled from ``policy``, with some inputs changed."""
    data = {"from": str(policy.version), "note": ""}
    for factor, weight in policy.weights.items():
        data[f"weights.{factor}"] = str(weight)

    def flatten(prefix, node):
        for key, value in node.items():
            if isinstance(value, dict):
                flatten(f"{prefix}{key}.", value)
            else:
                data[f"{prefix}{key}"] = "" if value is None else str(value)

    flatten("params.", policy.params)
    data.update(changes)
    return data


@pytest.fixture
def v1(db):
    return scoring.current_policy()


@pytest.fixture
def city_district_regulator(db):
    """Scoped to the top-level district (the city itself)."""
    return RegulatorFactory(department=None, district=District.objects.get(code="110000")).user


# --- versions ------------------------------------------------------------------------------------------


def test_regulators_see_the_versions_and_who_made_them(client, v1, chaoyang_regulator):
    client.force_login(chaoyang_regulator)
    response = client.get("/ranking/policies/")
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("ranking:policy", args=[1]) in body
    assert "initial policy" in body
    # A district regulator ranks with the city's policy but does not change it.
    assert NEW not in body
    assert 'id="recompute-form"' not in body
    detail = client.get(reverse("ranking:policy", args=[1]))
    assert detail.status_code == 200
    assert 'id="adopt-form"' not in detail.content.decode()


def test_a_city_regulator_gets_the_form_filled_from_the_current_version(client, v1, city_regulator):
    client.force_login(city_regulator)
    body = client.get("/ranking/policies/").content.decode()
    assert NEW in body and 'id="recompute-form"' in body
    response = client.get(NEW)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="weights.violations" value="35"' in body
    assert 'name="params.tiers.4.interval_days" value="91"' in body
    # Tier 1 has no interval (random draws only): the input is blank.
    assert 'name="params.tiers.1.interval_days" value=""' in body
    assert 'name="params.credit.thresholds.D" value="25"' in body


def test_saving_a_new_version_keeps_the_old_one_and_is_audited(client, v1, city_regulator):
    client.force_login(city_regulator)
    data = form_data(v1, **{"weights.complaints": "20", "params.half_life_days": "500", "note": "更重投诉"})
    response = client.post(NEW, data)
    assert response.status_code == 302
    v2 = ScoringPolicy.objects.get(version=2)
    assert response["Location"] == reverse("ranking:policy", args=[2])
    assert v2.weights["complaints"] == 20 and v2.params["half_life_days"] == 500
    assert v2.params["tiers"]["1"]["interval_days"] is None
    assert v2.note == "更重投诉" and v2.created_by == city_regulator
    # Not adopted unless asked: a candidate, the current policy unchanged.
    assert v2.adopted_at is None
    assert scoring.current_policy() == v1
    assert ScoringPolicy.objects.get(version=1).weights == scoring.DEFAULT_WEIGHTS
    assert AuditEvent.objects.filter(action="scoring.policy_create", target_id=str(v2.pk)).exists()


def test_a_version_adopted_at_once_becomes_current(client, v1, admin_user):
    client.force_login(admin_user)
    response = client.post(NEW, form_data(v1, **{"weights.scene": "12.5", "adopt": "1"}))
    assert response.status_code == 302
    assert scoring.current_policy().version == 2
    assert scoring.current_policy().weights["scene"] == 12.5


def test_a_new_version_can_start_from_an_older_one(client, v1, city_regulator):
    scoring.policy_create(actor=None, weights={**v1.weights, "scene": 1}, params=v1.params, adopt=False)
    client.force_login(city_regulator)
    body = client.get(NEW, {"from": "2"}).content.decode()
    assert 'name="weights.scene" value="1"' in body


def test_negative_and_missing_weights_are_named_per_field_and_nothing_is_saved(client, v1, city_regulator):
    client.force_login(city_regulator)
    data = form_data(v1, **{"weights.scene": "-3", "weights.orders": "", "weights.licence": "lots"})
    response = client.post(NEW, data)
    assert response.status_code == 400
    form = response.context["form"]
    errors = {field["name"]: field["error"] for field in form["weights"]}
    assert errors["weights.scene"] == "Must be at least 0."
    assert errors["weights.orders"] == "Required."
    assert errors["weights.licence"] == "Must be a number."
    assert errors["weights.violations"] is None
    body = response.content.decode()
    assert "The scoring policy is not valid." in body
    assert 'name="weights.scene" value="-3" inputmode="decimal" aria-invalid="true"' in body
    # What was typed stays in the form.
    assert 'name="weights.licence" value="lots"' in body
    assert ScoringPolicy.objects.count() == 1
    assert not AuditEvent.objects.filter(action="scoring.policy_create").exists()


def test_parameter_errors_land_on_their_inputs_and_group_errors_above_the_form(client, v1, city_regulator):
    client.force_login(city_regulator)
    data = form_data(
        v1,
        **{
            "params.tiers.2.draw_ratio": "1.5",
            "params.risk_thresholds.medium": "70",
            "params.half_life_days": "0",
            "params.matrix.high.A": "7",
        },
    )
    response = client.post(NEW, data)
    assert response.status_code == 400
    form = response.context["form"]
    tier2 = form["tiers"][1]
    assert tier2["ratio"]["error"] == "Must be at most 1."
    assert {f["name"]: f["error"] for f in form["params"]}["params.half_life_days"] == "Must be at least 1."
    assert form["matrix"][2]["cells"][0]["error"] == "Choose a tier from 1 to 4."
    assert ("params.risk_thresholds", "The medium threshold must be below the high one.") in form[
        "other_errors"
    ]
    assert ScoringPolicy.objects.count() == 1


def test_all_weights_zero_is_refused(client, v1, city_regulator):
    client.force_login(city_regulator)
    response = client.post(NEW, form_data(v1, **{f"weights.{f}": "0" for f in scoring.FACTORS}))
    assert response.status_code == 400
    assert ("weights", "At least one weight must be above zero.") in response.context["form"]["other_errors"]
    assert ScoringPolicy.objects.count() == 1


@pytest.mark.parametrize("who", ["chaoyang_regulator", "haidian_regulator"])
def test_a_district_regulator_may_not_change_the_policy(client, v1, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(v1, adopt="1")).status_code == 403
    assert client.post(reverse("ranking:policy-adopt", args=[1])).status_code == 403
    assert client.post("/ranking/recompute").status_code == 403
    assert ScoringPolicy.objects.count() == 1
    assert not ScoreRun.objects.exists()


@pytest.mark.parametrize("who", ["city_district_regulator", "health_regulator", "admin_user"])
def test_city_level_regulators_and_admins_manage_the_policy(client, v1, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(NEW).status_code == 200


@pytest.mark.parametrize("who", ["business_user", "inspector_user", "outsider"])
def test_other_roles_find_no_policy_pages(client, v1, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(NEW).status_code == 404
    assert client.post(NEW, form_data(v1)).status_code == 404
    assert client.post(reverse("ranking:policy-adopt", args=[1])).status_code == 404
    assert client.post("/ranking/recompute").status_code == 404


# --- adopting ------------------------------------------------------------------------------------------


def test_adopting_a_candidate_makes_it_current(client, v1, city_regulator):
    candidate = scoring.policy_create(
        actor=city_regulator, weights={**v1.weights, "visit_gap": 25}, params=v1.params, adopt=False
    )
    client.force_login(city_regulator)
    detail = client.get(reverse("ranking:policy", args=[candidate.version])).content.decode()
    assert 'id="adopt-form"' in detail
    response = client.post(reverse("ranking:policy-adopt", args=[candidate.version]))
    assert response.status_code == 302
    current = scoring.current_policy()
    assert current.version == candidate.version
    assert current.adopted_by == city_regulator
    assert AuditEvent.objects.filter(action="scoring.policy_adopt").exists()


def test_adopting_the_current_version_again_is_refused_with_a_message(client, v1, city_regulator):
    client.force_login(city_regulator)
    response = client.post(reverse("ranking:policy-adopt", args=[1]), follow=True)
    assert "This version is already the current policy." in response.content.decode()
    assert ScoringPolicy.objects.count() == 1


# --- recompute -----------------------------------------------------------------------------------------


@pytest.fixture
def enterprises(db):
    return [EnterpriseFactory() for _ in range(5)]


def test_a_recompute_runs_in_the_background_to_done(
    client, v1, enterprises, city_regulator, django_capture_on_commit_callbacks, monkeypatch
):
    # Two ids per part: the run reports its progress part by part.
    real = scoring.recompute_all
    monkeypatch.setattr(scoring, "recompute_all", lambda **kw: real(**{**kw, "chunk": 2}))
    client.force_login(city_regulator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/ranking/recompute")
    assert len(callbacks) == 1
    run = ScoreRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ranking:run", args=[run.pk])
    assert run.status == ScoreRun.Status.DONE
    assert run.total == run.done == 3  # five consecutive ids, two per part
    assert run.enterprises == 5
    assert run.policy == v1 and run.requested_by == city_regulator
    assert run.finished_at is not None and run.as_of is not None and run.error == ""
    assert EnterpriseScore.objects.filter(enterprise__in=enterprises).count() == 5
    assert AuditEvent.objects.filter(action="scoring.recompute_start", target_id=str(run.pk)).exists()
    assert AuditEvent.objects.filter(action="scoring.recompute_finish", target_id=str(run.pk)).exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-status="done"' in body
    assert "3 of 3 parts" in body
    assert 'http-equiv="refresh"' not in body


def test_a_failing_recompute_marks_the_run_failed_with_the_error(
    client, v1, enterprises, city_regulator, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(**kwargs):
        kwargs["progress"](1, 4)
        raise RuntimeError("disk full")

    monkeypatch.setattr(scoring, "recompute_all", broken)
    client.force_login(city_regulator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/ranking/recompute")
    run = ScoreRun.objects.get()
    assert run.status == ScoreRun.Status.FAILED
    assert run.error == "RuntimeError: disk full"
    assert (run.done, run.total) == (1, 4)
    assert run.finished_at is not None
    body = client.get(reverse("ranking:run", args=[run.pk])).content.decode()
    assert 'data-status="failed"' in body and "RuntimeError: disk full" in body
    # A failed run does not block the next one.
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/ranking/recompute")
    assert ScoreRun.objects.filter(status=ScoreRun.Status.DONE).count() == 1


def test_a_second_recompute_is_refused_while_one_is_under_way(client, v1, city_regulator):
    running = ScoreRun.objects.create(policy=v1, status=ScoreRun.Status.RUNNING, done=1, total=4)
    client.force_login(city_regulator)
    response = client.post("/ranking/recompute", follow=True)
    assert response.redirect_chain[-1][0] == reverse("ranking:run", args=[running.pk])
    body = response.content.decode()
    assert f"A recompute is already under way (#{running.pk})." in body
    # The page of a running recompute refreshes itself and shows its progress.
    assert 'http-equiv="refresh"' in body
    assert '<progress class="rk-progress" max="4" value="1">' in body
    assert ScoreRun.objects.count() == 1


def test_a_run_that_lost_its_worker_long_ago_no_longer_blocks(v1, city_regulator):
    stale = ScoreRun.objects.create(policy=v1, status=ScoreRun.Status.RUNNING)
    ScoreRun.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - rescoring.STALE_AFTER - rescoring.STALE_AFTER / 10
    )
    run = rescoring.score_run_start(actor=city_regulator)
    assert run.pk != stale.pk


def test_a_run_delivered_twice_runs_once(v1, enterprises):
    run = ScoreRun.objects.create(policy=v1)
    rescoring.score_run_execute(run_id=run.pk)
    finished = ScoreRun.objects.get(pk=run.pk).finished_at
    rescoring.score_run_execute(run_id=run.pk)
    assert ScoreRun.objects.get(pk=run.pk).finished_at == finished
    assert AuditEvent.objects.filter(action="scoring.recompute_finish").count() == 1
