"""The off-site factors' values on hand-made data: register values as of a moment, licence age,
signals nearby (radius, distance and time decay, window, the grid's cell borders), the enterprise's
own signals, another bureau's penalties in the credit rating, and the stored scores."""

import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core import reference
from core.models import Department, District, Scene
from supervision.models import EnterpriseScore
from supervision.risk import offsite_sql, scoring
from tests.factories import EnterpriseFactory
from tests.supervision.risk.offsite_factories import (
    ORIGIN,
    at_metres,
    attribute,
    definition,
    offsite_policy,
    signal,
)

BEIJING = ZoneInfo("Asia/Shanghai")
AS_OF = timezone.make_aware(datetime(2026, 6, 1, 9, 0))
RISK_CLASS = definition("risk_class", "attribute", attribute="risk_class", values={"high": 1, "medium": 0.5})
TOBACCO = definition("tobacco", "attribute", attribute="tobacco", values={"1": 1.0})
AGE = definition("licence_age", "attribute_age", attribute="licence_first_issued", days=730)


def nearby(**fields) -> dict:
    fields = {
        "kind": "sanitation_complaint",
        "radius_m": 300,
        "half_life_days": 60,
        "window_days": 365,
        "saturation": 5,
        "distance_decay_m": None,
        **fields,
    }
    return definition("nearby_sanitation", "nearby", **fields)


def keyed(**fields) -> dict:
    fields = {"kind": "camera_alert", "half_life_days": 90, "window_days": 365, "saturation": 3, **fields}
    return definition("camera_alerts", "keyed", **fields)


def feature(enterprise, policy, name: str, as_of=AS_OF) -> float:
    rows = scoring.feature_rows(policy=policy, as_of=as_of, scope=scoring.Scope(ids=(enterprise.pk,)))
    return rows[0][f"x_{name}"]


def saturated(points: float, saturation: float) -> float:
    return 1 - math.exp(-points / saturation)


def decay(days: float, half_life: float) -> float:
    return 0.5 ** (days / half_life)


def located(lat: float, lon: float):
    return EnterpriseFactory(latitude=Decimal(f"{lat:.6f}"), longitude=Decimal(f"{lon:.6f}"))


# --- register values ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_attribute_maps_the_latest_value_begun_before_as_of():
    enterprise = EnterpriseFactory()
    attribute(enterprise, "risk_class", "high", date(2025, 1, 1))
    attribute(enterprise, "risk_class", "medium", date(2026, 3, 1))  # replaces it
    attribute(enterprise, "risk_class", "high", date(2026, 7, 1))  # not yet valid
    policy = offsite_policy(RISK_CLASS)
    assert feature(enterprise, policy, "risk_class", as_of=timezone.make_aware(datetime(2024, 12, 31))) == 0
    assert feature(enterprise, policy, "risk_class", as_of=timezone.make_aware(datetime(2025, 6, 1))) == 1
    assert feature(enterprise, policy, "risk_class") == 0.5


@pytest.mark.django_db
def test_a_value_missing_from_the_map_or_another_attribute_counts_zero():
    unmapped, other = EnterpriseFactory(), EnterpriseFactory()
    attribute(unmapped, "risk_class", "low", date(2025, 1, 1))
    attribute(other, "facility_type", "high", date(2025, 1, 1))
    policy = offsite_policy(RISK_CLASS)
    assert feature(unmapped, policy, "risk_class") == 0
    assert feature(other, policy, "risk_class") == 0


@pytest.mark.django_db
def test_a_flag_counts_while_it_is_one():
    enterprise = EnterpriseFactory()
    attribute(enterprise, "tobacco", "1", date(2025, 1, 1))
    attribute(enterprise, "tobacco", "0", date(2026, 2, 1))
    policy = offsite_policy(TOBACCO)
    assert feature(enterprise, policy, "tobacco", as_of=timezone.make_aware(datetime(2026, 1, 1))) == 1
    assert feature(enterprise, policy, "tobacco") == 0


