"""Regulators the supervision features (ranking, scoring policy, complaints) look through; the
personas every suite shares are in tests/conftest.py."""

import pytest

from core.models import District
from tests.factories import RegulatorFactory


@pytest.fixture
def city_regulator(db):
    """Market regulation, the whole city: manages the scoring policy."""
    return RegulatorFactory().user


@pytest.fixture
def haidian_regulator(db):
    return RegulatorFactory(department=None, district=District.objects.get(code="110108")).user
