"""Joint inspections: confirming a plan or draw merges the departments' overlapping visits into one
task, whose record checks the merged checklist; each department's officials see their own items."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent, Complaint
from planning import draws, plans
from planning.joint import task_merge_joint
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionTask
from tests.factories import (
    Q3,
    MembershipFactory,
    RegulatorFactory,
    area,
    department,
    district,
    make_checklist,
    make_inspectors,
    make_ready,
    planned_task,
    scored,
    submit,
)

pytestmark = pytest.mark.django_db
CATERING = ("market_regulation", "fire_rescue", "ecology_environment")


@pytest.fixture
def checklists(db):
    """Catering checklists of its three departments: items mar-1..3, fir-1..3, eco-1..3."""
    return [make_checklist("catering", code, items=3) for code in CATERING]


@pytest.fixture
def shop(db):
    return scored(tier=3, risk=80.0)


@pytest.fixture
def teams(db):
    return {code: make_inspectors(2, department_code=code, prefix=code[:4]) for code in CATERING}


@pytest.fixture
def others(shop, teams):
    """Fire's visit for the quarter and environment's for mid-July to mid-August."""
    return {
        "fire_rescue": planned_task(shop, teams["fire_rescue"]),
        "ecology_environment": planned_task(
            shop, teams["ecology_environment"], due=(date(2025, 7, 15), date(2025, 8, 15))
        ),
    }


@pytest.fixture
def joint_task(shop, teams, others, market_regulator) -> InspectionTask:
    """Market regulation's risk plan, confirmed: its visit to the shop becomes the joint one."""
    plan = plans.plan_generate(
        actor=market_regulator, area=area(), period_from=Q3[0], period_to=Q3[1], capacity=2
    )
    plans.plan_confirm(plan=plan, actor=market_regulator)
    return plan.entries.get(enterprise=shop).task


def codes(task: InspectionTask) -> set[str]:
    return set(task.departments.values_list("code", flat=True))


def test_three_departments_visits_become_one_joint_task(joint_task, others, teams, market_regulator):
    joint_task.refresh_from_db()
    assert codes(joint_task) == set(CATERING)
    assert joint_task.department.code == "market_regulation" and joint_task.source == "risk"
    assert set(joint_task.inspectors.all()) == {i for team in teams.values() for i in team}
    # The intersection of the windows: every department's deadline holds.
    assert (joint_task.due_from, joint_task.due_to) == (date(2025, 7, 15), date(2025, 8, 15))
    for task in others.values():
        task.refresh_from_db()
        assert task.status == InspectionTask.Status.CANCELLED
        assert task.cancel_reason == f"Merged into joint task #{joint_task.pk}."
        assert task.cancelled_by == market_regulator
        assert AuditEvent.objects.filter(action="task.cancel", target_id=str(task.pk)).exists()
    event = AuditEvent.objects.get(action="task.join", target_id=str(joint_task.pk))
    assert event.data["merged"] == sorted(task.pk for task in others.values())
    assert event.data["departments"] == sorted(CATERING)
    confirm = AuditEvent.objects.get(action="plan.confirm")
    assert confirm.data["joint"] == [joint_task.pk]


def test_a_draw_merges_too(shop, teams, others, market_regulator):
    draw = draws.draw_create(
        actor=market_regulator, area=area(), period_from=Q3[0], period_to=Q3[1], tiers=[3], ratios={"3": 1}
    )
    draws.draw_confirm(draw=draw, actor=market_regulator)

    task = draw.entries.get().task
    assert task.source == "random" and codes(task) == set(CATERING)


def test_visits_that_do_not_overlap_stay_apart(shop, teams, market_regulator):
    later = planned_task(shop, teams["fire_rescue"], due=(date(2025, 10, 1), date(2025, 10, 31)))
    complaint = Complaint.objects.create(enterprise=shop, text="后厨脏乱", status=Complaint.Status.TASKED)
    checking = planned_task(shop, teams["ecology_environment"], complaint=complaint)
    same_department = planned_task(
        shop, teams["market_regulation"], due=(date(2025, 9, 1), date(2025, 12, 1))
    )
    new = planned_task(shop, make_inspectors(2, prefix="new"))

    task = task_merge_joint(task=new, actor=market_regulator)

    assert codes(task) == set()
    for other in (later, checking, same_department):
        other.refresh_from_db()
        assert other.status == InspectionTask.Status.PLANNED
    assert not AuditEvent.objects.filter(action="task.join").exists()


