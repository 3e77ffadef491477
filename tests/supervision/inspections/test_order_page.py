"""The order page as the inspector checks a rectification: the business's evidence comes before
the accept / reject decision, so it is read before it is judged."""

import pytest
from django.test import Client

from tests.factories import rectify

pytestmark = pytest.mark.django_db


def test_the_evidence_comes_before_the_decision(order, business_user, lead):
    rectify(order, business_user)
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(lead)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="verify"' in page
    assert page.index("<h2>Rectifications</h2>") < page.index('id="verify"')
