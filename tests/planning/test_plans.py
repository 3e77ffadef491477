"""Risk-driven plans: what is due under the current policy's tier intervals, highest risk first,
capacity in inspector-days, everything unplaced listed with its reason, all-or-nothing confirm."""

import contextlib
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from core.errors import DomainError
from core.models import AuditEvent
from planning import plans
from planning.models import ConflictDeclaration, PlanEntry, RiskPlan
from supervision.models import InspectionTask
from supervision.risk.scoring import current_policy, policy_create
from tests.factories import Q3, area, district, inspected_by, make_inspectors, planned_task, scored

pytestmark = pytest.mark.django_db
Outcome = PlanEntry.Outcome


def _state() -> tuple:
    return (
        RiskPlan.objects.count(),
        PlanEntry.objects.count(),
        InspectionTask.objects.count(),
        AuditEvent.objects.count(),
    )


@contextlib.contextmanager
def refused(code: str, status: int | None = None):
    before = _state()
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code == code, excinfo.value.message
    if status is not None:
        assert excinfo.value.status == status
    assert _state() == before


def generate(actor, **kwargs) -> RiskPlan:
    options = {"area": area(), "period_from": Q3[0], "period_to": Q3[1], "capacity": 100, **kwargs}
    return plans.plan_generate(actor=actor, **options)


def entries(plan: RiskPlan) -> list[PlanEntry]:
    return list(plan.entries.order_by("position"))


@pytest.fixture
def team(db):
    return make_inspectors(6)


# --- what is due ----------------------------------------------------------------------


def test_due_follows_the_tier_interval_of_the_current_policy(team, market_regulator):
    # Default policy: tier 4 every 91 days, tier 3 every 365, tier 2 every 730, tier 1 only by draw.
    overdue = scored(tier=4, last=date(2025, 3, 1))  # due 2025-05-31: 31 days before the period
    in_period = scored(tier=4, last=date(2025, 5, 1))  # due 2025-07-31
    last_day = scored(tier=4, last=date(2025, 7, 1))  # due 2025-09-30, the period's last day
    scored(tier=4, last=date(2025, 7, 2))  # due 2025-10-01: not yet
    never = scored(tier=3)
    scored(tier=1)  # draw-only: never due in a plan
    scored(tier=2, last=date(2024, 1, 1))  # due 2025-12-31: not yet

    rows = {e.enterprise_id: e for e in entries(generate(market_regulator))}

    assert set(rows) == {overdue.pk, in_period.pk, last_day.pk, never.pk}
    assert (rows[overdue.pk].due_reason, rows[overdue.pk].overdue_days) == ("overdue", 31)
    assert rows[overdue.pk].due_on == date(2025, 5, 31)
    assert (rows[in_period.pk].due_reason, rows[in_period.pk].due_on) == ("due_in_period", date(2025, 7, 31))
    assert rows[last_day.pk].due_reason == "due_in_period"
    assert (rows[never.pk].due_reason, rows[never.pk].due_on) == ("never_inspected", None)


def test_a_new_policy_changes_what_is_due(team, market_regulator, admin_user):
    enterprise = scored(tier=1)
    policy = current_policy()
    params = {
        **policy.params,
        "tiers": {**policy.params["tiers"], "1": {"interval_days": 1000, "draw_ratio": 0.03}},
    }
    policy_create(actor=admin_user, weights=policy.weights, params=params)

    plan = generate(market_regulator)

    assert [e.enterprise_id for e in entries(plan)] == [enterprise.pk]
    assert plan.policy_version == 2


def test_time_moves_enterprises_into_due(team, market_regulator):
    import time_machine

    enterprise = scored(tier=4, last=date(2025, 7, 2))  # due 2025-10-01

    assert entries(generate(market_regulator)) == []
    with time_machine.travel(date(2025, 10, 1), tick=False):
        plan = generate(market_regulator, period_from=date(2025, 10, 1), period_to=date(2025, 12, 31))
    (entry,) = entries(plan)
    assert (entry.enterprise_id, entry.due_reason, entry.due_on) == (
        enterprise.pk,
        "due_in_period",
        date(2025, 10, 1),
    )


# --- order and capacity ----------------------------------------------------------------------


