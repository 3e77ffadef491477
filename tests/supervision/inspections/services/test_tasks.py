"""Planning and cancelling inspection tasks (supervision/inspections/services/tasks.py): every
transition, and every refusal with its code and the proof that nothing changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from supervision.inspections import services as workflow
from supervision.models import (
    InspectionTask,
    Result,
)
from tests.factories import items_of, make_task, make_team, png_bytes, submit
from tests.factories.inspections import events, refused

pytestmark = pytest.mark.django_db


def test_a_regulator_plans_a_task_for_two_inspectors(enterprise, team, regulator_user, loop_checklist):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user, note="  routine  ")

    assert task.status == InspectionTask.Status.PLANNED
    assert set(task.inspectors.all()) == set(team)
    assert task.department == team[0].department
    assert task.note == "routine"
    event = events("task.create", task).get()
    assert event.actor == regulator_user
    assert event.data["inspectors"] == sorted(i.certificate_no for i in team)
    assert event.data["enterprise"] == enterprise.uscc


def test_an_admin_plans_a_task(enterprise, team, admin_user):
    assert make_task(enterprise=enterprise, team=team, actor=admin_user).status == "planned"


@pytest.mark.parametrize("who", ["inspector_user", "business_user", "outsider"])
def test_only_regulators_plan_tasks(request, who, enterprise, team):
    with refused("forbidden", 403):
        make_task(enterprise=enterprise, team=team, actor=request.getfixturevalue(who))


def test_a_regulator_plans_only_in_scope(far_enterprise, regulator_user):
    far_team = make_team(2, districts=["110108"])
    with refused("forbidden", 403):
        make_task(enterprise=far_enterprise, team=far_team, actor=regulator_user)


def test_it_refuses_a_team_of_one(enterprise, team, regulator_user):
    with refused("too_few_inspectors", 422):
        make_task(enterprise=enterprise, team=team[:1], actor=regulator_user)


def test_the_same_inspector_twice_is_still_one(enterprise, team, regulator_user):
    with refused("too_few_inspectors", 422):
        make_task(enterprise=enterprise, team=[team[0], team[0]], actor=regulator_user)


def test_it_refuses_an_inspector_out_of_jurisdiction(enterprise, team, far_inspector, regulator_user):
    with refused("inspector_out_of_scope", 422) as excinfo:
        make_task(enterprise=enterprise, team=[team[0], far_inspector], actor=regulator_user)
    assert far_inspector.certificate_no in excinfo.value.message


def test_it_refuses_an_inactive_inspector(enterprise, team, regulator_user):
    team[1].active = False
    team[1].save()
    with refused("inspector_out_of_scope", 422):
        make_task(enterprise=enterprise, team=team, actor=regulator_user)


def test_it_refuses_a_reversed_window(enterprise, team, regulator_user):
    today = timezone.localdate()
    with refused("invalid_window", 422):
        make_task(
            enterprise=enterprise,
            team=team,
            actor=regulator_user,
            due_from=today + timedelta(days=3),
            due_to=today + timedelta(days=1),
        )


def test_it_refuses_a_window_in_the_past(enterprise, team, regulator_user):
    today = timezone.localdate()
    with refused("window_in_past", 422):
        make_task(
            enterprise=enterprise,
            team=team,
            actor=regulator_user,
            due_from=today - timedelta(days=5),
            due_to=today - timedelta(days=1),
        )


def test_a_window_ending_today_is_fine(enterprise, team, regulator_user):
    today = timezone.localdate()
    task = make_task(
        enterprise=enterprise,
        team=team,
        actor=regulator_user,
        due_from=today - timedelta(days=3),
        due_to=today,
    )
    assert task.due_to == today


def test_it_refuses_an_unknown_source(enterprise, team, regulator_user):
    with refused("invalid_source", 422):
        make_task(enterprise=enterprise, team=team, actor=regulator_user, source="whim")


# --- task_cancel --------------------------------------------------------------------------------------


def test_a_regulator_cancels_a_planned_task(task, regulator_user):
    task = workflow.task_cancel(task=task, actor=regulator_user, reason="  closed for renovation ")

    task.refresh_from_db()
    assert task.status == InspectionTask.Status.CANCELLED
    assert task.cancel_reason == "closed for renovation"
    assert task.cancelled_by == regulator_user
    assert events("task.cancel", task).get().data == {"reason": "closed for renovation"}


def test_cancelling_needs_a_reason(task, regulator_user):
    with refused("reason_required", 422):
        workflow.task_cancel(task=task, actor=regulator_user, reason="   ")


def test_inspectors_do_not_cancel_tasks(task, lead):
    with refused("forbidden", 403):
        workflow.task_cancel(task=task, actor=lead, reason="tired")


def test_a_done_task_is_not_cancellable(submitted_inspection, regulator_user):
    with refused("not_cancellable", 409):
        workflow.task_cancel(task=submitted_inspection.task, actor=regulator_user, reason="oops")


def test_a_cancelled_task_is_not_cancelled_twice(task, regulator_user):
    workflow.task_cancel(task=task, actor=regulator_user, reason="first")
    with refused("not_cancellable", 409):
        workflow.task_cancel(task=task, actor=regulator_user, reason="second")


def test_a_running_task_can_be_cancelled_and_its_draft_is_frozen(inspection, lead, team, regulator_user):
    item = next(iter(items_of(inspection).values()))
    workflow.task_cancel(task=inspection.task, actor=regulator_user, reason="wrong address")

    with refused("task_cancelled", 409):
        workflow.inspection_answer(
            inspection=inspection, actor=lead, item_id=item.pk, result=Result.COMPLIANT
        )
    with refused("task_cancelled", 409):
        workflow.inspection_sign(
            inspection=inspection, actor=lead, role="inspector", image=png_bytes(), inspector=team[0]
        )


def test_a_ready_draft_of_a_cancelled_task_cannot_be_submitted(ready, lead, regulator_user):
    workflow.task_cancel(task=ready.task, actor=regulator_user, reason="wrong address")
    with refused("task_cancelled", 409):
        submit(ready, lead)
    assert InspectionTask.objects.get(pk=ready.task_id).status == InspectionTask.Status.CANCELLED
