"""Planning's builders: enterprises carrying score rows made directly (tier, risk, last
inspection), inspectors built per department and district, tasks and inspections written without
the services (history, and other departments' plans)."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from core.models import Department, District, Enterprise, Inspector
from planning.common import Area
from supervision.models import EnterpriseScore, Inspection, InspectionTask
from supervision.risk.scoring import current_policy
from tests.factories.core import EnterpriseFactory, InspectorFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")
# The quarter from planning's frozen today (tests/planning/conftest.py): 92 days.
Q3 = (date(2025, 7, 1), date(2025, 9, 30))


def department(code: str) -> Department:
    return Department.objects.get(code=code)


def district(code: str) -> District:
    return District.objects.get(code=code)


def area(department_code: str = "market_regulation", district_code: str | None = "110105") -> Area:
    return Area(department(department_code), district(district_code) if district_code else None)


def scored(
    enterprise: Enterprise | None = None, *, tier: int, risk: float = 50.0, last: date | None = None, **fields
) -> Enterprise:
    """An enterprise (catering, Chaoyang unless ``fields`` say otherwise) with a score row."""
    enterprise = enterprise or EnterpriseFactory(**fields)
    EnterpriseScore.objects.update_or_create(
        enterprise=enterprise,
        defaults={
            "policy": current_policy(),
            "as_of": timezone.now(),
            "risk": risk,
            "risk_level": "medium",
            "credit": "A",
            "tier": tier,
            "last_inspected_on": last,
        },
    )
    return enterprise


def make_inspectors(
    n: int, department_code: str = "market_regulation", districts=("110105",), prefix: str = "insp"
) -> list[Inspector]:
    return [
        InspectorFactory(
            user=UserFactory(username=f"{prefix}-{uuid.uuid4().hex[:8]}", first_name=f"{prefix} {i + 1}"),
            department=department(department_code),
            districts=list(districts),
        )
        for i in range(n)
    ]


def planned_task(
    enterprise: Enterprise,
    inspectors: list[Inspector],
    *,
    due: tuple[date, date] = Q3,
    department_code: str | None = None,
    status: str = InspectionTask.Status.PLANNED,
    **fields,
) -> InspectionTask:
    """A task written directly (no audit): history and other departments' plans in the fixtures."""
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=department(department_code) if department_code else inspectors[0].department,
        due_from=due[0],
        due_to=due[1],
        status=status,
        created_by=UserFactory(),
        **fields,
    )
    task.inspectors.set(inspectors)
    return task


def inspected_by(enterprise: Enterprise, inspectors: list[Inspector], *, on: date) -> Inspection:
    """A submitted inspection by these inspectors (the enterprise's last one, if the newest)."""
    task = planned_task(
        enterprise, inspectors, due=(on, on), status=InspectionTask.Status.DONE, department_code=None
    )
    return Inspection.objects.create(
        task=task,
        enterprise=enterprise,
        started_by=task.created_by,
        status=Inspection.Status.SUBMITTED,
        submitted_at=datetime(on.year, on.month, on.day, 10, tzinfo=TZ),
    )
