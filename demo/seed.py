"""Demo data: realistic Beijing enterprises (demo.rows, demo.enterprises), one login per role
and scope (demo.logins) and the city's past (demo.past), seeded together here.

Used by ``manage.py seed_demo`` for demos, manual testing and load tests (2.5 million
enterprises, the size of the city, load in minutes on PostgreSQL). Tests and bench/ import the
demo's names from this module, so it re-exports those of the other three.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.codes import codes_issue_missing
from core.models import Inspector
from demo.enterprises import (
    CHUNK_SIZE,
    Progress,
    business_enterprise,
    demo_enterprise_count,
    demo_enterprises,
    enterprises_seed,
)
from demo.logins import DEMO_USERS, DemoUser, Login, demo_password, display_width, login_table, users_seed
from demo.past import DEFAULT_SEED, HISTORY_LIMIT, HistoryResult, history_seed
from demo.rows import DEMO_MARKER, EnterpriseRow, demo_uscc, enterprise_rows
from supervision.inspections.services import task_create
from supervision.models import InspectionTask

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_SEED",
    "DEMO_MARKER",
    "DEMO_USERS",
    "HISTORY_LIMIT",
    "DemoUser",
    "EnterpriseRow",
    "HistoryResult",
    "Login",
    "Progress",
    "SeedResult",
    "business_enterprise",
    "demo_enterprise_count",
    "demo_enterprises",
    "demo_password",
    "demo_seed",
    "demo_task_seed",
    "demo_uscc",
    "display_width",
    "enterprise_rows",
    "enterprises_seed",
    "history_seed",
    "login_table",
    "users_seed",
]


@dataclass
class SeedResult:
    enterprises_created: int
    enterprises_demo_total: int
    users_created: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)
    history: HistoryResult | None = None


def demo_task_seed() -> None:
    """An open task for today on the business's enterprise, so the loop can be tried at once:
    inspector and inspector2 inspect, business answers the order. Planned again when none is open."""

    enterprise = business_enterprise()
    open_statuses = (InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS)
    if InspectionTask.objects.filter(enterprise=enterprise, status__in=open_statuses).exists():
        return
    User = get_user_model()
    team = list(Inspector.objects.filter(user__username__in=["inspector", "inspector2"]))
    today = timezone.localdate()
    task_create(
        actor=User.objects.get(username="regulator"),
        enterprise=enterprise,
        inspectors=team,
        due_from=today,
        due_to=today + timedelta(days=7),
        note="演示任务 · demo task",
    )


def demo_seed(
    *,
    enterprises: int,
    password: str,
    method: str = "auto",
    progress: Progress | None = None,
    history: bool = False,
    seed: int = DEFAULT_SEED,
) -> SeedResult:
    """Top the demo enterprises up to ``enterprises``, (re)set the demo logins to ``password`` and,
    with ``history`` (what ``manage.py seed_demo`` does unless told --no-history), give the first
    ``HISTORY_LIMIT`` of them their past (demo.past, told from ``seed``) and recompute the scores."""
    created = enterprises_seed(total=enterprises, method=method, progress=progress)
    # Every demo enterprise gets its identity code, as a real rollout would print them all.
    codes_issue_missing(enterprises=demo_enterprises())
    with transaction.atomic():
        users_created, users_updated, logins = users_seed(password=password)
        demo_task_seed()
        demo_total = demo_enterprise_count()
        audit_record(
            actor=None,
            action="demo.seed",
            data={
                "enterprises_requested": enterprises,
                "enterprises_created": created,
                "enterprises_demo_total": demo_total,
                "users_created": users_created,
                "users_updated": users_updated,
            },
        )
    result = SeedResult(created, demo_total, users_created, users_updated, logins)
    if history:
        result.history = history_seed(seed=seed, enterprises=demo_total)
    return result
