"""Staffing a task: a department regulator plans for their own department, so puts only its
inspectors on a task (supervision.inspections.permissions.staffing_departments, checked by
workflow.task_create for every way a task is planned: the API, the monitor's page, a re-inspection,
a complaint, a plan or draw); a regulator of every department staffs any. A joint visit is made by
merging each department's own tasks (planning.joint), never by one department staffing another's
inspectors."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from supervision.models import InspectionTask, RectificationOrder
from tests.factories import EnterpriseFactory, make_inspectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    """Catering, Chaoyang: market regulation, fire and environment supervise it."""
    return EnterpriseFactory()


@pytest.fixture
def market(db):
    return make_inspectors(2, "market_regulation", prefix="mkt")


@pytest.fixture
def fire(db):
    return make_inspectors(2, "fire_rescue", prefix="fire")


def client_of(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def window() -> dict:
    today = timezone.localdate()
    return {"due_from": str(today), "due_to": str(today + timedelta(days=7)), "source": "manual"}


def test_a_department_regulator_staffs_a_task_with_their_departments_inspectors_only(
    shop, market, fire, market_regulator, chaoyang_regulator
):
    client = client_of(market_regulator)
    mixed = {"enterprise": shop.uscc, "inspectors": [market[0].pk, fire[0].pk], **window()}

    refused = client.post("/api/v1/tasks", mixed, content_type="application/json")

    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "inspector_other_department"
    assert refused.json()["details"] == {"inspectors": [fire[0].pk]}
    assert not InspectionTask.objects.exists()
    assert not AuditEvent.objects.filter(action="task.create").exists()

    own = {**mixed, "inspectors": [i.pk for i in market]}
    assert client.post("/api/v1/tasks", own, content_type="application/json").status_code == 201
    # The regulator of every department of the district plans for all of them.
    anyone = client_of(chaoyang_regulator).post("/api/v1/tasks", mixed, content_type="application/json")
    assert anyone.status_code == 201, anyone.content
    assert InspectionTask.objects.count() == 2


def test_the_monitors_task_page_refuses_another_departments_inspector(shop, market, fire, market_regulator):
    url = reverse("monitor:task-new") + f"?enterprise={shop.uscc}"
    client = client_of(market_regulator)

    page = client.post(url, {"inspectors": [market[0].pk, fire[1].pk], **window()})

    assert page.status_code == 403
    assert "is an inspector of another department" in page.content.decode()
    assert not InspectionTask.objects.exists()
    assert client.post(url, {"inspectors": [i.pk for i in market], **window()}).status_code == 302


def test_a_reinspection_is_staffed_with_the_planners_department_only(
    order: RectificationOrder, team, fire, market_regulator, chaoyang_regulator
):
    """The loop's order (market regulation's findings): the market regulator is offered and may send
    market inspectors only; the regulator of every department is offered fire's too."""
    page = client_of(market_regulator).get(reverse("loop:order", args=[order.pk])).content.decode()
    assert 'id="reinspect"' in page
    assert all(f'name="inspectors" value="{i.pk}"' in page for i in team)
    assert not any(f'name="inspectors" value="{i.pk}"' in page for i in fire)
    everyone = client_of(chaoyang_regulator).get(reverse("loop:order", args=[order.pk])).content.decode()
    assert all(f'name="inspectors" value="{i.pk}"' in everyone for i in fire)

    url = f"/api/v1/orders/{order.pk}/reinspection"
    client = client_of(market_regulator)
    refused = client.post(url, {"inspectors": [team[0].pk, fire[0].pk], **window()}, "application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "inspector_other_department"
    assert not InspectionTask.objects.filter(origin_order=order).exists()
    sent = client.post(url, {"inspectors": [i.pk for i in team], **window()}, "application/json")
    assert sent.status_code == 201, sent.content
