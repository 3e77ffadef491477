import pytest
from django.core.cache import cache

from tests.factories import (
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
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
    from core.models import District, Scene

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
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Uploaded and generated files of a test never land in the developer's var/media.
    settings.MEDIA_ROOT = tmp_path / "media"


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
