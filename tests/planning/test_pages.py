"""The planning pages: plan and draw from form to confirmation, verification, who gets what."""

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent, Scene
from planning import draws
from planning.models import ConflictDeclaration, Draw, RiskPlan
from supervision.models import InspectionTask
from tests.factories import Q3, MembershipFactory, UserFactory, area, district, make_inspectors, scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def due(db):
    """Three tier-3 enterprises never inspected (due), and a market team in Chaoyang."""
    make_inspectors(4)
    return [scored(tier=3, risk=risk) for risk in (30.0, 20.0, 10.0)]


PLANNER_PAGES = [
    "planning:plans",
    "planning:plan-new",
    "planning:draws",
    "planning:draw-new",
    "planning:burden",
]


@pytest.fixture
def people(db, market_regulator, admin_user, enterprise):
    return {
        "outsider": UserFactory(username="nobody"),
        "business": MembershipFactory(enterprise=enterprise).user,
        "inspector": make_inspectors(1, prefix="solo")[0].user,
        "regulator": market_regulator,
        "admin": admin_user,
    }


@pytest.mark.parametrize("name", PLANNER_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("outsider", 404),
        ("business", 404),
        ("inspector", 404),
        ("regulator", 200),
        ("admin", 200),
    ],
)
def test_only_planners_reach_the_planning_pages(client, people, name, who, status):
    if who != "anonymous":
        login(client, people[who])
    assert client.get(reverse(name)).status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("outsider", 404),
        ("business", 404),
        ("inspector", 200),
        ("regulator", 200),
        ("admin", 200),
    ],
)
def test_conflicts_are_for_inspectors_and_planners(client, people, who, status):
    if who != "anonymous":
        login(client, people[who])
    assert client.get(reverse("planning:conflicts")).status_code == status


# --- plans ------------------------------------------------------------------------------------------------


def test_a_plan_from_form_to_preview_to_confirmation(client, due, market_regulator):
    login(client, market_regulator)
    form = client.get(reverse("planning:plan-new")).content.decode()
    assert 'name="capacity"' in form

    response = client.post(
        reverse("planning:plan-new"),
        {
            "department": "market_regulation",
            "district": "110105",
            "period_from": "2025-07-01",
            "period_to": "2025-09-30",
            "capacity": "4",
            "inspectors_per_task": "2",
        },
    )
    plan = RiskPlan.objects.get()
    assert response["Location"] == reverse("planning:plan", args=[plan.pk])
    html = client.get(response["Location"]).content.decode()
    scheduled, unplaced = html.split('id="unplaced"')
    assert due[0].uscc in scheduled and due[1].uscc in scheduled and due[2].uscc in unplaced
    assert "over capacity" in unplaced and "never inspected" in html
    assert "4 / 4" in html

    response = client.post(reverse("planning:plan-confirm", args=[plan.pk]))
    assert response["Location"] == reverse("planning:plan", args=[plan.pk])
    assert InspectionTask.objects.filter(source="risk").count() == 2
    html = client.get(response["Location"]).content.decode()
    assert "The plan is confirmed: 2 visits are planned." in html and "Confirm the plan" not in html


def test_a_refused_plan_says_why_and_keeps_the_form(client, due, market_regulator):
    login(client, market_regulator)

    response = client.post(
        reverse("planning:plan-new"),
        {
            "district": "110105",
            "period_from": "2025-07-01",
            "period_to": "2025-09-30",
            "capacity": "0",
            "inspectors_per_task": "2",
        },
    )

    assert response.status_code == 422
    assert b'data-code="invalid_capacity"' in response.content and b'value="2025-09-30"' in response.content
    assert not RiskPlan.objects.exists()


def test_a_department_regulator_cannot_plan_for_another_department(client, due, market_regulator):
    login(client, market_regulator)

    response = client.post(
        reverse("planning:plan-new"),
        {"department": "health", "period_from": "2025-07-01", "period_to": "2025-09-30", "capacity": "4"},
    )

    assert response.status_code == 403 and b'data-code="out_of_scope"' in response.content


# --- draws ------------------------------------------------------------------------------------------------


def draw_form(**overrides) -> dict:
    return {
        "department": "market_regulation",
        "district": "110105",
        "scene": "",
        "period_from": "2025-07-01",
        "period_to": "2025-09-30",
        "tiers": ["3"],
        "ratio_3": "1",
        "inspectors_per_task": "2",
        "max_tasks_per_inspector": "10",
        **overrides,
    }


