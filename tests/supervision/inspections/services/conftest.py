"""Fixtures the inspection service tests share: a member of another business, an inspector
without jurisdiction over the loop's enterprise, and an order the business has answered."""

import pytest

from tests.factories import MembershipFactory, make_team, rectify


@pytest.fixture
def other_member(other_enterprise):
    return MembershipFactory(enterprise=other_enterprise).user


@pytest.fixture
def far_inspector(db):
    """A market-regulation inspector of Haidian: no jurisdiction over Chaoyang."""
    return make_team(1, districts=["110108"], prefix="far")[0]


@pytest.fixture
def rectified(order, business_user):
    rectify(order, business_user)
    order.refresh_from_db()
    return order