@pytest.mark.django_db
def test_the_latest_value_wins_whichever_register_sent_it():
    from tests.supervision.risk.offsite_factories import data_source

    enterprise = EnterpriseFactory()
    attribute(enterprise, "risk_class", "high", date(2025, 1, 1), source=data_source("health_register"))
    attribute(enterprise, "risk_class", "medium", date(2025, 6, 1), source=data_source("licence_register"))
    assert feature(enterprise, offsite_policy(RISK_CLASS), "risk_class") == 0.5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moment", "counts"),
    [
        (datetime(2026, 3, 9, 23, 30, tzinfo=BEIJING), False),  # 15:30 UTC on the 9th: the 10th not begun
        (datetime(2026, 3, 10, 0, 30, tzinfo=BEIJING), True),  # 16:30 UTC on the 9th: the 10th has begun
        (datetime(2026, 3, 10, 0, 0, tzinfo=BEIJING), False),  # midnight: a back-test's START
        (datetime(2026, 3, 9, 23, 30, tzinfo=UTC), True),  # 07:30 on the 10th in Beijing
    ],
    ids=lambda value: value.strftime("%H:%M%z") if isinstance(value, datetime) else str(value),
)
def test_a_register_value_counts_once_its_local_day_has_begun(time_machine, moment, counts):
    time_machine.move_to(moment, tick=False)
    enterprise = EnterpriseFactory()
    attribute(enterprise, "risk_class", "high", date(2026, 3, 10))
    policy = offsite_policy(RISK_CLASS, adopt=True)
    scoring.recompute_enterprise(enterprise_id=enterprise.pk, policy=policy)
    score = EnterpriseScore.objects.get(enterprise=enterprise)
    # Only the factors that give points are stored.
    assert score.offsite == ({"risk_class": 100.0} if counts else {})
    assert feature(enterprise, policy, "risk_class", as_of=timezone.now()) == (1 if counts else 0)


@pytest.mark.django_db
@pytest.mark.parametrize("written", ["2025-06-01", "20250601"])
def test_a_young_licence_is_risky_and_the_risk_fades_over_the_days(written):
    enterprise = EnterpriseFactory()
    attribute(enterprise, "licence_first_issued", written, date(2025, 6, 1))
    age_days = (AS_OF - timezone.make_aware(datetime(2025, 6, 1))).total_seconds() / 86400
    assert feature(enterprise, offsite_policy(AGE), "licence_age") == pytest.approx(1 - age_days / 730)


@pytest.mark.django_db
def test_licence_age_is_zero_when_old_missing_or_not_a_date_and_one_when_issued_later():
    old, missing, garbled, impossible, later = (EnterpriseFactory() for _ in range(5))
    attribute(old, "licence_first_issued", "2020-01-01", date(2020, 1, 1))
    attribute(garbled, "licence_first_issued", "first of May", date(2025, 1, 1))
    attribute(impossible, "licence_first_issued", "2025-13-01", date(2025, 1, 1))
    # Registered before as_of, about a licence issued after it: as young as it gets.
    attribute(later, "licence_first_issued", "2026-07-01", date(2026, 5, 1))
    policy = offsite_policy(AGE)
    assert [feature(e, policy, "licence_age") for e in (old, missing, garbled, impossible)] == [0, 0, 0, 0]
    assert feature(later, policy, "licence_age") == 1


# --- signals nearby ----------------------------------------------------------------------------------


def grid_of(definition_: dict) -> offsite_sql.Grid:
    return offsite_sql.grid(definition_, round(ORIGIN[0], 1))


def cell_point(
    g: offsite_sql.Grid, dy: int, dx: int, fy: float = 0.5, fx: float = 0.5
) -> tuple[float, float]:
    """A point at (fy, fx) of the cell dy rows north and dx columns east of ORIGIN's cell."""
    cy = math.floor((ORIGIN[0] + 90) / g.dlat) + dy
    cx = math.floor((ORIGIN[1] + 180) / g.dlon) + dx
    return (cy + fy) * g.dlat - 90, (cx + fx) * g.dlon - 180


@pytest.mark.django_db
def test_nearby_counts_signals_whose_cell_centre_lies_within_the_radius():
    d = nearby()
    g = grid_of(d)
    assert g.cell_m == 75
    enterprise = located(*cell_point(g, 0, 0))
    day = AS_OF - timedelta(days=10)
    for dy, dx in [(0, 4), (-4, 0), (2, 3)]:  # 300, 300 and 270 m: within the radius
        signal("sanitation_complaint", day, point=cell_point(g, dy, dx))
    for dy, dx in [(0, 5), (3, 3), (-4, -2)]:  # 375, 318 and 335 m: outside
        signal("sanitation_complaint", day, point=cell_point(g, dy, dx))
    signal("rat_sighting", day, point=cell_point(g, 0, 0))  # another kind
    x = feature(enterprise, offsite_policy(d), "nearby_sanitation")
    assert x == pytest.approx(saturated(3 * decay(10, 60), 5))


