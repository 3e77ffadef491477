"""Why a task exists is said in the reader's language: the complaint it checks, the order it
re-inspects, the plan or draw that planned it; the note holds only what a person wrote."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from core.models import Complaint
from supervision.complaints import services as triage
from supervision.models import InspectionTask
from tests.factories import make_task, planned_task

pytestmark = pytest.mark.django_db

migration = importlib.import_module("supervision.migrations.0007_task_origin")


def today_page(user, language: str) -> str:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client.get(reverse("loop:today")).content.decode()


@pytest.fixture
def complaint_task(enterprise, team, regulator_user, loop_checklist):
    complaint = Complaint.objects.create(enterprise=enterprise, text="后厨有老鼠", contact="", client="test")
    today = timezone.localdate()
    with translation.override("zh-hans"):  # planned by a regulator who reads Chinese
        return triage.complaint_to_task(
            complaint=complaint,
            actor=regulator_user,
            inspectors=team,
            note="带上手电",
            due_from=today,
            due_to=today + timedelta(days=3),
        )


def test_todays_tasks_say_why_in_the_readers_language(complaint_task, lead):
    number = complaint_task.complaint_id

    english = today_page(lead, "en")
    chinese = today_page(lead, "zh-hans")

    assert f"Complaint #{number}: 后厨有老鼠" in english and "投诉举报" not in english
    assert f"投诉举报 #{number}：后厨有老鼠" in chinese
    assert "带上手电" in english and "带上手电" in chinese  # a person's note stays as written


def test_the_api_says_why_in_the_requests_language(complaint_task, lead):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(lead)

    task = client.get(f"/api/v1/tasks/{complaint_task.pk}").json()

    assert task["note"] == "带上手电"
    assert task["origin"] == f"Complaint #{complaint_task.complaint_id}: 后厨有老鼠"


def test_a_task_planned_by_hand_has_no_origin(enterprise, team, regulator_user, loop_checklist):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user, note="routine")
    assert task.origin_text() == "" and task.note == "routine"


@pytest.mark.parametrize(
    ("origin", "english", "chinese"),
    [
        ({"plan": 7}, "Risk-driven plan #7", "风险检查计划 #7"),
        ({"draw": 9}, "Double-random draw #9", "双随机抽查 #9"),
    ],
)
def test_a_planned_task_names_its_plan_or_draw(origin, english, chinese):
    task = InspectionTask(origin=origin)
    with translation.override("en"):
        assert task.origin_text() == english
    with translation.override("zh-hans"):
        assert task.origin_text() == chinese


# --- the notes written before the origin was data ------------------------------------------------


@pytest.mark.parametrize(
    ("source", "note", "kept", "origin"),
    [
        ("risk", "风险检查计划 #12", "", {"plan": 12}),
        ("risk", "Risk-driven plan #3", "", {"plan": 3}),
        ("random", "双随机抽查 #5", "", {"draw": 5}),
        ("random", "Double-random draw #6", "", {"draw": 6}),
        ("manual", "Risk-driven plan #3", "Risk-driven plan #3", {}),  # typed by a person
        ("risk", "Risk-driven plan #3, and bring a torch", "Risk-driven plan #3, and bring a torch", {}),
    ],
)
def test_old_plan_and_draw_notes_become_the_origin(enterprise, team, source, note, kept, origin):
    task = make_legacy_task(enterprise, team, source=source, note=note)

    migration.notes_to_origin(apps, None)

    task.refresh_from_db()
    assert (task.note, task.origin) == (kept, origin)


def test_old_complaint_notes_keep_only_what_the_regulator_wrote(enterprise, team):
    complaint = Complaint.objects.create(enterprise=enterprise, text="厨房很脏\n\n有老鼠", client="test")
    both = make_legacy_task(
        enterprise,
        team,
        source="complaint",
        complaint=complaint,
        note=f"带上手电\n\n投诉举报 #{complaint.pk}：厨房很脏\n\n有老鼠",
    )
    alone = make_legacy_task(
        enterprise, team, source="complaint", complaint=complaint, note=f"Complaint #{complaint.pk}: 厨房很脏"
    )

    migration.notes_to_origin(apps, None)

    both.refresh_from_db(), alone.refresh_from_db()
    assert (both.note, alone.note) == ("带上手电", "")
    assert both.origin_text().endswith("厨房很脏\n\n有老鼠")


def make_legacy_task(enterprise, team, **fields) -> InspectionTask:
    return planned_task(enterprise, team, **fields)
