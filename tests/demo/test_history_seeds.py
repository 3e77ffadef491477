"""The demo city's past is a function of its seed and today: the same seed tells the same city, another
seed another one, and a city told at any hour of the day keeps its rules (nothing after now, no
deadline on today). Each city here is small and built in a savepoint rolled back after it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import Complaint, Enterprise
from demo import seed as demo
from history.models import HistoricalInspection
from supervision.models import (
    CreditEvent,
    EnterpriseScore,
    Evaluation,
    Inspection,
    InspectionTask,
    Rectification,
    RectificationOrder,
    SelfInspection,
)

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
N = 16
PASSWORD = "demo-history-password"


def _summary() -> dict:
    """What the city's past says, without database ids (a rolled-back savepoint does not give
    PostgreSQL's sequences back, so a second city gets other ids)."""
    uscc = dict(Enterprise.objects.values_list("pk", "uscc"))
    tasks = InspectionTask.objects.prefetch_related("inspectors").select_related("department")
    return {
        "tasks": sorted(
            (
                uscc[t.enterprise_id],
                t.source,
                t.status,
                t.department.code,
                t.due_from,
                t.due_to,
                t.created_at,
                t.cancel_reason,
                tuple(sorted(i.certificate_no for i in t.inspectors.all())),
            )
            for t in tasks
        ),
        "inspections": sorted(
            (
                uscc[i.enterprise_id],
                i.submitted_at,
                i.conclusion,
                i.representative_name,
                i.refusal_note,
                tuple(sorted(i.answers.values_list("item__code", "result", "note"))),
            )
            for i in Inspection.objects.all()
        ),
        "orders": sorted(
            (uscc[o.enterprise_id], o.status, o.deadline, o.closed_at, o.escalated_at)
            for o in RectificationOrder.objects.all()
        ),
        "rectifications": sorted(
            Rectification.objects.values_list(
                "order__enterprise__uscc", "status", "submitted_at", "reviewed_at"
            )
        ),
        "evaluations": sorted(
            Evaluation.objects.values_list("inspection__enterprise__uscc", "rating", "comment", "created_at")
        ),
        "complaints": sorted(
            Complaint.objects.values_list("enterprise__uscc", "created_at", "status", "text", "contact")
        ),
        "self_inspections": sorted(
            (uscc[s.enterprise_id], s.submitted_at, s.content_hash) for s in SelfInspection.objects.all()
        ),
        "credit_events": sorted(
            CreditEvent.objects.values_list("enterprise__uscc", "kind", "occurred_on", "ends_on", "reference")
        ),
        "imported": sorted(
            HistoricalInspection.objects.values_list("enterprise__uscc", "inspected_on", "kind", "score")
        ),
        "scores": sorted(
            (uscc[s.enterprise_id], round(s.risk, 9), s.credit, s.tier) for s in EnterpriseScore.objects.all()
        ),
        "staff": sorted(
            get_user_model()
            .objects.filter(Q(username__startswith="insp1") | Q(username__startswith="owner_"))
            .values_list("username", "last_name", "first_name")
        ),
    }


def _city(seed: int, *, n: int = N) -> dict:
    """Seed a demo of ``n`` with ``seed``, summarise it, and roll it back."""
    savepoint = transaction.savepoint_create()
    try:
        result = demo.demo_seed(enterprises=n, password=PASSWORD, history=True, seed=seed)
        assert result.history.built and result.history.seed == seed
        return _summary()
    finally:
        transaction.savepoint_rollback(savepoint)


def test_the_same_seed_tells_the_same_city_and_another_seed_another():
    with time_machine.travel(datetime(2026, 5, 12, 15, 0, tzinfo=TZ), tick=False):
        first = _city(11)
        again = _city(11)
        other = _city(12)
    assert first["inspections"] and first["orders"] and first["complaints"]
    assert again == first
    differing = [part for part in first if first[part] != other[part]]
    # The register and the staff's certificates do not depend on the seed; the past does.
    assert {"tasks", "inspections", "orders", "complaints", "self_inspections", "staff"} <= set(differing)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 5, 12, 23, 30, tzinfo=TZ),
        datetime(2026, 5, 13, 0, 30, tzinfo=TZ),
        datetime(2026, 5, 12, 23, 59, 30, tzinfo=ZoneInfo("UTC")),
        datetime(2026, 5, 13, 0, 0, 30, tzinfo=ZoneInfo("UTC")),
    ],
    ids=["23:30 Shanghai", "00:30 Shanghai", "before UTC midnight", "after UTC midnight"],
)
def test_a_city_told_at_any_hour_keeps_its_rules(moment):
    with time_machine.travel(moment, tick=False):
        demo.demo_seed(enterprises=N, password=PASSWORD, history=True)
        now, today = timezone.now(), timezone.localdate()
        start_of_today = timezone.make_aware(datetime.combine(today, datetime.min.time()))
        start_of_tomorrow = start_of_today + timedelta(days=1)
        # The one thing of today: the demo's task for the inspector pair, planned just now.
        task = InspectionTask.objects.get(enterprise=demo.business_enterprise(), status="planned")
        assert task.due_from == today and task.created_at == now
        for model, field in (
            (Inspection, "submitted_at"),
            (Rectification, "submitted_at"),
            (Rectification, "reviewed_at"),
            (RectificationOrder, "closed_at"),
            (RectificationOrder, "escalated_at"),
            (Complaint, "created_at"),
            (Complaint, "triaged_at"),
            (Evaluation, "created_at"),
            (SelfInspection, "submitted_at"),
            (InspectionTask, "created_at"),
            (CreditEvent, "created_at"),
        ):
            # Everything past happened before today began: it is past at every hour of today.
            later = model.objects.filter(**{f"{field}__gte": start_of_today}).exclude(pk=task.pk)
            assert not later.exists(), (model, field)
        orders = RectificationOrder.objects
        assert not orders.filter(deadline__gte=start_of_today, deadline__lt=start_of_tomorrow).exists()
        assert orders.filter(status__in=RectificationOrder.OPEN, deadline__lt=now).exists()  # overdue
        assert orders.filter(status__in=RectificationOrder.OPEN, deadline__gt=now).exists()  # running
        assert not CreditEvent.objects.filter(occurred_on__gte=today).exists()
        assert set(EnterpriseScore.objects.values_list("credit", flat=True)) == {"A", "B", "C", "D"}