@pytest.mark.django_db
def test_nearby_signals_weigh_less_with_distance_and_age_and_not_at_all_after_the_window():
    d = nearby(distance_decay_m=75, half_life_days=30, window_days=100)
    g = grid_of(d)
    enterprise = located(*cell_point(g, 0, 0))
    signal("sanitation_complaint", AS_OF - timedelta(days=30), point=cell_point(g, 0, 0))  # 0 m, 1 half-life
    signal("sanitation_complaint", AS_OF - timedelta(days=1), point=cell_point(g, 0, 2))  # 150 m: 1/4
    signal("sanitation_complaint", AS_OF - timedelta(days=99), point=cell_point(g, 1, 0))  # in the window
    signal("sanitation_complaint", AS_OF - timedelta(days=101), point=cell_point(g, 0, 0))  # before it
    signal("sanitation_complaint", AS_OF + timedelta(minutes=1), point=cell_point(g, 0, 0))  # after as_of
    expected = decay(30, 30) + 0.25 * decay(1, 30) + 0.5 * decay(99, 30)
    assert feature(enterprise, offsite_policy(d), "nearby_sanitation") == pytest.approx(
        saturated(expected, 5)
    )


@pytest.mark.django_db
def test_a_signal_across_a_cell_border_is_one_cell_away_however_close():
    """The grid measures between cell centres: 75 cm apart, across the border, is 75 m."""
    d = nearby(distance_decay_m=75)
    g = grid_of(d)
    enterprise = located(*cell_point(g, 0, 0, fx=0.995))
    signal("sanitation_complaint", AS_OF - timedelta(days=60), point=cell_point(g, 0, 1, fx=0.005))
    assert feature(enterprise, offsite_policy(d), "nearby_sanitation") == pytest.approx(
        saturated(0.5 * 0.5, 5)
    )


@pytest.mark.django_db
def test_near_the_radius_the_cell_decides_within_a_cell_diagonal():
    d = nearby()
    g = grid_of(d)
    policy = offsite_policy(d)
    day = AS_OF - timedelta(days=60)
    # 30 m west of its cell's centre: a signal 320 m east (outside the radius) lands 290 m east of
    # that centre, in the cell whose centre is 300 m away, and counts.
    west = located(*cell_point(g, 0, 0, fx=0.1))
    signal(
        "sanitation_complaint",
        day,
        point=at_metres(0, 320, origin=(float(west.latitude), float(west.longitude))),
    )
    assert feature(west, policy, "nearby_sanitation") == pytest.approx(saturated(0.5, 5))
    # Near the south-west corner of its cell: a signal 216 m south-west (inside the radius) lands in
    # the cell (-3, -3), whose centre is 318 m away, and does not count.
    corner = located(*cell_point(g, 20, 20, fy=0.02, fx=0.02))
    signal("sanitation_complaint", day, point=cell_point(g, 17, 17, fy=0.98, fx=0.98))
    assert feature(corner, policy, "nearby_sanitation") == 0


@pytest.mark.django_db
def test_the_grid_agrees_with_exact_distances_away_from_the_radius():
    d = nearby(half_life_days=10_000)
    g = grid_of(d)
    enterprise = located(*ORIGIN)
    rng = random.Random(7)
    clear = 0
    for _ in range(60):
        north, east = rng.uniform(-450, 450), rng.uniform(-450, 450)
        distance = math.hypot(north, east)
        if abs(distance - 300) > g.cell_m * math.sqrt(2):
            clear += distance < 300
            signal("sanitation_complaint", AS_OF - timedelta(days=1), point=at_metres(north, east))
    x = feature(enterprise, offsite_policy(d), "nearby_sanitation")
    assert -5 * math.log(1 - x) == pytest.approx(clear * decay(1, 10_000))


