"""Off-site factors in the scoring policy: every way a definition can be wrong (all named at once),
the example set and the three ways to adopt it (page, API, command), and the policy form and page
with off-site factors."""

import copy
import io
import json
import math

import pytest
from django.core.management import call_command
from django.test import Client

from supervision.models import ScoringPolicy
from supervision.risk import offsite, scoring
from tests.supervision.risk.offsite_factories import definition, offsite_policy

pytestmark = pytest.mark.django_db

NEAR = definition(
    "near",
    "nearby",
    kind="sanitation_complaint",
    radius_m=300,
    half_life_days=60,
    window_days=365,
    saturation=5,
    distance_decay_m=150,
)


def problems(definitions, *, weights=None, credit=None) -> dict:
    params = copy.deepcopy(scoring.DEFAULT_PARAMS)
    params["offsite"] = definitions
    if credit is not None:
        params["credit"]["signal_penalty_kinds"] = credit
    if weights is None:
        weights = {
            d["name"]: 1 for d in definitions if isinstance(d, dict) and isinstance(d.get("name"), str)
        }
    with pytest.raises(scoring.PolicyError) as refused:
        scoring.validate_policy(weights={**scoring.DEFAULT_WEIGHTS, **weights}, params=params)
    assert refused.value.code == "policy_invalid"
    return refused.value.details


def client_for(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


# --- validation ----------------------------------------------------------------------------------------


def test_every_kind_of_definition_is_validated_and_every_problem_named_at_once():
    details = problems(
        [
            definition("mystery", "crystal_ball"),
            definition(
                "Bad-Name", "keyed", kind="camera_alert", half_life_days=1, window_days=1, saturation=1
            ),
            definition("violations", "attribute", attribute="risk_class", values={"high": 1}),
            {**NEAR, "radius_m": 0},
            {**NEAR, "name": "near2", "half_life_days": math.nan, "distance_decay_m": -5},
            {**NEAR},  # a second "near"
            definition("rc", "attribute", attribute="Risk Class", values={"high": 2, "low": -1}),
            definition("age", "attribute_age", attribute="licence_first_issued"),
            {**NEAR, "name": "near3", "radius": 300},
            {"name": "unlabelled", "type": "keyed"},
            "not an object",
        ],
        weights={"mystery": 1, "violations": 1, "near": 1, "near2": 1, "rc": 1, "age": 1, "near3": 1},
        credit=["Penalty!"],
    )
    assert details["params.offsite.0.type"] == "unknown type"
    assert details["params.offsite.1.name"].startswith("must be lower-case letters")
    assert details["params.offsite.2.name"] == "is a built-in factor"
    assert details["params.offsite.3.radius_m"] == "must be at least 10 and at most 5000"
    assert details["params.offsite.4.half_life_days"] == "must be a number"
    assert details["params.offsite.4.distance_decay_m"] == "must be at least 1"
    assert details["params.offsite.5.name"] == "duplicate name"
    assert details["params.offsite.6.attribute"].startswith("must be lower-case letters")
    assert details["params.offsite.6.values.high"] == "must be a number from 0 to 1"
    assert details["params.offsite.6.values.low"] == "must be a number from 0 to 1"
    assert details["params.offsite.7.days"] == "missing"
    assert details["params.offsite.8.radius"] == "unknown key"
    assert details["params.offsite.9.label"] == "needs zh and en, 1 to 100 characters each"
    assert details["params.offsite.9.kind"] == "missing"
    assert details["params.offsite.10"] == "not an object"
    assert details["weights.unlabelled"] == "missing"
    assert details["params.credit.signal_penalty_kinds"] == "must be a list of signal kinds"


def test_a_declared_factor_needs_a_weight_and_an_undeclared_weight_is_unknown():
    details = problems([NEAR], weights={"elsewhere": 3})
    assert details == {"weights.near": "missing", "weights.elsewhere": "unknown factor"}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (math.nan, "must be a number"),
        (math.inf, "must be a number"),
        (-1, "must be at least 0"),
        (True, "must be a number"),
        ("5", "must be a number"),
    ],
)
def test_an_offsite_weight_is_a_number_of_zero_or_more(bad, reason):
    assert problems([NEAR], weights={"near": bad}) == {"weights.near": reason}


