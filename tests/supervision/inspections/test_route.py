"""The inspector's day in a route order."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from supervision.inspections import route
from tests.factories import EnterpriseFactory, make_task


def stop(name, lat=None, lng=None):
    enterprise = SimpleNamespace(
        name=name,
        latitude=None if lat is None else Decimal(str(lat)),
        longitude=None if lng is None else Decimal(str(lng)),
    )
    return SimpleNamespace(enterprise=enterprise)


def names(stops):
    return [s.task.enterprise.name for s in stops]


def test_distance_is_the_great_circle_in_km():
    # Tiananmen to the Bird's Nest: about 8.5 km as the crow flies.
    assert route.distance_km((39.9087, 116.3975), (39.9929, 116.3965)) == pytest.approx(9.36, abs=0.05)
    assert route.distance_km((39.9, 116.4), (39.9, 116.4)) == 0


def test_without_a_start_the_most_urgent_visit_comes_first_then_the_nearest_next():
    tasks = [stop("urgent", 39.90, 116.40), stop("far", 40.20, 116.70), stop("near", 39.91, 116.41)]
    stops, unplaced = route.day_route(tasks)
    assert names(stops) == ["urgent", "near", "far"]
    assert stops[0].leg_km == 0
    assert stops[1].leg_km == pytest.approx(route.distance_km((39.90, 116.40), (39.91, 116.41)))
    assert stops[-1].total_km == pytest.approx(stops[1].leg_km + stops[2].leg_km)
    assert unplaced == []


def test_a_start_location_begins_the_route_at_the_nearest_visit():
    tasks = [stop("urgent", 39.90, 116.40), stop("next door", 40.20, 116.70)]
    stops, _ = route.day_route(tasks, start=(40.21, 116.71))
    assert names(stops) == ["next door", "urgent"]
    assert stops[0].leg_km > 0


def test_visits_without_coordinates_are_listed_never_dropped():
    tasks = [stop("nowhere"), stop("here", 39.9, 116.4)]
    stops, unplaced = route.day_route(tasks)
    assert names(stops) == ["here"]
    assert [t.enterprise.name for t in unplaced] == ["nowhere"]


def test_equal_distances_keep_the_more_urgent_first():
    tasks = [stop("start", 39.9, 116.4), stop("first", 39.91, 116.4), stop("second", 39.89, 116.4)]
    stops, _ = route.day_route(tasks)
    assert names(stops) == ["start", "first", "second"]


def test_the_sketch_keeps_north_up_and_fits_the_box():
    tasks = [stop("south", 39.8, 116.4), stop("north", 40.0, 116.4)]
    stops, _ = route.day_route(tasks)
    sketch = route.sketch(stops, width=200, height=100, margin=10)
    south, north = sketch["points"]
    assert north["y"] < south["y"]
    assert all(10 <= p["x"] <= 190 and 10 <= p["y"] <= 90 for p in sketch["points"])
    assert sketch["path"].startswith("M")
    # A north-south route is centred across the box.
    assert south["x"] == north["x"] == 100


def test_one_stop_sits_in_the_middle_of_the_sketch():
    stops, _ = route.day_route([stop("only", 39.9, 116.4)])
    sketch = route.sketch(stops, width=200, height=100, margin=10)
    assert [(p["x"], p["y"]) for p in sketch["points"]] == [(100, 50)]


@pytest.fixture
def day_tasks(team, regulator_user, loop_checklist):
    today = timezone.localdate()
    plan = [
        ("甲店", 39.90, 116.40),
        ("乙店", 39.95, 116.45),
        ("丙店", 39.91, 116.41),
        ("无坐标店", None, None),
    ]
    tasks = []
    for n, (name, lat, lng) in enumerate(plan):
        enterprise = EnterpriseFactory(name=name, latitude=lat, longitude=lng)
        tasks.append(
            make_task(
                enterprise=enterprise,
                team=team,
                actor=regulator_user,
                due_from=today - timedelta(days=5),
                due_to=today + timedelta(days=n),
            )
        )
    return tasks


def test_an_inspector_gets_todays_tasks_in_route_order(client, team, day_tasks):
    client.force_login(team[0].user)
    response = client.get(reverse("loop:route"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("甲店") < html.index("丙店") < html.index("乙店")
    assert "无坐标店" in html and "<svg" in html
    assert html.count("<circle") == 3


def test_a_bad_start_location_is_said_and_ignored(client, team, day_tasks):
    client.force_login(team[0].user)
    response = client.get(reverse("loop:route"), {"from": "91,200"})
    assert response.status_code == 200
    assert response.context["bad_start"] and response.context["start"] is None
    assert response.context["stops"][0].task.enterprise.name == "甲店"


def test_another_inspector_sees_none_of_these_tasks(client, day_tasks):
    from tests.factories import make_team

    other = make_team(1, prefix="other")[0]
    client.force_login(other.user)
    response = client.get(reverse("loop:route"))
    assert response.status_code == 200 and response.context["stops"] == []


@pytest.mark.parametrize("who", ["business_user", "regulator_user"])
def test_only_inspectors_have_a_route(db, client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("loop:route")).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client, db):
    response = client.get(reverse("loop:route"))
    assert response.status_code == 302 and "login" in response["Location"]
