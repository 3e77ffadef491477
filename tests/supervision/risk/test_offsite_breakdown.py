"""Off-site factors where regulators read scores: the breakdown page and API list them like every
other factor, with the enterprise's recent signals and register facts, for those who may open the
breakdown only; the ranking's bars, legend and exports include them."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from supervision.risk import scoring
from tests.factories import InspectorFactory, MembershipFactory
from tests.supervision.risk.offsite_factories import (
    attribute,
    data_source,
    definition,
    offsite_policy,
    signal,
)

pytestmark = pytest.mark.django_db

RISK_CLASS = definition("register_risk", "attribute", attribute="risk_class", values={"high": 1, "low": 0})
CAMERA = definition(
    "camera_alerts", "keyed", kind="camera_alert", half_life_days=90, window_days=365, saturation=3
)


def client_for(user, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


@pytest.fixture
def scored(enterprise, time_machine):
    """``enterprise`` (Chaoyang catering) scored under a current policy with two off-site factors,
    with a register fact, an older replaced one, a keyed camera alert and a note from a sensor."""
    now = timezone.make_aware(datetime(2026, 6, 1, 10, 0))
    time_machine.move_to(now, tick=False)
    register = data_source("health_register")
    attribute(enterprise, "risk_class", "low", date(2024, 1, 1), source=register)
    attribute(enterprise, "risk_class", "high", date(2025, 1, 1), source=register)
    attribute(enterprise, "risk_class", "low", date(2026, 9, 1), source=register)  # not yet valid
    signal("camera_alert", now - timedelta(days=3), enterprise=enterprise, source=data_source("kitchen_cams"))
    policy = offsite_policy(RISK_CLASS, CAMERA, only=False, adopt=True)
    scoring.recompute_all(policy=policy)
    return enterprise


def test_the_breakdown_lists_offsite_factors_signals_and_register_facts(scored, regulator_user):
    response = client_for(regulator_user).get(f"/ranking/enterprises/{scored.uscc}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-factor="register_risk"' in text and "register_risk (English)" in text
    assert 'data-factor="camera_alerts"' in text
    assert 'class="f-offsite"' in text
    assert 'id="register-facts"' in text and 'data-name="risk_class"' in text
    assert (
        "2025-01-01" in text and "2026-09-01" not in text
    )  # today's value, not the replaced nor the future one
    assert 'id="signals"' in text and "camera_alert" in text and "kitchen_cams" in text


def test_the_breakdown_labels_offsite_factors_in_the_readers_language(scored, regulator_user):
    text = client_for(regulator_user, "zh-hans").get(f"/ranking/enterprises/{scored.uscc}/").content.decode()
    assert "register_risk（中文）" in text


def test_the_api_breakdown_has_the_same(scored, regulator_user):
    response = client_for(regulator_user).get(f"/api/v1/ranking/{scored.uscc}")
    assert response.status_code == 200
    body = response.json()
    factors = {row["factor"]: row for row in body["factors"]}
    assert factors["register_risk"]["kind"] == "attribute" and factors["register_risk"][
        "value"
    ] == pytest.approx(1)
    assert factors["camera_alerts"]["points"] > 0 and factors["scene"]["kind"] == "builtin"
    assert sum(row["points"] for row in body["factors"]) == pytest.approx(body["score"]["risk"], abs=1e-3)
    assert body["score"]["offsite_points"] == pytest.approx(
        factors["register_risk"]["points"] + factors["camera_alerts"]["points"], abs=1e-3
    )
    assert [(f["name"], f["value"], f["valid_from"], f["source"]) for f in body["register_facts"]] == [
        ("risk_class", "high", "2025-01-01", "health_register")
    ]
    assert [(s["kind"], s["source"]) for s in body["signals"]] == [("camera_alert", "kitchen_cams")]


@pytest.mark.parametrize("who", ["outsider", "business", "inspector"])
def test_nobody_else_sees_the_breakdown_or_its_signals(scored, who, outsider):
    user = {
        "outsider": lambda: outsider,
        "business": lambda: MembershipFactory(enterprise=scored).user,
        "inspector": lambda: InspectorFactory().user,
    }[who]()
    assert client_for(user).get(f"/ranking/enterprises/{scored.uscc}/").status_code == 404
    assert client_for(user).get(f"/api/v1/ranking/{scored.uscc}").status_code == 403


def test_a_regulator_outside_the_scope_gets_404(scored):
    from core.models import District
    from tests.factories import RegulatorFactory

    haidian = RegulatorFactory(district=District.objects.get(code="110108")).user
    assert client_for(haidian).get(f"/ranking/enterprises/{scored.uscc}/").status_code == 404
    assert client_for(haidian).get(f"/api/v1/ranking/{scored.uscc}").status_code == 404


def test_the_ranking_draws_offsite_points_and_exports_a_column_each(scored, regulator_user):
    client = client_for(regulator_user)
    page = client.get("/ranking/").content.decode()
    assert 'class="f-offsite"' in page and 'id="offsite-why"' in page
    export = client.get("/ranking/?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    header, first = rows[0], rows[1]
    assert "register_risk (English)" in header and "camera_alerts (English)" in header
    assert "Other departments' data (points)" in header
    total = float(first[header.index("Other departments' data (points)")])
    parts = float(first[header.index("register_risk (English)")]) + float(
        first[header.index("camera_alerts (English)")]
    )
    assert total == pytest.approx(parts, abs=0.02) and total > 0


def test_the_api_ranking_lists_offsite_points_by_name(scored, regulator_user):
    item = client_for(regulator_user).get("/api/v1/ranking").json()["items"][0]
    assert list(item["factors"])[-2:] == ["register_risk", "camera_alerts"]
    assert item["offsite_points"] == pytest.approx(
        item["factors"]["register_risk"] + item["factors"]["camera_alerts"], abs=1e-3
    )


def test_the_business_sees_its_offsite_points_among_its_reasons_but_no_signals(scored):
    from supervision.risk.selectors import score_explain

    explanation = score_explain(enterprise=scored, facts=False)
    assert "register_risk" in [row.name for row in explanation.factors]
    assert explanation.signals == [] and explanation.register_facts == []


NEARBY = definition(
    "nearby_sanitation",
    "nearby",
    kind="sanitation_complaint",
    radius_m=300,
    distance_decay_m=200,
    window_days=90,
    half_life_days=60,
    saturation=5,
)


@pytest.fixture
def street(enterprise, time_machine):
    """``enterprise`` at a point, scored under a policy with a nearby factor, with hotline
    complaints around it: two inside the radius and the window, and four that must not count."""
    now = timezone.make_aware(datetime(2026, 6, 1, 0, 30))  # just after midnight, local time
    time_machine.move_to(now, tick=False)
    enterprise.latitude, enterprise.longitude = 39.9, 116.4
    enterprise.save(update_fields=["latitude", "longitude"])
    metres = 1 / 111_195  # degrees of latitude per metre
    east = metres / 0.7661  # and of longitude at 39.9° N
    signal("sanitation_complaint", now - timedelta(days=2), point=(39.9 + 100 * metres, 116.4))
    signal("sanitation_complaint", now - timedelta(days=30), point=(39.9, 116.4 + 250 * east))
    signal("sanitation_complaint", now - timedelta(days=1), point=(39.9 + 400 * metres, 116.4))  # too far
    signal("sanitation_complaint", now - timedelta(days=91), point=(39.9, 116.4))  # before the window
    signal("sanitation_complaint", now + timedelta(minutes=1), point=(39.9, 116.4))  # not yet
    signal("rodent_complaint", now - timedelta(days=1), point=(39.9, 116.4))  # another kind
    policy = offsite_policy(NEARBY, only=False, adopt=True)
    scoring.recompute_all(policy=policy)
    return enterprise


def test_the_breakdown_lists_the_nearby_signals_its_factor_counts(street, regulator_user):
    body = client_for(regulator_user).get(f"/api/v1/ranking/{street.uscc}").json()

    [group] = body["nearby"]
    assert (group["factor"], group["kind"], group["radius_m"], group["window_days"]) == (
        "nearby_sanitation",
        "sanitation_complaint",
        300,
        90,
    )
    assert group["count"] == 2
    assert [round(near["distance_m"] / 10) * 10 for near in group["newest"]] == [100, 250]  # newest first
    assert {row["factor"]: row["points"] for row in body["factors"]}["nearby_sanitation"] > 0

    text = client_for(regulator_user).get(f"/ranking/enterprises/{street.uscc}/").content.decode()
    assert 'id="nearby-nearby_sanitation"' in text
    assert "2 signals of kind sanitation_complaint within 300 m in the last 90 days." in text
    assert "100 m away" in text and "250 m away" in text and "400 m away" not in text


def test_an_enterprise_without_a_point_lists_no_nearby_signals(street, regulator_user):
    street.latitude = street.longitude = None
    street.save(update_fields=["latitude", "longitude"])

    body = client_for(regulator_user).get(f"/api/v1/ranking/{street.uscc}").json()

    assert body["nearby"] == []


def test_a_factor_label_is_escaped_in_the_rankings_bars(enterprise, regulator_user, time_machine):
    """A regulator names an off-site factor; the name is text, not markup, wherever it is drawn."""
    time_machine.move_to(timezone.make_aware(datetime(2026, 6, 1, 10, 0)), tick=False)
    attribute(enterprise, "risk_class", "high", date(2025, 1, 1), source=data_source("health_register"))
    named = {**RISK_CLASS, "label": {"zh": "<b>登记</b>", "en": '<img src=x onerror="alert(1)">'}}
    scoring.recompute_all(policy=offsite_policy(named, only=False, adopt=True))
    page = client_for(regulator_user).get("/ranking/").content.decode()
    assert "<title>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;: " in page
    assert "<img src=x" not in page