def test_a_window_that_would_empty_the_intersection_stays_apart(shop, teams, market_regulator):
    early = planned_task(shop, teams["fire_rescue"], due=(date(2025, 7, 1), date(2025, 7, 10)))
    late = planned_task(shop, teams["ecology_environment"], due=(date(2025, 9, 1), date(2025, 9, 30)))
    new = planned_task(shop, teams["market_regulation"])

    task = task_merge_joint(task=new, actor=market_regulator)

    assert codes(task) == {"market_regulation", "fire_rescue"}
    assert (task.due_from, task.due_to) == (date(2025, 7, 1), date(2025, 7, 10))
    late.refresh_from_db()
    early.refresh_from_db()
    assert late.status == "planned" and early.status == "cancelled"


# --- the joint record: merged checklist, each department's own results ---------------------------------


def item_codes(inspection: Inspection) -> set[str]:
    return {item.code for item in workflow.inspection_items(inspection)}


def test_the_joint_inspection_checks_every_departments_items(checklists, joint_task, teams):
    lead = teams["fire_rescue"][0].user

    inspection = workflow.inspection_start(task=joint_task, actor=lead)

    assert item_codes(inspection) == {f"{code[:3]}-{n}" for code in CATERING for n in (1, 2, 3)}


def test_a_single_department_task_checks_its_own_departments_items(checklists, shop, teams):
    fire = teams["fire_rescue"]
    # Fire's own regulator plans it: a department regulator staffs only its department's inspectors.
    fire_regulator = RegulatorFactory(department=department("fire_rescue"), district=district("110105")).user
    task = workflow.task_create(
        actor=fire_regulator, enterprise=shop, inspectors=fire, due_from=Q3[0], due_to=Q3[1]
    )

    inspection = workflow.inspection_start(task=task, actor=fire[0].user)

    assert item_codes(inspection) == {"fir-1", "fir-2", "fir-3"}


@pytest.fixture
def joint_record(checklists, joint_task, teams) -> Inspection:
    everyone = list(joint_task.inspectors.all())
    lead = everyone[0].user
    inspection = workflow.inspection_start(task=joint_task, actor=lead)
    make_ready(inspection, lead, everyone)
    return submit(inspection, lead)


def seen(user, inspection: Inspection) -> tuple[set[str], set[str]]:
    """(item codes in the API, item notes on the record page) the user gets."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    api = client.get(f"/api/v1/inspections/{inspection.pk}")
    assert api.status_code == 200, api.content
    page = client.get(reverse("loop:inspection", args=[inspection.pk]))
    assert page.status_code == 200
    return {item["code"] for item in api.json()["items"]}, set(
        re.findall(r"seen: ([a-z]{3}-\d)", page.content.decode())
    )


@pytest.mark.parametrize("code", CATERING)
def test_each_department_regulator_sees_the_results_of_its_own_items(joint_record, code):
    regulator = RegulatorFactory(department=department(code)).user
    mine = {f"{code[:3]}-{n}" for n in (1, 2, 3)}

    assert seen(regulator, joint_record) == (mine, mine)


@pytest.mark.parametrize("who", ["admin", "district_regulator", "inspector", "business"])
def test_admins_district_regulators_the_inspectors_and_the_business_see_every_item(
    joint_record, teams, admin_user, shop, who
):
    user = {
        "admin": lambda: admin_user,
        "district_regulator": lambda: RegulatorFactory(department=None, district=district("110105")).user,
        "inspector": lambda: teams["ecology_environment"][1].user,
        "business": lambda: MembershipFactory(enterprise=shop).user,
    }[who]()
    every = {f"{code[:3]}-{n}" for code in CATERING for n in (1, 2, 3)}

    assert seen(user, joint_record) == (every, every)


def test_an_inspector_not_on_the_task_sees_their_departments_items(joint_record):
    colleague = make_inspectors(1, department_code="fire_rescue", prefix="colleague")[0].user

    assert seen(colleague, joint_record) == ({"fir-1", "fir-2", "fir-3"},) * 2
