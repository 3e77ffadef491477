"""Off-site data in the back-test and the calibration: nothing dated on or after a back-test's start
changes its result; the calibration fits categorical register values one by one and folds them into
the policy's value map; the candidate's model card (page and API) says what it learnt."""

from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from history.models import HistoricalFinding, HistoricalInspection
from supervision.risk import scoring
from supervision.risk.backtest import backtest
from supervision.risk.calibration import policy_calibrate
from tests.factories import EnterpriseFactory, InspectorFactory, MembershipFactory
from tests.supervision.risk.offsite_factories import at_metres, attribute, definition, offsite_policy, signal

pytestmark = pytest.mark.django_db

START = date(2015, 9, 1)
BEFORE = date(2015, 9, 1)
CUT = BEFORE - timedelta(days=61)
RISK_CLASS = definition(
    "register_risk", "attribute", attribute="risk_class", values={"high": 0.2, "medium": 0.2, "low": 0.9}
)
AGE = definition("licence_age", "attribute_age", attribute="licence_first_issued", days=730)
NEAR = definition(
    "near",
    "nearby",
    kind="sanitation_complaint",
    radius_m=300,
    half_life_days=60,
    window_days=365,
    saturation=5,
)
CAMERA = definition("camera", "keyed", kind="camera_alert", half_life_days=90, window_days=365, saturation=3)


def inspect(enterprise, on: date, *severities: str):
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise, source="lives", inspected_on=on, kind="Routine - Unscheduled"
    )
    for severity in severities:
        HistoricalFinding.objects.create(inspection=inspection, severity=severity)


