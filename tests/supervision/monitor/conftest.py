"""The monitor tests' dataset, built with the ORM at a frozen instant: rectification orders in
three districts, ratings of inspectors, and the inspectors one may send to a Chaoyang restaurant."""

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.models import Department, District
from supervision.models import Evaluation, Inspection, InspectionTask, RectificationOrder
from tests.factories import EnterpriseFactory, InspectorFactory, RegulatorFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=TZ)
Status = RectificationOrder.Status
_numbers = itertools.count(1)


def at(day: int, hour: int = 8, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=TZ)


def make_inspection(*, enterprise, department: str = "market_regulation", inspectors=()) -> Inspection:
    creator = UserFactory()
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=Department.objects.get(code=department),
        due_from=date(2025, 6, 1),
        due_to=date(2025, 6, 10),
        status=InspectionTask.Status.DONE,
        created_by=creator,
    )
    task.inspectors.set(inspectors)
    return Inspection.objects.create(
        task=task,
        enterprise=enterprise,
        started_by=creator,
        status=Inspection.Status.SUBMITTED,
        submitted_at=at(1),
    )


def make_order(*, enterprise, status, issued_at, deadline, closed_at=None, department="market_regulation"):
    order = RectificationOrder.objects.create(
        number=f"ZL-2025-{next(_numbers):06d}",
        enterprise=enterprise,
        inspection=make_inspection(enterprise=enterprise, department=department),
        status=status,
        deadline=deadline,
        closed_at=closed_at,
    )
    # issued_at is auto_now_add: set the history afterwards.
    RectificationOrder.objects.filter(pk=order.pk).update(issued_at=issued_at)
    return order


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def street_enterprise(db):
    """Catering, in a street of Chaoyang: rolls up into Chaoyang."""
    return EnterpriseFactory(district=District.objects.get(code="110105001"))


@pytest.fixture
def dongcheng_enterprise(db):
    return EnterpriseFactory(district=District.objects.get(code="110101"))


@pytest.fixture
def health_regulator(db):
    return RegulatorFactory(department=Department.objects.get(code="health")).user


@pytest.fixture
def orders(frozen, enterprise, street_enterprise, dongcheng_enterprise, far_enterprise):
    """Chaoyang (market regulation tasks): 4 open of which 2 overdue, 3 closed (2 on time;
    2, 5.5 and 1 days), 1 escalated. Dongcheng (fire rescue tasks): 2 closed (4 days on time,
    7 days late). Haidian medical, outside market regulation's scope: 1 overdue, 1 closed (10 days)."""
    chaoyang = {
        "overdue_issued": make_order(
            enterprise=enterprise, status=Status.ISSUED, issued_at=at(20), deadline=at(29)
        ),
        "overdue_returned": make_order(
            enterprise=enterprise, status=Status.RETURNED, issued_at=at(20), deadline=at(29, 9)
        ),
        # Past the deadline but the business has answered: waiting on the inspector, not overdue.
        "submitted_late": make_order(
            enterprise=enterprise, status=Status.SUBMITTED, issued_at=at(20), deadline=at(29)
        ),
        # Due this very instant: not yet past it.
        "due_now": make_order(enterprise=enterprise, status=Status.ISSUED, issued_at=at(20), deadline=NOW),
        "closed_2d": make_order(
            enterprise=enterprise,
            status=Status.CLOSED,
            issued_at=at(1, 23, 30),
            deadline=at(10),
            closed_at=at(3, 23, 30),
        ),
        "closed_5_5d_late": make_order(
            enterprise=enterprise,
            status=Status.CLOSED,
            issued_at=at(1, 12),
            deadline=at(5),
            closed_at=at(7, 0),
        ),
        "closed_1d": make_order(
            enterprise=street_enterprise,
            status=Status.CLOSED,
            issued_at=at(2, 10),
            deadline=at(10),
            closed_at=at(3, 10),
        ),
        "escalated": make_order(
            enterprise=street_enterprise, status=Status.ESCALATED, issued_at=at(20), deadline=at(25)
        ),
    }
    dongcheng = {
        "closed_4d": make_order(
            enterprise=dongcheng_enterprise,
            status=Status.CLOSED,
            issued_at=at(1),
            deadline=at(10),
            closed_at=at(5),
            department="fire_rescue",
        ),
        "closed_7d_late": make_order(
            enterprise=dongcheng_enterprise,
            status=Status.CLOSED,
            issued_at=at(1),
            deadline=at(7),
            closed_at=at(8),
            department="fire_rescue",
        ),
    }
    haidian = {
        "overdue": make_order(
            enterprise=far_enterprise,
            status=Status.ISSUED,
            issued_at=at(20),
            deadline=at(29),
            department="health",
        ),
        "closed_10d": make_order(
            enterprise=far_enterprise,
            status=Status.CLOSED,
            issued_at=at(1),
            deadline=at(20),
            closed_at=at(11),
            department="health",
        ),
    }
    return {
        **chaoyang,
        **{f"dc_{k}": v for k, v in dongcheng.items()},
        **{f"hd_{k}": v for k, v in haidian.items()},
    }


@pytest.fixture
def rated(frozen, enterprise, far_enterprise, business_user):
    a, b = (InspectorFactory(user=UserFactory(username=name)) for name in ("insp_a", "insp_b"))
    c = InspectorFactory(
        user=UserFactory(username="insp_c"), department=Department.objects.get(code="fire_rescue")
    )
    d = InspectorFactory(
        user=UserFactory(username="insp_d"),
        department=Department.objects.get(code="health"),
        districts=["110108"],
    )

    def rate(rating, inspectors, department="market_regulation", target=enterprise):
        inspection = make_inspection(enterprise=target, department=department, inspectors=inspectors)
        Evaluation.objects.create(inspection=inspection, rating=rating, created_by=business_user)

    rate(5, [a, b])
    rate(2, [a, b])
    rate(1, [a, c], department="fire_rescue")
    rate(4, [c, d], department="health", target=far_enterprise)  # medical: outside market regulation
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.fixture
def staff(db):
    """Who may be sent to a Chaoyang restaurant: the Chaoyang and city-wide inspectors, of any department."""
    make = InspectorFactory
    return {
        "chaoyang_1": make(user=UserFactory(username="cy1")),
        "chaoyang_2": make(user=UserFactory(username="cy2")),
        "city_fire": make(
            user=UserFactory(username="city"),
            department=Department.objects.get(code="fire_rescue"),
            districts=["110000"],
        ),
        "haidian": make(user=UserFactory(username="hd"), districts=["110108"]),
        "street_only": make(user=UserFactory(username="street"), districts=["110105001"]),
        "inactive": make(user=UserFactory(username="gone"), active=False),
        "inactive_user": make(user=UserFactory(username="locked", is_active=False)),
    }
