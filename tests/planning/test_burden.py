"""The burden view: visits per enterprise across all departments in a period, most first."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from core.models import Scene
from planning import selectors
from supervision.models import InspectionTask
from tests.factories import Q3, department, district, make_inspectors, planned_task, scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def visits(db):
    """Busy: market twice (one done), fire once, a cancelled and an out-of-period visit that do not
    count. Joint: one joint visit of market and fire. Quiet: one visit. Far (Haidian): one visit."""
    market = make_inspectors(2)
    fire = make_inspectors(2, department_code="fire_rescue", prefix="fire")
    busy, joint, quiet = scored(tier=4, risk=1.0), scored(tier=4, risk=2.0), scored(tier=4, risk=3.0)
    far = scored(tier=4, district=district("110108"))
    planned_task(busy, market)
    planned_task(busy, market, due=(date(2025, 6, 20), date(2025, 7, 5)), status=InspectionTask.Status.DONE)
    planned_task(busy, fire)
    planned_task(busy, fire, status=InspectionTask.Status.CANCELLED)
    planned_task(busy, market, due=(date(2025, 10, 1), date(2025, 10, 31)))
    task = planned_task(joint, market)
    task.departments.set([department("market_regulation"), department("fire_rescue")])
    task.inspectors.add(*fire)
    planned_task(quiet, market)
    planned_task(far, make_inspectors(2, districts=("110108",), prefix="far"))
    return {"busy": busy, "joint": joint, "quiet": quiet, "far": far}


def rows(user, **kwargs) -> list[dict]:
    found = list(selectors.burden(user=user, period_from=Q3[0], period_to=Q3[1], **kwargs))
    return selectors.burden_departments(rows=found, period_from=Q3[0], period_to=Q3[1])


def test_visits_per_enterprise_most_first_with_the_departments(visits, admin_user):
    table = [
        (r["enterprise__uscc"], r["visits"], r["done"], r["joint"], r["departments"])
        for r in rows(admin_user)
    ]

    fire, market = "Fire and Rescue Corps", "Administration for Market Regulation"
    busy, joint, quiet, far = (visits[k].uscc for k in ("busy", "joint", "quiet", "far"))
    assert table[0] == (busy, 3, 1, 0, [market, fire])
    assert sorted(table[1:]) == sorted(
        [(joint, 1, 0, 1, [market, fire]), (quiet, 1, 0, 0, [market]), (far, 1, 0, 0, [market])]
    )


def test_a_regulator_sees_every_departments_visits_in_their_scope(visits, market_regulator):
    found = {r["enterprise__uscc"]: r["visits"] for r in rows(market_regulator)}

    assert found == {visits["busy"].uscc: 3, visits["joint"].uscc: 1, visits["quiet"].uscc: 1}


def test_a_health_regulator_sees_no_catering_visits(visits, health_regulator):
    assert rows(health_regulator) == []


def test_the_district_and_scene_filters(visits, admin_user):
    assert {r["enterprise_id"] for r in rows(admin_user, district=district("110108"))} == {visits["far"].pk}
    assert rows(admin_user, scene=Scene.objects.get(code="medical")) == []


def test_the_page_and_the_api(client: Client, visits, market_regulator, django_assert_max_num_queries):
    client.force_login(market_regulator)
    with django_assert_max_num_queries(15):
        html = client.get(
            reverse("planning:burden"), {"from": "2025-07-01", "to": "2025-09-30"}
        ).content.decode()
    assert html.index(visits["busy"].uscc) < html.index(visits["quiet"].uscc)
    assert visits["far"].uscc not in html

    body = client.get("/api/v1/burden", {"period_from": "2025-07-01", "period_to": "2025-09-30"}).json()
    assert body["items"][0] == {
        "enterprise": visits["busy"].uscc,
        "enterprise_name": visits["busy"].name,
        "visits": 3,
        "done": 1,
        "joint": 0,
        "departments": ["Administration for Market Regulation", "Fire and Rescue Corps"],
    }
    assert body["has_next"] is False


def test_the_page_queries_do_not_grow_with_rows(
    client: Client, visits, admin_user, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("planning:burden"), {"from": "2025-07-01", "to": "2025-09-30"})
    market = make_inspectors(2, prefix="more")
    for _ in range(5):
        planned_task(scored(tier=4), market)
    with django_assert_max_num_queries(len(few)):
        client.get(reverse("planning:burden"), {"from": "2025-07-01", "to": "2025-09-30"})


def test_a_bad_period_is_reported(client: Client, market_regulator):
    client.force_login(market_regulator)

    response = client.get(reverse("planning:burden"), {"from": "2025-09-30", "to": "2025-07-01"})
    assert response.status_code == 422 and b'data-code="invalid_period"' in response.content
    response = client.get(reverse("planning:burden"), {"district": "999999"})
    assert response.status_code == 422 and b'data-code="unknown_district"' in response.content