def local(day: date, hour: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def client_for(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


# --- no look-ahead -------------------------------------------------------------------------------------


def test_offsite_data_dated_on_or_after_start_cannot_change_a_backtest():
    shops = []
    for n in range(12):
        lat, lon = at_metres(n * 150, 0)
        shop = EnterpriseFactory(latitude=f"{lat:.6f}", longitude=f"{lon:.6f}")
        inspect(shop, START - timedelta(days=200), "minor")
        inspect(shop, START + timedelta(days=n + 1), *(["critical"] if n % 3 == 0 else ["minor"]))
        attribute(shop, "risk_class", ["high", "medium", "low"][n % 3], START - timedelta(days=300))
        attribute(shop, "licence_first_issued", "2015-01-01", date(2015, 1, 1))
        signal("camera_alert", local(START - timedelta(days=10)), enterprise=shop) if n % 2 else None
        signal(
            "sanitation_complaint", local(START - timedelta(days=5)), point=(lat, lon)
        ) if n % 4 == 0 else None
        shops.append(shop)
    policy = offsite_policy(
        RISK_CLASS, AGE, NEAR, CAMERA, only=False, credit={"signal_penalty_kinds": ["penalty"]}
    )
    first = backtest(start=START, days=30, policy=policy)
    plain = backtest(start=START, days=30, policy=scoring.current_policy())
    assert first["auc"] != plain["auc"]  # the off-site data before START does count

    for n, shop in enumerate(shops):
        # On START itself (its day has not begun at midnight) and after it, every kind of data.
        attribute(shop, "risk_class", ["low", "high", "medium"][n % 3], START)
        attribute(shop, "licence_first_issued", "2015-09-01", START + timedelta(days=2))
        attribute(shop, "tobacco", "1", START)
        lat, lon = float(shop.latitude), float(shop.longitude)
        signal("sanitation_complaint", local(START), point=(lat, lon))  # exactly at midnight
        signal("sanitation_complaint", local(START, 1), point=(lat, lon))
        signal("camera_alert", local(START), enterprise=shop)
        signal("penalty", local(START + timedelta(days=3)), enterprise=shop)
    again = backtest(start=START, days=30, policy=policy)
    assert again == first


# --- calibration ---------------------------------------------------------------------------------------


@pytest.fixture
def register_history():
    """Thirty restaurants, all inspected once before the cut with nothing critical. The register's
    risk class predicts the window: 8 of 10 "high" are found critical, 4 of 10 "medium", 0 of 10
    "low"; the base policy maps the classes the wrong way round."""
    for risk, critical in (("high", 8), ("medium", 4), ("low", 0)):
        for n in range(10):
            shop = EnterpriseFactory()
            inspect(shop, CUT - timedelta(days=100), "minor")
            inspect(shop, CUT + timedelta(days=3 + n), *(["critical"] if n < critical else ["minor"]))
            attribute(shop, "risk_class", risk, date(2015, 1, 1))
    return offsite_policy(RISK_CLASS, only=False, adopt=True)


def test_calibration_fits_each_value_and_folds_them_into_the_map(register_history):
    report = policy_calibrate(actor=None, before=BEFORE, months=1, replicates=30)
    values = report.policy.params["offsite"][0]["values"]
    assert values["high"] == 1.0
    assert 0 < values["medium"] < 1
    assert values["low"] == 0  # below the business with no value: folded to 0
    # The only factor that varies here: it keeps its share of the total, the others theirs.
    assert set(report.coefficients) == {"register_risk"} and report.coefficients["register_risk"] > 0
    assert report.policy.weights == register_history.weights
    assert report.values == {"register_risk": values}
    assert sum(report.policy.weights.values()) == pytest.approx(sum(register_history.weights.values()))
    scoring.validate_policy(weights=report.policy.weights, params=report.policy.params)


def test_a_value_never_seen_maps_like_a_missing_one(register_history):
    base = offsite_policy(
        {**RISK_CLASS, "values": {**RISK_CLASS["values"], "unheard_of": 0.3}}, only=False, adopt=True
    )
    report = policy_calibrate(actor=None, before=BEFORE, months=1, base=base, replicates=10)
    definition_ = report.policy.params["offsite"][0]
    assert definition_["values"]["unheard_of"] == definition_["missing"]
    card = {f["name"]: f for f in report.model_card["factors"]}["register_risk"]
    assert {v["value"]: v["fitted"] for v in card["values"]}["unheard_of"] is False


def test_the_model_card_says_what_was_learnt_and_from_what(register_history):
    report = policy_calibrate(actor=None, before=BEFORE, months=1, replicates=30)
    card = report.policy.model_card
    assert card == report.model_card
    assert card["before"] == "2015-09-01" and card["base_version"] == register_history.version
    assert card["data"] == {
        "rows": 30,
        "critical": 12,
        "enterprises": 30,
        "first_inspection": (CUT + timedelta(days=3)).isoformat(),
        "last_inspection": (CUT + timedelta(days=12)).isoformat(),
    }
    assert card["cuts"] == {"count": 1, "first": CUT.isoformat(), "last": CUT.isoformat()}
    assert 20 <= card["bootstrap"]["replicates"] <= 30
    factors = {f["name"]: f for f in card["factors"]}
    assert list(factors)[: len(scoring.FACTORS)] == list(scoring.FACTORS)
    risk = factors["register_risk"]
    assert risk["kind"] == "attribute" and risk["nonzero_share"] == pytest.approx(1.0)
    low, high = risk["weight_interval"]
    assert low <= risk["weight"] <= high
    assert risk["positive_share"] > 0.9
    assert {v["value"]: v["nonzero_share"] for v in risk["values"]} == pytest.approx(
        {"high": 1 / 3, "medium": 1 / 3, "low": 1 / 3}, abs=1e-3
    )
    assert factors["complaints"]["constant"] is True and factors["complaints"]["coefficient"] is None


def test_the_model_card_page_shows_it_to_rankers_only(register_history, regulator_user, outsider, enterprise):
    report = policy_calibrate(actor=None, before=BEFORE, months=1, replicates=10)
    url = f"/ranking/policies/{report.policy.version}/card"
    page = client_for(regulator_user).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-factor="register_risk"' in text and 'data-values-of="register_risk"' in text
    assert 'id="card-data"' in text and "2015-09-01" in text and 'id="card-bootstrap"' in text
    detail = client_for(regulator_user).get(f"/ranking/policies/{report.policy.version}/").content.decode()
    assert url in detail
    assert url in client_for(regulator_user).get("/backtest/").content.decode()
    for user in (outsider, MembershipFactory(enterprise=enterprise).user, InspectorFactory().user):
        assert client_for(user).get(url).status_code == 404
    # A version made by hand has no card.
    assert (
        client_for(regulator_user).get(f"/ranking/policies/{register_history.version}/card").status_code
        == 404
    )


def test_the_api_gives_the_model_card_with_the_policy(register_history, regulator_user):
    report = policy_calibrate(actor=None, before=BEFORE, months=1, replicates=10)
    body = client_for(regulator_user).get(f"/api/v1/scoring/policies/{report.policy.version}").json()
    assert body["model_card"]["data"]["rows"] == 30
    hand = client_for(regulator_user).get(f"/api/v1/scoring/policies/{register_history.version}").json()
    assert hand["model_card"] is None


def test_the_calibration_reads_nearby_signals_only_before_each_cut():
    near, far = at_metres(0, 0), at_metres(3000, 0)
    for n in range(8):
        lat, lon = near if n < 4 else far
        shop = EnterpriseFactory(latitude=f"{lat:.6f}", longitude=f"{lon:.6f}")
        inspect(shop, CUT - timedelta(days=100), "minor")
        inspect(shop, CUT + timedelta(days=3 + n), *(["critical"] if n in (0, 1, 2, 5) else ["minor"]))
    signal("sanitation_complaint", local(CUT - timedelta(days=1)), point=near)
    base = offsite_policy(NEAR, only=False, adopt=True)
    first = policy_calibrate(actor=None, before=BEFORE, months=1, replicates=5)
    assert first.coefficients["near"] > 0
    # At the cut's own midnight, and after it: not before the cut, never read.
    signal("sanitation_complaint", local(CUT), point=far)
    signal("sanitation_complaint", local(CUT + timedelta(days=1)), point=far)
    second = policy_calibrate(actor=None, before=BEFORE, months=1, replicates=5, base=base)
    assert second.policy.weights == first.policy.weights
    assert second.coefficients == first.coefficients


def test_the_fold_keeps_what_the_values_say_against_each_other():
    """Three values below the enterprises with none (a noisy few): clamping each at 0 would lose
    that "high" is far riskier than "low"; the fold keeps it, and says where "none" stands."""
    import numpy as np

    from supervision.risk.calibration import design
    from supervision.risk.fitting import fold

    base = offsite_policy(
        RISK_CLASS, definition("tobacco", "attribute", attribute="tobacco", values={"1": 1}), only=False
    )
    _expanded, columns = design(base)
    index = {(c.factor, c.value): i for i, c in enumerate(columns)}
    coefficients = {
        ("violations", None): 1.0,
        ("register_risk", "high"): -0.02,
        ("register_risk", "medium"): -0.55,
        ("register_risk", "low"): -0.62,
        ("tobacco", "1"): -0.3,
    }
    varying = sorted(index[key] for key in coefficients)
    beta = np.array([coefficients[next(k for k, i in index.items() if i == v)] for v in varying])
    folded = fold(columns=columns, varying=varying, beta=beta, base=base)
    assert folded.coefficients["register_risk"] == pytest.approx(0.62)
    assert folded.values["register_risk"] == pytest.approx(
        {"high": 0.9677, "medium": 0.1129, "low": 0.0}, abs=1e-4
    )
    assert folded.missing["register_risk"] == pytest.approx(1.0)
    # A flag: its one coefficient, negative, is the factor's (clamped to 0 by the weights).
    assert folded.coefficients["tobacco"] == pytest.approx(-0.3) and "tobacco" not in folded.values
    assert set(folded.constant) >= {"scene", "orders", "visit_gap"}