def test_offsite_must_be_a_list():
    details = problems({"near": NEAR}, weights={})  # type: ignore[arg-type]
    assert details == {"params.offsite": "must be a list of factor definitions"}


def test_version_one_declares_no_offsite_factor_and_the_example_is_valid():
    assert "offsite" not in scoring.DEFAULT_PARAMS
    assert scoring.current_policy().weights == scoring.DEFAULT_WEIGHTS
    weights, params = offsite.example_policy(weights=scoring.DEFAULT_WEIGHTS, params=scoring.DEFAULT_PARAMS)
    scoring.validate_policy(weights=weights, params=params)
    assert offsite.names(params) == [d["name"] for d in offsite.EXAMPLE_OFFSITE]
    assert {d["attribute"] for d in offsite.EXAMPLE_OFFSITE if "attribute" in d} >= {
        "risk_class",
        "tobacco",
        "consumption_on_premises_incidental_activity",
        "licence_first_issued",
    }


def test_a_new_version_keeps_the_weights_of_its_offsite_factors_in_order():
    policy = offsite_policy(NEAR, only=False, near=4)
    assert list(policy.weights) == [*scoring.FACTORS, "near"]
    assert policy.weights["near"] == 4


# --- the example, three ways ---------------------------------------------------------------------------


def test_the_command_adds_the_example_as_a_candidate_or_adopts_it():
    out = io.StringIO()
    call_command("policy_offsite_example", stdout=out)
    candidate = ScoringPolicy.objects.order_by("-version").first()
    assert candidate.adopted_at is None
    assert offsite.names(candidate.params) == [d["name"] for d in offsite.EXAMPLE_OFFSITE]
    assert f"v{candidate.version} (candidate, not adopted)" in out.getvalue()
    call_command("policy_offsite_example", "--adopt", stdout=io.StringIO())
    assert offsite.names(scoring.current_policy().params) == offsite.names(candidate.params)
    printed = io.StringIO()
    call_command("policy_offsite_example", "--print", stdout=printed)
    assert json.loads(printed.getvalue())["weights"] == offsite.EXAMPLE_WEIGHTS


def test_adding_the_example_twice_keeps_one_of_each():
    first = scoring.policy_offsite_example(actor=None, adopt=True)
    second = scoring.policy_offsite_example(actor=None, base=first)
    assert offsite.names(second.params) == offsite.names(first.params)


def test_managers_add_the_example_from_the_policy_page(regulator_user):
    response = client_for(regulator_user).post("/ranking/policies/offsite-example")
    candidate = ScoringPolicy.objects.order_by("-version").first()
    assert response.status_code == 302 and response["Location"] == f"/ranking/policies/{candidate.version}/"
    assert candidate.adopted_at is None and offsite.names(candidate.params)
    assert candidate.created_by == regulator_user


def test_the_example_is_refused_to_those_who_do_not_manage_scoring(chaoyang_regulator, outsider):
    assert client_for(chaoyang_regulator).post("/ranking/policies/offsite-example").status_code == 403
    assert client_for(outsider).post("/ranking/policies/offsite-example").status_code == 404
    assert ScoringPolicy.objects.count() <= 1


def test_the_api_shows_and_adds_the_example(regulator_user, chaoyang_regulator):
    shown = client_for(chaoyang_regulator).get("/api/v1/scoring/offsite-example")
    assert shown.status_code == 200 and shown.json()["weights"] == offsite.EXAMPLE_WEIGHTS
    assert client_for(chaoyang_regulator).post("/api/v1/scoring/offsite-example").status_code == 403
    created = client_for(regulator_user).post("/api/v1/scoring/offsite-example")
    assert created.status_code == 201
    body = created.json()
    assert body["is_current"] is False and body["model_card"] is None
    assert [d["name"] for d in body["params"]["offsite"]] == offsite.names(body["params"])