@pytest.mark.django_db
def test_an_enterprise_without_coordinates_has_nothing_nearby():
    d = nearby()
    g = grid_of(d)
    located(*cell_point(g, 0, 0))  # gives the grid its reference latitude
    nowhere = EnterpriseFactory()
    signal("sanitation_complaint", AS_OF - timedelta(days=1), point=cell_point(g, 0, 0))
    assert feature(nowhere, offsite_policy(d), "nearby_sanitation") == 0


# --- the enterprise's own signals --------------------------------------------------------------------


@pytest.mark.django_db
def test_keyed_signals_count_for_their_enterprise_decaying_within_the_window():
    enterprise, other = EnterpriseFactory(), EnterpriseFactory()
    signal("camera_alert", AS_OF - timedelta(days=90), enterprise=enterprise)
    signal("camera_alert", AS_OF - timedelta(days=400), enterprise=enterprise)  # before the window
    signal("sensor_excursion", AS_OF - timedelta(days=1), enterprise=enterprise)  # another kind
    signal("camera_alert", AS_OF - timedelta(days=1), enterprise=other)
    policy = offsite_policy(keyed())
    assert feature(enterprise, policy, "camera_alerts") == pytest.approx(saturated(0.5, 3))


@pytest.mark.django_db
def test_keyed_signals_count_their_value_when_the_policy_says_so():
    enterprise = EnterpriseFactory()
    day = AS_OF - timedelta(days=90)
    signal("temperature_excursion", day, enterprise=enterprise, value=4.0)
    signal("temperature_excursion", day, enterprise=enterprise, value=-2.0)  # counts 0
    signal("temperature_excursion", day, enterprise=enterprise)  # no value: counts 1
    d = keyed(kind="temperature_excursion", use_value=True, saturation=10)
    assert feature(enterprise, offsite_policy(d), "camera_alerts") == pytest.approx(saturated(5 * 0.5, 10))


@pytest.mark.django_db
def test_another_bureaus_penalties_count_in_the_credit_rating_within_the_repair_period():
    enterprise = EnterpriseFactory()
    signal("penalty", AS_OF - timedelta(days=30), enterprise=enterprise)
    signal("penalty", AS_OF - timedelta(days=400), enterprise=enterprise)  # repaired
    signal("camera_alert", AS_OF - timedelta(days=30), enterprise=enterprise)
    policy = offsite_policy(RISK_CLASS, credit={"signal_penalty_kinds": ["penalty"]})
    rows = scoring.score_rows(policy=policy, as_of=AS_OF, scope=scoring.Scope(ids=(enterprise.pk,)))
    assert rows[0]["credit_penalties"] == 1
    assert rows[0]["credit"] == "C"  # 10 points, as a recorded penalty
    without = offsite_policy(RISK_CLASS)
    assert (
        scoring.score_rows(policy=without, as_of=AS_OF, scope=scoring.Scope(ids=(enterprise.pk,)))[0][
            "credit_penalties"
        ]
        == 0
    )


# --- stored scores -----------------------------------------------------------------------------------


def offsite_world():
    d = nearby(distance_decay_m=150)
    g = grid_of(d)
    first = located(*cell_point(g, 0, 0))
    second = located(*cell_point(g, 2, 1))
    third = EnterpriseFactory()
    for enterprise, risk in ((first, "high"), (second, "medium"), (third, "high")):
        attribute(enterprise, "risk_class", risk, date(2025, 1, 1))
    attribute(second, "licence_first_issued", "2026-01-01", date(2026, 1, 1))
    attribute(third, "tobacco", "1", date(2025, 1, 1))
    for days in (3, 40, 200):
        signal("sanitation_complaint", AS_OF - timedelta(days=days), point=cell_point(g, 1, days % 3))
    signal("camera_alert", AS_OF - timedelta(days=5), enterprise=third)
    signal("penalty", AS_OF - timedelta(days=5), enterprise=second)
    policy = offsite_policy(
        RISK_CLASS, TOBACCO, AGE, d, keyed(), only=False, credit={"signal_penalty_kinds": ["penalty"]}
    )
    return [first, second, third], policy


