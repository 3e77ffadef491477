"""Planning's fixtures: time stands still on 1 July 2025 (a Tuesday), the first day of the quarter
tests.factories.Q3; the builders (scored enterprises, inspectors per department) are in
tests/factories/planning.py."""

from datetime import datetime

import pytest
import time_machine

from tests.factories import TZ, RegulatorFactory, district

NOW = datetime(2025, 7, 1, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def market_regulator(db):
    """Market regulation, Chaoyang."""
    return RegulatorFactory(district=district("110105")).user
