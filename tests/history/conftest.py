import pytest

from tests.factories import EnterpriseFactory, InspectorFactory, MembershipFactory, UserFactory
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


@pytest.fixture
def people(db, chaoyang_regulator, health_regulator, admin_user, regulator_user):
    """Everyone the sources' pages and API answer differently: only the admin and the city-level
    regulator (``regulator``) manage sources."""
    return {
        "anonymous": None,
        "outsider": UserFactory(),
        "business": MembershipFactory().user,
        "inspector": InspectorFactory().user,
        "chaoyang_regulator": chaoyang_regulator,
        "regulator": regulator_user,
        "health_regulator": health_regulator,
        "admin": admin_user,
    }
