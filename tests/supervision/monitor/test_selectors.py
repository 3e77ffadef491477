"""The regulators' monitor reads (supervision/monitor/selectors.py): loop numbers, ratings and the
inspectors one may plan, on the small dataset of conftest.py."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.models import Department, District
from supervision.models import RectificationOrder
from supervision.monitor import selectors as monitor
from tests.factories import RegulatorFactory

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=TZ)


def numbers(row) -> tuple:
    return (
        row.open,
        row.overdue,
        row.closed,
        row.closed_on_time,
        row.closed_on_time_pct,
        row.escalated,
        row.median_days,
    )


def by_label(table) -> dict:
    return {row.label: numbers(row) for row in table.rows}


D = Decimal


def rating_numbers(rows) -> dict:
    return {row.key: (row.count, row.mean, row.low, row.low_pct) for row in rows}


# --- the loop numbers ---------------------------------------------------------------------------------


def test_it_counts_the_loop_per_district_rolling_streets_up(orders, regulator_user):
    table = monitor.loop_monitor(user=regulator_user, by="district", now=NOW)
    assert by_label(table) == {
        "Dongcheng": (0, 0, 2, 1, D("50.0"), 0, D("5.5")),  # even count: mean of the middle two
        "Chaoyang": (4, 2, 3, 2, D("66.7"), 1, D("2.0")),  # odd count: the middle one
    }
    assert [row.label for row in table.rows] == ["Dongcheng", "Chaoyang"]  # by division code
    assert numbers(table.totals) == (4, 2, 5, 3, D("60.0"), 1, D("4.0"))


def test_it_counts_overdue_exactly_by_the_rule(orders, regulator_user):
    assert monitor.loop_monitor(user=regulator_user, by="scene", now=NOW).totals.overdue == 2
    # One microsecond later the order due now is overdue too.
    later = NOW + timedelta(microseconds=1)
    assert monitor.loop_monitor(user=regulator_user, by="scene", now=later).totals.overdue == 3
    in_python = sum(
        1
        for order in RectificationOrder.objects.filter(enterprise__scene__code="catering")
        if order.is_overdue
    )
    assert in_python == 2


def test_it_groups_by_scene_and_by_the_department_of_the_issuing_task(orders, regulator_user):
    scene = monitor.loop_monitor(user=regulator_user, by="scene", now=NOW)
    assert by_label(scene) == {"Catering": (4, 2, 5, 3, D("60.0"), 1, D("4.0"))}
    department = monitor.loop_monitor(user=regulator_user, by="department", now=NOW)
    assert by_label(department) == {
        "Fire and Rescue Corps": (0, 0, 2, 1, D("50.0"), 0, D("5.5")),
        "Administration for Market Regulation": (4, 2, 3, 2, D("66.7"), 1, D("2.0")),
    }


def test_an_admin_sees_the_whole_city(orders, admin_user):
    table = monitor.loop_monitor(user=admin_user, by="district", now=NOW)
    assert by_label(table)["Haidian"] == (1, 1, 1, 1, D("100.0"), 0, D("10.0"))
    # Six closed: 1, 2, 4, 5.5, 7, 10 days -> (4 + 5.5) / 2 = 4.75, shown as 4.8.
    assert numbers(table.totals) == (5, 3, 6, 4, D("66.7"), 1, D("4.8"))


def test_a_health_regulator_does_not_see_catering_numbers(orders, health_regulator):
    table = monitor.loop_monitor(user=health_regulator, by="district", now=NOW)
    assert by_label(table) == {"Haidian": (1, 1, 1, 1, D("100.0"), 0, D("10.0"))}
    assert numbers(table.totals) == (1, 1, 1, 1, D("100.0"), 0, D("10.0"))


def test_a_district_regulator_sees_only_their_district(orders):
    user = RegulatorFactory(department=None, district=District.objects.get(code="110101")).user
    table = monitor.loop_monitor(user=user, by="district", now=NOW)
    assert by_label(table) == {"Dongcheng": (0, 0, 2, 1, D("50.0"), 0, D("5.5"))}


def test_the_date_range_filters_on_local_issue_days(orders, regulator_user):
    # 1 June (Beijing time) includes the order issued at 23:30 that is already 2 June nowhere.
    june_first = monitor.loop_monitor(
        user=regulator_user, by="district", now=NOW, issued_from=date(2025, 6, 1), issued_to=date(2025, 6, 1)
    )
    assert numbers(june_first.totals) == (0, 0, 4, 2, D("50.0"), 0, D("4.8"))
    later = monitor.loop_monitor(user=regulator_user, by="district", now=NOW, issued_from=date(2025, 6, 2))
    assert numbers(later.totals) == (4, 2, 1, 1, D("100.0"), 1, D("1.0"))


def test_nothing_in_scope_gives_an_empty_table(db, regulator_user):
    table = monitor.loop_monitor(user=regulator_user, by="department", now=NOW)
    assert table.rows == []
    assert numbers(table.totals) == (0, 0, 0, 0, None, 0, None)


def test_it_refuses_a_bad_range():
    with pytest.raises(monitor.MonitorError) as excinfo:
        monitor.date_range_parse(start="2025-06-10", end="2025-06-01")
    assert excinfo.value.code == "invalid_range"
    with pytest.raises(monitor.MonitorError) as excinfo:
        monitor.date_range_parse(start="yesterday", end=None)
    assert excinfo.value.code == "invalid_date"


def test_the_overdue_list_is_longest_overdue_first(orders, regulator_user, admin_user):
    assert monitor.overdue_orders(user=regulator_user, now=NOW) == [
        orders["overdue_issued"],
        orders["overdue_returned"],
    ]
    assert set(monitor.overdue_orders(user=admin_user, now=NOW)) == {
        orders["overdue_issued"],
        orders["overdue_returned"],
        orders["hd_overdue"],
    }


@pytest.mark.parametrize("in_database", [True, False])
def test_both_ways_of_taking_the_median_agree(orders, admin_user, monkeypatch, in_database):
    # PostgreSQL takes percentile_cont; other databases fetch the closed durations. Each suite run
    # exercises its database's way; forcing the portable way shows they give the same numbers.
    if in_database and not monitor._median_in_database():
        pytest.skip("percentile_cont is PostgreSQL's")
    monkeypatch.setattr(monitor, "_median_in_database", lambda: in_database)
    table = monitor.loop_monitor(user=admin_user, by="district", now=NOW)
    assert {row.label: row.median_days for row in table.rows} == {
        "Dongcheng": D("5.5"),
        "Chaoyang": D("2.0"),
        "Haidian": D("10.0"),
    }
    assert table.totals.median_days == D("4.8")


# --- ratings -------------------------------------------------------------------------------------------


def test_ratings_count_for_each_inspector_of_the_inspection(rated, regulator_user):
    rows = monitor.ratings_rows(list(monitor.ratings_by_inspector_qs(user=regulator_user)))
    assert rating_numbers(rows) == {
        rated["a"].pk: (3, D("2.67"), 2, D("66.7")),
        rated["b"].pk: (2, D("3.50"), 1, D("50.0")),
        rated["c"].pk: (1, D("1.00"), 1, D("100.0")),
    }
    assert [row.key for row in rows] == [rated["c"].pk, rated["a"].pk, rated["b"].pk]  # worst first


def test_ratings_per_department(rated, regulator_user, admin_user):
    market, fire = (
        Department.objects.get(code="market_regulation"),
        Department.objects.get(code="fire_rescue"),
    )
    assert rating_numbers(monitor.ratings_by_department(user=regulator_user)) == {
        market.pk: (2, D("3.50"), 1, D("50.0")),
        fire.pk: (1, D("1.00"), 1, D("100.0")),
    }
    health = Department.objects.get(code="health")
    assert rating_numbers(monitor.ratings_by_department(user=admin_user))[health.pk] == (
        1,
        D("4.00"),
        0,
        D("0.0"),
    )


def test_an_admin_sees_all_ratings(rated, admin_user):
    rows = rating_numbers(monitor.ratings_rows(list(monitor.ratings_by_inspector_qs(user=admin_user))))
    assert rows[rated["c"].pk] == (2, D("2.50"), 1, D("50.0"))
    assert rows[rated["d"].pk] == (1, D("4.00"), 0, D("0.0"))


def test_a_health_regulator_sees_only_medical_ratings(rated, health_regulator):
    rows = rating_numbers(monitor.ratings_rows(list(monitor.ratings_by_inspector_qs(user=health_regulator))))
    assert rows == {rated["c"].pk: (1, D("4.00"), 0, D("0.0")), rated["d"].pk: (1, D("4.00"), 0, D("0.0"))}


# --- planning -------------------------------------------------------------------------------------------


def test_the_choices_are_the_inspectors_with_jurisdiction(staff, enterprise, street_enterprise):
    def names(target):
        return {i.user.username for i in monitor.inspectors_for_enterprise(enterprise=target)}

    assert names(enterprise) == {"cy1", "cy2", "city"}
    assert names(street_enterprise) == {"cy1", "cy2", "city", "street"}


def test_the_choices_agree_with_the_permission_rule(staff, enterprise, street_enterprise, far_enterprise):
    from core.models import Inspector
    from core.permissions import can_see_enterprise

    for target in (enterprise, street_enterprise, far_enterprise):
        expected = {i.pk for i in Inspector.objects.filter(active=True) if can_see_enterprise(i.user, target)}
        assert {i.pk for i in monitor.inspectors_for_enterprise(enterprise=target)} == expected