@pytest.mark.django_db
def test_scores_store_each_offsite_factors_points_and_the_risk_adds_them(time_machine):
    time_machine.move_to(AS_OF, tick=False)
    enterprises, policy = offsite_world()
    scoring.recompute_all(policy=policy, as_of=AS_OF)
    names = ["risk_class", "tobacco", "licence_age", "nearby_sanitation", "camera_alerts"]
    for score in EnterpriseScore.objects.filter(enterprise__in=enterprises):
        assert set(score.offsite) <= set(names) and all(points > 0 for points in score.offsite.values())
        assert score.risk_offsite == pytest.approx(sum(score.offsite.values()), abs=1e-3)
        core = sum(getattr(score, f"risk_{factor}") for factor in scoring.FACTORS)
        assert score.risk == pytest.approx(core + score.risk_offsite)
    first = EnterpriseScore.objects.get(enterprise=enterprises[0])
    total = sum(float(w) for w in policy.weights.values())
    assert first.offsite["risk_class"] == pytest.approx(100 * 1 / total, abs=1e-4)
    assert first.offsite["nearby_sanitation"] > 0
    assert EnterpriseScore.objects.get(enterprise=enterprises[1]).credit_penalties == 1


@pytest.mark.django_db
def test_recomputing_one_enterprise_and_all_of_them_agree(time_machine):
    time_machine.move_to(AS_OF, tick=False)
    enterprises, policy = offsite_world()
    scoring.recompute_all(policy=policy, as_of=AS_OF)
    everyone = {s.enterprise_id: s for s in EnterpriseScore.objects.filter(enterprise__in=enterprises)}
    EnterpriseScore.objects.all().delete()
    for enterprise in enterprises:
        scoring.recompute_enterprise(enterprise_id=enterprise.pk, policy=policy)
    for score in EnterpriseScore.objects.filter(enterprise__in=enterprises):
        full = everyone[score.enterprise_id]
        assert score.risk == pytest.approx(full.risk)
        assert score.offsite == pytest.approx(full.offsite)
        assert (score.tier, score.credit, score.credit_penalties) == (
            full.tier,
            full.credit,
            full.credit_penalties,
        )


@pytest.mark.django_db
def test_a_policy_without_offsite_factors_stores_none():
    enterprise = EnterpriseFactory()
    attribute(enterprise, "risk_class", "high", date(2025, 1, 1))
    scoring.recompute_all(as_of=AS_OF)
    score = EnterpriseScore.objects.get(enterprise=enterprise)
    assert (score.offsite, score.risk_offsite) == ({}, 0)


@pytest.mark.django_db
def test_an_enterprise_without_a_listed_value_takes_the_missing_level():
    listed, unlisted, none = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    attribute(listed, "risk_class", "medium", date(2025, 1, 1))
    attribute(unlisted, "risk_class", "unknown", date(2025, 1, 1))
    attribute(none, "tobacco", "1", date(2025, 1, 1))  # a register row, but not this attribute
    policy = offsite_policy({**RISK_CLASS, "missing": 0.7})
    assert [feature(e, policy, "risk_class") for e in (listed, unlisted, none)] == [0.5, 0.7, 0.7]
    assert feature(EnterpriseFactory(), policy, "risk_class") == 0.7  # no register row at all


@pytest.mark.skipif(connection.vendor != "postgresql", reason="chunks side by side: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_chunks_side_by_side_score_as_one_after_another(time_machine):
    """Several connections (committed, shared prepared tables) give the scores one connection
    gives, and leave no table behind."""
    # The flush after an earlier transactional test empties every table, the districts, departments
    # and scenes the migrations load included: put them back (an upsert).
    reference.load(District, Department, Scene)
    time_machine.move_to(AS_OF, tick=False)
    enterprises, policy = offsite_world()
    enterprises += [EnterpriseFactory() for _ in range(5)]
    assert scoring.recompute_workers() == settings.SCORE_RECOMPUTE_WORKERS > 1

    scoring.recompute_all(policy=policy, as_of=AS_OF, chunk=2, workers=1)
    alone = {s.enterprise_id: s for s in EnterpriseScore.objects.all()}
    EnterpriseScore.objects.all().delete()
    report = scoring.recompute_all(policy=policy, as_of=AS_OF, chunk=2, workers=3)

    assert report.chunks >= 4 and report.enterprises == len(alone)
    for score in EnterpriseScore.objects.all():
        one = alone[score.enterprise_id]
        assert (score.risk, score.offsite, score.tier, score.credit) == (
            one.risk,
            one.offsite,
            one.tier,
            one.credit,
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'risk\\_prepared\\_%%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_inside_a_transaction_the_recompute_stays_on_its_connection():
    assert scoring.recompute_workers() == 1
