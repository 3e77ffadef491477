"""The ranges of a scoring policy's numbers (supervision.risk.policies.validate_policy). A weight of
1e308 was adopted once: the sum of the weights overflowed and every recompute failed after it. Each
number is now finite and within a documented range, and a policy at the edges of every range
still scores."""

import copy
import json
import math
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent, District
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import EnterpriseScore, ScoringPolicy
from supervision.risk import offsite, policies, scoring
from tests.factories import EnterpriseFactory, RegulatorFactory

pytestmark = pytest.mark.django_db

AS_OF = timezone.make_aware(datetime(2026, 6, 1, 9, 0))


def refused(weights, params) -> dict:
    before = ScoringPolicy.objects.count()
    with pytest.raises(scoring.PolicyError) as raised:
        scoring.policy_create(actor=None, weights=weights, params=params)
    assert raised.value.code == "policy_invalid"
    assert ScoringPolicy.objects.count() == before
    assert not AuditEvent.objects.filter(action="scoring.policy_create").exists()
    return raised.value.details


def defaults():
    return dict(scoring.DEFAULT_WEIGHTS), copy.deepcopy(scoring.DEFAULT_PARAMS)


@pytest.mark.parametrize("huge", [1e308, 10_001])
def test_a_huge_weight_is_refused(huge):
    weights, params = defaults()
    weights["violations"] = huge
    assert refused(weights, params) == {"weights.violations": "must be at most 10000"}


def test_the_weights_add_up_to_at_most_ten_thousand():
    weights, params = defaults()
    weights.update(dict.fromkeys(weights, 2_000))
    assert refused(weights, params) == {"weights": "must add up to at most 10000"}


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("half_life_days", 1e308, "must be at most 36500"),
        ("complaint_half_life_days", 36_501, "must be at most 36500"),
        ("violations_saturation", 1e308, "must be at most 1e+06"),
        ("overdue_order_weight", 1e300, "must be at most 1000"),
        ("severity_points.critical", 1_001, "must be at most 1000"),
        ("credit.points.refusal", 1e308, "must be at most 1000"),
        ("credit.repair_days", 1e308, "must be at most 36500"),
        ("credit.thresholds.D", 1e308, "must be at most 1e+06"),
        ("tiers.3.interval_days", 1e308, "must be at most 36500"),
    ],
)
def test_a_number_beyond_its_range_is_refused(path, value, reason):
    weights, params = defaults()
    *parents, last = path.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    assert refused(weights, params)[f"params.{path}"] == reason


def test_an_off_site_number_without_a_range_of_its_own_is_bounded_too():
    base_weights, base_params = defaults()
    weights, params = offsite.example_policy(weights=base_weights, params=base_params)
    keyed = next(i for i, d in enumerate(params["offsite"]) if "saturation" in d)
    params["offsite"][keyed]["saturation"] = 1e308
    params["offsite"][keyed]["half_life_days"] = 1e300
    details = refused(weights, params)
    assert details == {
        f"params.offsite.{keyed}.saturation": "must be between -1e+06 and 1e+06",
        f"params.offsite.{keyed}.half_life_days": "must be between -1e+06 and 1e+06",
    }


def test_an_unknown_number_anywhere_in_the_parameters_is_bounded():
    weights, params = defaults()
    params["tiers"]["1"]["note"] = [1, {"far": -1e200}]
    details = refused(weights, params)
    assert details == {"params.tiers.1.note.1.far": "must be between -1e+06 and 1e+06"}


def test_json_infinity_and_nan_are_refused_by_the_api_wherever_they_are():
    """JSON as Python reads it takes 1e999 for infinity and NaN for not-a-number; a number no rule
    reads (a key of the parameters the scoring ignores) is bounded too."""
    regulator = RegulatorFactory(
        department=None, district=District.objects.get(level=District.Level.CITY)
    ).user
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(regulator)
    weights, params = defaults()
    params["spare"] = [0]
    body = json.dumps({"weights": weights, "params": params})
    body = body.replace('"scene": 10', '"scene": 1e999').replace('"spare": [0]', '"spare": [NaN]')
    response = client.post("/api/v1/scoring/policies", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["details"] == {
        "weights.scene": "must be a number",
        "params.spare.0": "must be a number",
    }
    assert ScoringPolicy.objects.count() <= 1  # version 1, made on first use, and no other


def test_a_policy_at_the_edges_of_every_range_scores():
    """Every number at its largest allowed value (and the half-lives, intervals and saturations
    at their smallest): the recompute runs and every score is a finite number from 0 to 100. On
    PostgreSQL, EXP of a thousand points over a saturation of 1 failed the statement (underflow)."""
    enterprise = EnterpriseFactory()
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise,
        source="lives",
        inspected_on=(AS_OF - timedelta(days=30)).date(),
        kind="Routine - Unscheduled",
    )
    HistoricalFinding.objects.create(inspection=inspection, severity="critical")
    weights = dict.fromkeys(scoring.FACTORS, policies.MAX_TOTAL_WEIGHT / len(scoring.FACTORS))
    params = copy.deepcopy(scoring.DEFAULT_PARAMS)
    params.update(
        half_life_days=policies.MAX_DAYS,
        complaint_half_life_days=policies.MAX_DAYS,
        violations_saturation=1,
        orders_saturation=policies.MAX_NUMBER,
        overdue_order_weight=policies.MAX_POINTS,
        verified_complaint_weight=policies.MAX_POINTS,
        self_inspection_max_age_days=policies.MAX_DAYS,
        new_licence_days=policies.MAX_DAYS,
        default_interval_days=1,
        severity_points={"minor": 0, "major": policies.MAX_POINTS, "critical": policies.MAX_POINTS},
    )
    params["credit"].update(
        repair_days=policies.MAX_DAYS,
        points=dict.fromkeys(params["credit"]["points"], policies.MAX_POINTS),
        thresholds={"B": policies.MAX_NUMBER - 2, "C": policies.MAX_NUMBER - 1, "D": policies.MAX_NUMBER},
    )
    params["tiers"]["2"]["interval_days"] = policies.MAX_DAYS
    policy = scoring.policy_create(actor=None, weights=weights, params=params)
    scoring.recompute_all(as_of=AS_OF)
    stored = EnterpriseScore.objects.get(pk=enterprise.pk)
    assert stored.policy == policy
    assert math.isfinite(stored.risk) and 0 <= stored.risk <= 100
    assert stored.risk_violations == pytest.approx(100 / len(scoring.FACTORS), rel=1e-3)


def test_a_fact_hundreds_of_half_lives_old_scores_nothing_and_breaks_nothing():
    """On PostgreSQL, EXP of an exponent under about -708 fails the statement instead of giving 0:
    one finding three years old under a half-life of one day failed the city's recompute."""
    enterprise = EnterpriseFactory()
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise,
        source="lives",
        inspected_on=(AS_OF - timedelta(days=3 * 365)).date(),
        kind="Routine - Unscheduled",
    )
    HistoricalFinding.objects.create(inspection=inspection, severity="critical")
    weights = dict.fromkeys(scoring.FACTORS, 0)
    weights["violations"] = 1
    params = copy.deepcopy(scoring.DEFAULT_PARAMS)
    params["half_life_days"] = 1
    scoring.policy_create(actor=None, weights=weights, params=params)
    scoring.recompute_all(as_of=AS_OF)
    assert EnterpriseScore.objects.get(pk=enterprise.pk).risk_violations == pytest.approx(0, abs=1e-9)