def test_a_draw_from_form_to_record_verification_and_confirmation(client, due, market_regulator):
    login(client, market_regulator)
    assert b'name="ratio_4"' in client.get(reverse("planning:draw-new")).content

    response = client.post(reverse("planning:draw-new"), draw_form())
    draw = Draw.objects.get()
    assert response["Location"] == reverse("planning:draw", args=[draw.pk])
    html = client.get(response["Location"]).content.decode()
    assert draw.seed in html and draw.inputs["pool_sha256"] in html
    assert all(enterprise.uscc in html for enterprise in due)

    verified = client.get(response["Location"], {"verify": "1"}).content.decode()
    assert 'data-ok="1"' in verified and "is the recorded one" in verified

    client.post(reverse("planning:draw-confirm", args=[draw.pk]))
    assert InspectionTask.objects.filter(source="random").count() == 3
    html = client.get(response["Location"]).content.decode()
    assert "Confirm the draw" not in html and "confirmed" in html


def test_the_draw_lists_only_the_tiers_it_drew_from(client, due, market_regulator):
    scored(tier=4, risk=5.0)
    draw = draws.draw_create(
        actor=market_regulator,
        area=area(),
        period_from=Q3[0],
        period_to=Q3[1],
        tiers=[3, 4],
        ratios={"3": "0.5", "4": "0.1"},  # 0.1 of one tier-4 enterprise rounds to nobody
    )

    html = login(client, market_regulator).get(reverse("planning:draw", args=[draw.pk])).content.decode()

    tiers = html.split('id="tiers"')[1].split("</dd>")[0]
    assert 'data-tier="3"' in tiers and "Tier 3: 2 of 3 (50%)" in tiers
    assert 'data-tier="4"' not in tiers and "Tier 4" not in tiers


def test_a_tampered_draw_shows_the_mismatch(client, due, market_regulator):
    draw = draws.draw_create(
        actor=market_regulator, area=area(), period_from=Q3[0], period_to=Q3[1], tiers=[3], ratios={"3": 1}
    )
    Draw.objects.filter(pk=draw.pk).update(seed="f" * 32)

    html = login(client, market_regulator).get(reverse("planning:draw", args=[draw.pk]), {"verify": "1"})
    assert b'data-ok="0"' in html.content


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"ratio_3": "1.5"}, "invalid_ratio"),
        ({"ratio_3": "-0.1"}, "invalid_ratio"),
        ({"district": "110108"}, "out_of_scope"),
        ({"tiers": []}, "invalid_tiers"),
        ({"scene": "medical"}, "scene_not_supervised"),
        ({"period_to": "2025-06-30", "period_from": "2025-06-01"}, "period_in_past"),
    ],
)
def test_a_refused_draw_says_why_and_records_nothing(client, due, market_regulator, overrides, code):
    events = AuditEvent.objects.count()

    response = login(client, market_regulator).post(reverse("planning:draw-new"), draw_form(**overrides))

    assert f'data-code="{code}"'.encode() in response.content and response.status_code in (403, 422)
    assert not Draw.objects.exists() and AuditEvent.objects.count() == events


def test_an_empty_pool_is_refused_on_the_page(client, market_regulator):
    make_inspectors(2)
    response = login(client, market_regulator).post(reverse("planning:draw-new"), draw_form())
    assert response.status_code == 422 and b'data-code="empty_pool"' in response.content


def test_another_departments_draw_is_404(client, due, market_regulator, admin_user, health_regulator):
    scored(tier=3, scene=Scene.objects.get(code="medical"))
    make_inspectors(2, department_code="health", prefix="health")
    draw = draws.draw_create(
        actor=admin_user,
        area=area("health", None),
        period_from=Q3[0],
        period_to=Q3[1],
        tiers=[3],
        ratios={"3": 1},
    )

    login(client, market_regulator)
    assert client.get(reverse("planning:draw", args=[draw.pk])).status_code == 404
    assert client.post(reverse("planning:draw-confirm", args=[draw.pk])).status_code == 404
    login(client, health_regulator)
    assert client.get(reverse("planning:draw", args=[draw.pk])).status_code == 200
    assert not Draw.objects.filter(status="confirmed").exists()


def test_a_district_regulator_sees_only_their_districts_draws(client, due, admin_user, chaoyang_regulator):
    city = draws.draw_create(
        actor=admin_user, area=area(district_code=None), period_from=Q3[0], period_to=Q3[1], ratios={"3": 1}
    )
    local = draws.draw_create(
        actor=admin_user, area=area(), period_from=Q3[0], period_to=Q3[1], ratios={"3": 1}
    )

    login(client, chaoyang_regulator)
    assert client.get(reverse("planning:draw", args=[city.pk])).status_code == 404
    assert client.get(reverse("planning:draw", args=[local.pk])).status_code == 200
    assert district("110105").code in client.get(reverse("planning:draw-new")).content.decode()


