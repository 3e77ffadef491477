import pytest

from tests.factories import EnterpriseFactory
from tests.history.helpers import issue_key, make_source


@pytest.fixture
def register(db):
    """A USCC-keyed source that may send the register attributes and the signals of
    tests.history.helpers."""
    return make_source()


@pytest.fixture
def register_key(register) -> str:
    return issue_key(register)


@pytest.fixture
def other_source(db):
    """Another source, with an attribute and a kind of its own (``alcohol``, ``camera_alert``)."""
    return make_source(
        "kitchen_cameras",
        kind="camera",
        attribute_schema={"alcohol": {"type": "flag"}},
        signal_schema={"camera_alert": {"value": "none", "keyed": True, "located": False}},
    )


@pytest.fixture
def other_key(other_source) -> str:
    return issue_key(other_source)


@pytest.fixture
def shop(db):
    return EnterpriseFactory()