def test_highest_risk_first_within_the_capacity_and_the_rest_listed(team, market_regulator):
    by_risk = {risk: scored(tier=3, risk=risk) for risk in (10.0, 90.0, 50.0, 70.0, 30.0)}

    plan = generate(market_regulator, capacity=5)  # two tasks of two inspector-days; one day left over

    rows = entries(plan)
    assert [row.risk for row in rows] == [90.0, 70.0, 50.0, 30.0, 10.0]
    assert [row.outcome for row in rows] == [Outcome.SCHEDULED] * 2 + [Outcome.OVER_CAPACITY] * 3
    assert [row.enterprise_id for row in rows[:2]] == [by_risk[90.0].pk, by_risk[70.0].pk]
    assert plan.capacity_used == 4
    assert all(len(row.inspector_ids) == 2 for row in rows[:2])
    assert all(row.inspector_ids == [] for row in rows[2:])


def test_three_inspectors_per_task_cost_three_days(team, market_regulator):
    for risk in (1.0, 2.0, 3.0):
        scored(tier=3, risk=risk)

    plan = generate(market_regulator, capacity=6, inspectors_per_task=3)

    assert [row.outcome for row in entries(plan)] == [Outcome.SCHEDULED] * 2 + [Outcome.OVER_CAPACITY]
    assert plan.capacity_used == 6


def test_an_enterprise_the_department_already_visits_is_listed_not_planned_again(team, market_regulator):
    booked = scored(tier=3, risk=99.0)
    task = planned_task(booked, team[:2])
    fire = scored(tier=3, risk=98.0)
    planned_task(fire, make_inspectors(2, department_code="fire_rescue"))  # another department's visit

    rows = entries(generate(market_regulator, capacity=2))

    assert [(r.enterprise_id, r.outcome) for r in rows] == [
        (booked.pk, Outcome.ALREADY_PLANNED),
        (fire.pk, Outcome.SCHEDULED),
    ]
    assert rows[0].existing_task_id == task.pk


def test_without_eligible_inspectors_an_enterprise_is_listed_and_costs_nothing(market_regulator):
    a, b = make_inspectors(2)
    hard = scored(tier=3, risk=99.0)
    inspected_by(hard, [a, *make_inspectors(1, prefix="old", districts=("110108",))], on=date(2024, 1, 1))
    easy = scored(tier=3, risk=50.0)

    rows = entries(generate(market_regulator, capacity=2))

    assert [(r.enterprise_id, r.outcome) for r in rows] == [
        (hard.pk, Outcome.NO_INSPECTORS),
        (easy.pk, Outcome.SCHEDULED),
    ]
    assert rows[1].inspector_ids == sorted([a.pk, b.pk])


def test_inspectors_are_the_least_loaded_eligible_ones(market_regulator):
    a, b, c, d = make_inspectors(4)
    planned_task(scored(tier=1), [a, b])
    due = scored(tier=3)

    (entry,) = [e for e in entries(generate(market_regulator)) if e.enterprise_id == due.pk]

    assert entry.inspector_ids == sorted([c.pk, d.pk])


def test_plans_follow_the_conflict_rules_of_draws(market_regulator):
    a, b, c, d = make_inspectors(4)
    planned_task(scored(tier=1), [a, b])
    due = scored(tier=3)
    ConflictDeclaration.objects.create(inspector=c, enterprise=due, reason="亲属", declared_by=c.user)
    inspected_by(due, [d, *make_inspectors(1, prefix="old", districts=("110108",))], on=date(2024, 1, 1))

    def outcome(**kwargs):
        return next(e for e in entries(generate(market_regulator, **kwargs)) if e.enterprise_id == due.pk)

    assert outcome().inspector_ids == sorted([a.pk, b.pk])
    assert outcome(max_tasks_per_inspector=1).outcome == Outcome.NO_INSPECTORS


def test_the_load_spreads_over_the_inspectors(market_regulator):
    team = make_inspectors(4)
    for risk in (4.0, 3.0, 2.0, 1.0):
        scored(tier=3, risk=risk)

    rows = entries(generate(market_regulator))

    first, second, third, _fourth = (set(row.inspector_ids) for row in rows)
    assert first.isdisjoint(second) and first | second == {i.pk for i in team}
    assert third == first


