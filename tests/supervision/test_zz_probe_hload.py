import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import PASSWORD
from tests.supervision.loop_helpers import items_of

pytest_plugins = ["tests.supervision.loop_helpers"]
pytestmark = pytest.mark.django_db


def test_probe(inspection, team):
    token = Client().post("/api/v1/auth/token", {"username": team[0].user.username, "password": PASSWORD, "device": "t"}, content_type="application/json").json()["token"]
    tablet = Client(headers={"Authorization": f"Bearer {token}"})
    items = list(items_of(inspection).values())
    url = f"/api/v1/inspections/{inspection.pk}/answers/"
    r = tablet.put(url + str(items[0].pk), {"result": "compliant", "note": "x"}, content_type="application/json")
    assert r.status_code == 200
    for label, item, body in (("new", items[1], {"result": "compliant"}), ("update", items[0], {"note": "y"})):
        with CaptureQueriesContext(connection) as ctx:
            r = tablet.put(url + str(item.pk), body, content_type="application/json")
        assert r.status_code == 200, r.content
        print(f"\n=== {label}: {len(ctx.captured_queries)} queries")
        for q in ctx.captured_queries:
            print("  ", q["sql"][:400])