def test_the_api_refuses_a_bad_definition_with_every_problem(regulator_user):
    params = copy.deepcopy(scoring.DEFAULT_PARAMS)
    params["offsite"] = [{**NEAR, "radius_m": -1}, {**NEAR, "type": "nope"}]
    response = client_for(regulator_user).post(
        "/api/v1/scoring/policies",
        {"weights": {**scoring.DEFAULT_WEIGHTS, "near": 1}, "params": params},
        content_type="application/json",
    )
    assert response.status_code == 400
    details = response.json()["details"]
    assert details["params.offsite.0.radius_m"] == "must be at least 10 and at most 5000"
    assert details["params.offsite.1.type"] == "unknown type"
    assert details["params.offsite.1.name"] == "duplicate name"


# --- the form and the page -----------------------------------------------------------------------------


def form_data(policy: ScoringPolicy, **changes) -> dict:
    data = {
        "from": str(policy.version),
        "note": "",
        "params.offsite": json.dumps(policy.params.get("offsite", [])),
    }
    for factor, weight in policy.weights.items():
        data[f"weights.{factor}"] = str(weight)

    def flatten(prefix, node):
        for key, value in node.items():
            if isinstance(value, dict):
                flatten(f"{prefix}{key}.", value)
            elif not isinstance(value, list):
                data[f"{prefix}{key}"] = "" if value is None else str(value)

    flatten("params.", policy.params)
    data.update(changes)
    return data


def test_the_form_adds_an_offsite_factor_after_asking_for_its_weight(regulator_user):
    client = client_for(regulator_user)
    v1 = scoring.current_policy()
    typed = json.dumps([NEAR])
    first = client.post("/ranking/policies/new", form_data(v1, **{"params.offsite": typed}))
    assert first.status_code == 400
    assert b'name="weights.near"' in first.content  # now it has an input
    assert b"weights.near" in first.content  # and the missing weight is named
    second = client.post(
        "/ranking/policies/new", form_data(v1, **{"params.offsite": typed, "weights.near": "7"})
    )
    assert second.status_code == 302
    created = ScoringPolicy.objects.order_by("-version").first()
    assert created.params["offsite"] == [NEAR] and created.weights["near"] == 7


def test_the_form_names_the_problems_of_each_definition(regulator_user):
    client = client_for(regulator_user)
    v1 = scoring.current_policy()
    broken = json.dumps([{**NEAR, "radius_m": 0}])
    response = client.post(
        "/ranking/policies/new", form_data(v1, **{"params.offsite": broken, "weights.near": "1"})
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Factor 1" in text and "radius_m" in text and "From 10 to 5000." in text
    garbled = client.post("/ranking/policies/new", form_data(v1, **{"params.offsite": "[{"}))
    assert garbled.status_code == 400
    assert "Must be a JSON list of factor definitions." in garbled.content.decode()


def test_removing_the_definitions_removes_the_factors(regulator_user):
    with_near = offsite_policy(NEAR, only=False, adopt=True)
    client = client_for(regulator_user)
    response = client.post("/ranking/policies/new", form_data(with_near, **{"params.offsite": ""}))
    assert response.status_code == 302
    created = ScoringPolicy.objects.order_by("-version").first()
    assert "offsite" not in created.params and "near" not in created.weights


def test_the_policy_page_lists_the_offsite_factors(chaoyang_regulator):
    policy = offsite_policy(NEAR, only=False, credit={"signal_penalty_kinds": ["penalty"]})
    response = client_for(chaoyang_regulator).get(f"/ranking/policies/{policy.version}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="offsite-factors"' in text and "near (English)" in text and "sanitation_complaint" in text
    assert 'id="penalty-kinds"' in text