def test_the_maximum_of_tasks_per_inspector_holds(market_regulator):
    make_inspectors(2)
    for risk in (3.0, 2.0, 1.0):
        scored(tier=3, risk=risk)

    rows = entries(generate(market_regulator, max_tasks_per_inspector=2))

    assert [r.outcome for r in rows] == [Outcome.SCHEDULED, Outcome.SCHEDULED, Outcome.NO_INSPECTORS]


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, -3, 1, 1_000_001])
def test_a_capacity_that_fits_no_task_is_refused(team, market_regulator, capacity):
    scored(tier=3)

    with refused("invalid_capacity", 422):
        generate(market_regulator, capacity=capacity)


def test_a_plan_out_of_scope_is_refused(team, market_regulator, inspector_user):
    with refused("out_of_scope", 403):
        generate(market_regulator, area=area("health"))
    with refused("out_of_scope", 403):
        generate(market_regulator, area=area(district_code="110101"))
    with refused("forbidden", 403):
        generate(inspector_user)


def test_a_district_regulator_plans_any_department_in_their_district(team, chaoyang_regulator):
    scored(tier=3)
    scored(tier=3, district=district("110105001"))
    scored(tier=3, district=district("110108"))

    plan = generate(chaoyang_regulator, area=area("market_regulation", "110105"))

    assert plan.entries.count() == 2


# --- confirmation ----------------------------------------------------------------------


@pytest.fixture
def plan(team, market_regulator):
    for risk in (90.0, 80.0, 70.0):
        scored(tier=3, risk=risk)
    return generate(market_regulator, capacity=4)


def test_confirming_plans_the_scheduled_tasks_and_freezes_the_plan(plan, market_regulator):
    plans.plan_confirm(plan=plan, actor=market_regulator)

    plan.refresh_from_db()
    assert plan.status == "confirmed"
    scheduled = list(plan.entries.filter(outcome=Outcome.SCHEDULED).select_related("task"))
    assert len(scheduled) == 2
    for entry in scheduled:
        assert entry.task.source == InspectionTask.Source.RISK
        assert sorted(entry.task.inspectors.values_list("pk", flat=True)) == entry.inspector_ids
        assert (entry.task.due_from, entry.task.due_to) == Q3
    assert not plan.entries.filter(outcome=Outcome.OVER_CAPACITY, task__isnull=False).exists()
    event = AuditEvent.objects.get(action="plan.confirm", target_id=str(plan.pk))
    assert sorted(event.data["tasks"]) == sorted(e.task_id for e in scheduled)
    with pytest.raises(ValidationError):
        plan.save()
    with pytest.raises(ValidationError):
        plan.entries.first().save()


def test_confirming_twice_is_refused(plan, market_regulator):
    plans.plan_confirm(plan=plan, actor=market_regulator)
    with refused("already_confirmed", 409):
        plans.plan_confirm(plan=plan, actor=market_regulator)


def test_a_plan_with_nothing_due_cannot_be_confirmed(team, market_regulator):
    plan = generate(market_regulator)
    assert entries(plan) == []

    with refused("plan_empty", 409):
        plans.plan_confirm(plan=plan, actor=market_regulator)
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_a_plan_that_places_nobody_cannot_be_confirmed(market_regulator):
    scored(tier=3, risk=60.0)  # due, but no inspector of the department may go
    plan = generate(market_regulator)
    assert [entry.outcome for entry in entries(plan)] == [Outcome.NO_INSPECTORS]

    with refused("plan_empty", 409):
        plans.plan_confirm(plan=plan, actor=market_regulator)


def test_a_visit_planned_since_the_preview_refuses_the_whole_confirmation(plan, market_regulator, team):
    entry = plan.entries.filter(outcome=Outcome.SCHEDULED).last()
    planned_task(entry.enterprise, team[4:6])

    with refused("plan_stale", 409) as excinfo:
        plans.plan_confirm(plan=plan, actor=market_regulator)
    assert excinfo.value.details == {"enterprises": [entry.enterprise.uscc]}


def test_an_inspector_gone_since_the_preview_refuses_the_whole_confirmation(plan, market_regulator, team):
    entry = plan.entries.filter(outcome=Outcome.SCHEDULED).last()
    type(team[0]).objects.filter(pk=entry.inspector_ids[0]).update(active=False)

    with refused("inspector_out_of_scope", 422):
        plans.plan_confirm(plan=plan, actor=market_regulator)
