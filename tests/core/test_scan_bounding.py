"""Failed scans of /c/<anything> are recorded, but not without bound (issue 16, part 3): at most
SCAN_FAILURES_RECORDED_PER_MINUTE rows per client and minute, the rest counted on the last one;
every shown scan is still recorded."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core import codes
from core.models import ScanEvent

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(second=5, microsecond=0)


def scan(token: str, address="198.51.100.20"):
    return Client(REMOTE_ADDR=address).get(f"/c/{token}")


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.SCAN_FAILURES_RECORDED_PER_MINUTE = 10


def test_a_prober_s_failed_scans_are_recorded_ten_a_minute_and_counted_beyond(enterprise):
    with time_machine.travel(NOW, tick=False):
        statuses = {scan(f"probe{n:04d}").status_code for n in range(35)}
    assert statuses == {404}  # every probe still gets its answer
    rows = list(ScanEvent.objects.order_by("pk"))
    assert len(rows) == 10
    assert [row.repeats for row in rows] == [0] * 9 + [25]
    assert {row.outcome for row in rows} == {"malformed"}


def test_the_next_minute_records_again(enterprise):
    with time_machine.travel(NOW, tick=False):
        for n in range(12):
            scan(f"probe{n}")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        scan("probe-next")
    assert ScanEvent.objects.count() == 11
    assert ScanEvent.objects.order_by("-pk").first().token == "probe-next"


def test_every_shown_scan_is_recorded_and_other_clients_are_not_affected(enterprise):
    code = codes.code_issue(enterprise=enterprise)
    with time_machine.travel(NOW, tick=False):
        for n in range(15):
            scan(f"probe{n}")
        shown = [scan(code.token).status_code for _ in range(15)]
        scan("typo", address="203.0.113.2")
    assert shown == [200] * 15
    assert ScanEvent.objects.filter(outcome="ok").count() == 15
    assert ScanEvent.objects.filter(client=ScanEvent.objects.get(token="typo").client).count() == 1


def test_the_scan_list_shows_the_uncounted_repeats(admin_user):
    with time_machine.travel(NOW, tick=False):
        for n in range(13):
            scan(f"probe{n}")
    client = Client()
    client.force_login(admin_user)
    listed = client.get("/api/v1/scans", {"outcome": "malformed"}).json()["items"]
    assert len(listed) == 10 and [row["repeats"] for row in listed] == [3] + [0] * 9  # newest first
