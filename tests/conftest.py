"""Fixtures every suite may use: the personas, the inspection loop up to an issued order, and the
test-run settings (cache, media, password hashing, language)."""

import pytest
from django.core.cache import cache

from core.models import Department, District, Inspector, Scene
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionTask, RectificationOrder
from tests.factories import (
    FAILING,
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
    make_checklist,
    make_ready,
    make_task,
    make_team,
    submit,
)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttles and rate limits live in the cache; each test starts with none spent.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def enterprise(db):
    return EnterpriseFactory()


@pytest.fixture
def other_enterprise(db):
    """Same district and scene as `enterprise`, different owner."""
    return EnterpriseFactory()


@pytest.fixture
def far_enterprise(db):
    """In another district (Haidian) and a scene market regulation does not supervise (medical)."""
    return EnterpriseFactory(
        district=District.objects.get(code="110108"), scene=Scene.objects.get(code="medical")
    )


@pytest.fixture
def business_user(enterprise):
    return MembershipFactory(enterprise=enterprise).user


@pytest.fixture
def inspector_user(db):
    return InspectorFactory().user


@pytest.fixture
def regulator_user(db):
    return RegulatorFactory().user


@pytest.fixture
def chaoyang_regulator(db):
    """Every department, Chaoyang only (its streets included): ranks and plans there, does not set
    the scoring policy."""
    return RegulatorFactory(department=None, district=District.objects.get(code="110105")).user


@pytest.fixture
def health_regulator(db):
    return RegulatorFactory(department=Department.objects.get(code="health")).user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


# The inspection loop, step by step. Names differ from tests/supervision/self_inspection/conftest.py's
# (draft, submitted, checklists), which would shadow these there.


@pytest.fixture
def loop_checklist(db):
    """Catering / market regulation v1 with three items (minor, major, critical)."""
    return make_checklist("catering", "market_regulation", items=3)


@pytest.fixture
def team(db) -> list[Inspector]:
    return make_team()


@pytest.fixture
def task(enterprise, team, regulator_user, loop_checklist) -> InspectionTask:
    return make_task(enterprise=enterprise, team=team, actor=regulator_user)


@pytest.fixture
def lead(team):
    """The user of the first inspector of the team: the one holding the tablet."""
    return team[0].user


@pytest.fixture
def inspection(task, lead) -> Inspection:
    """Started, nothing answered."""
    return workflow.inspection_start(task=task, actor=lead)


@pytest.fixture
def ready(inspection, lead, team) -> Inspection:
    """Answered (mar-1 and mar-2 not compliant) and signed by all, not yet submitted."""
    return make_ready(inspection, lead, team, FAILING)


@pytest.fixture
def submitted_inspection(ready, lead) -> Inspection:
    """Submitted with conclusion rectify: two findings, one order."""
    return submit(ready, lead, Inspection.Conclusion.RECTIFY)


@pytest.fixture
def order(submitted_inspection) -> RectificationOrder:
    return RectificationOrder.objects.get(inspection=submitted_inspection)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Uploaded and generated files of a test never land in the developer's var/media.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _audit_checkpoints(settings, tmp_path):
    # The audit chain's checkpoints of one test's database never meet another test's (nor the
    # developer's var/): verify_audit would take them for a truncated chain. Created on first write.
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 at production strength costs ~0.3 s per user; tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_outside_requests():
    # Services and commands speak the active language (Chinese by default); tests assert on the
    # English source strings. Requests still pick their language through LocaleMiddleware.
    from django.utils import translation

    with translation.override("en"):
        yield