# --- conflicts ------------------------------------------------------------------------------------------


def test_an_inspector_declares_and_ends_a_conflict(client, enterprise):
    inspector = make_inspectors(1)[0]
    login(client, inspector.user)

    response = client.post(
        reverse("planning:conflicts"), {"enterprise": enterprise.uscc, "reason": "配偶任职"}
    )
    assert response.status_code == 302
    declaration = ConflictDeclaration.objects.get()
    assert (declaration.inspector, declaration.enterprise, declaration.reason) == (
        inspector,
        enterprise,
        "配偶任职",
    )
    assert AuditEvent.objects.filter(action="conflict.declare", target_id=str(declaration.pk)).exists()

    again = client.post(reverse("planning:conflicts"), {"enterprise": enterprise.uscc, "reason": "again"})
    assert again.status_code == 409 and b'data-code="already_declared"' in again.content

    client.post(reverse("planning:conflict-end", args=[declaration.pk]))
    declaration.refresh_from_db()
    assert declaration.ended_at is not None and declaration.ended_by == inspector.user
    assert AuditEvent.objects.filter(action="conflict.end").exists()


def test_a_conflict_needs_a_reason_and_an_enterprise_in_jurisdiction(client, enterprise, far_enterprise):
    login(client, make_inspectors(1)[0].user)

    no_reason = client.post(reverse("planning:conflicts"), {"enterprise": enterprise.uscc, "reason": " "})
    assert no_reason.status_code == 422 and b'data-code="reason_required"' in no_reason.content
    far = client.post(reverse("planning:conflicts"), {"enterprise": far_enterprise.uscc, "reason": "x"})
    assert far.status_code == 422 and b'data-code="not_found"' in far.content
    assert not ConflictDeclaration.objects.exists()


def test_who_sees_which_declarations(client, enterprise, far_enterprise, market_regulator):
    mine, colleague = make_inspectors(2)
    far = make_inspectors(1, districts=("110108",), department_code="health")[0]
    ConflictDeclaration.objects.create(
        inspector=mine, enterprise=enterprise, reason="甲", declared_by=mine.user
    )
    ConflictDeclaration.objects.create(
        inspector=far, enterprise=far_enterprise, reason="乙", declared_by=far.user
    )

    assert "甲" in login(client, mine.user).get(reverse("planning:conflicts")).content.decode()
    html = login(client, colleague.user).get(reverse("planning:conflicts")).content.decode()
    assert "甲" not in html and "乙" not in html
    html = login(client, market_regulator).get(reverse("planning:conflicts")).content.decode()
    assert "甲" in html and "乙" not in html
    assert 'id="conflict-form"' not in html


def test_only_the_declaring_inspector_ends_a_declaration(client, enterprise, market_regulator):
    mine = make_inspectors(1)[0]
    declaration = ConflictDeclaration.objects.create(
        inspector=mine, enterprise=enterprise, reason="甲", declared_by=mine.user
    )

    assert (
        login(client, market_regulator)
        .post(reverse("planning:conflict-end", args=[declaration.pk]))
        .status_code
        == 404
    )
    colleague = make_inspectors(1, prefix="colleague")[0]
    assert (
        login(client, colleague.user)
        .post(reverse("planning:conflict-end", args=[declaration.pk]))
        .status_code
        == 404
    )
    declaration.refresh_from_db()
    assert declaration.ended_at is None


@pytest.mark.parametrize(
    ("tiers", "says"),
    [
        ((), "Nothing is due in this period"),
        ((3,), "1 enterprise is due, but none could be scheduled"),
    ],
)
def test_an_empty_plan_says_so_and_offers_no_confirmation(client, market_regulator, tiers, says):
    for tier in tiers:
        scored(tier=tier, risk=50.0)  # due, but the department has no inspector to send
    login(client, market_regulator)
    response = client.post(
        reverse("planning:plan-new"),
        {
            "district": "110105",
            "period_from": "2025-07-01",
            "period_to": "2025-09-30",
            "capacity": "4",
            "inspectors_per_task": "2",
        },
    )
    plan = RiskPlan.objects.get()
    html = client.get(response["Location"]).content.decode()

    assert says in html and "nothing to" in html and "confirm." in html
    assert reverse("planning:plan-confirm", args=[plan.pk]) not in html

    response = client.post(reverse("planning:plan-confirm", args=[plan.pk]), follow=True)
    html = response.content.decode()
    assert "This plan schedules no visit" in html and "is confirmed" not in html
    assert not InspectionTask.objects.exists()
    plan.refresh_from_db()
    assert plan.status == "draft"
