"""Builders for tests, one module per package they build for, all importable from here.

The modules import models and services, and of their siblings only core and images: never a test
module or a conftest, so no cycle can form. The fixtures built on them live in conftest.py files.
"""

from tests.factories.checklists import make_checklist, make_manual, publish_checklist
from tests.factories.content_io import CSV_TEXT, VALID, mutate
from tests.factories.core import (
    PASSWORD,
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
    api_token,
    make_uscc,
    tablet_client,
    tablet_for,
)
from tests.factories.images import fake_jpeg, jpeg, jpeg_bytes, png_bytes
from tests.factories.inspections import (
    FAILING,
    answer_all,
    items_of,
    make_ready,
    make_task,
    make_team,
    rectify,
    sign_all,
    submit,
)
from tests.factories.planning import (
    Q3,
    TZ,
    area,
    department,
    district,
    inspected_by,
    make_inspectors,
    planned_task,
    scored,
)
from tests.factories.processes import PRODUCTION, run_manage
from tests.factories.risk import RankingWorld, make_ranking_world, make_score
from tests.factories.self_inspection import FIRE_ITEMS, MARKET_ITEMS, item_of

__all__ = [
    "CSV_TEXT",
    "FAILING",
    "FIRE_ITEMS",
    "MARKET_ITEMS",
    "PASSWORD",
    "PRODUCTION",
    "Q3",
    "TZ",
    "VALID",
    "EnterpriseFactory",
    "InspectorFactory",
    "MembershipFactory",
    "RankingWorld",
    "RegulatorFactory",
    "UserFactory",
    "answer_all",
    "api_token",
    "area",
    "department",
    "district",
    "fake_jpeg",
    "inspected_by",
    "item_of",
    "items_of",
    "jpeg",
    "jpeg_bytes",
    "make_checklist",
    "make_inspectors",
    "make_manual",
    "make_ranking_world",
    "make_ready",
    "make_score",
    "make_task",
    "make_team",
    "make_uscc",
    "mutate",
    "planned_task",
    "png_bytes",
    "publish_checklist",
    "rectify",
    "run_manage",
    "scored",
    "sign_all",
    "submit",
    "tablet_client",
    "tablet_for",
]
