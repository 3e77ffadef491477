"""How fast a full batch goes in: 10,000 signals (half keyed to enterprises, half located) and
10,000 attributes through the API, the whole stack (JSON, key, checks, lookups, bulk_create, audit),
then the same batch again (a retry: every row looked up, nothing written).

Not part of the suite (seconds, not milliseconds): run it with
    BENCH_SOURCES=1 .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/history/test_ingest_bench.py
and with DATABASE_URL=postgres://... for PostgreSQL. It prints rows per second."""

import os
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from history.models import Signal
from tests.factories import EnterpriseFactory
from tests.history.helpers import issue_key, make_source, post_batch

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("BENCH_SOURCES"), reason="benchmark: set BENCH_SOURCES=1"),
]
ROWS = 10_000
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _timed(label: str, send) -> None:
    started = time.perf_counter()
    response = send()
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.content[:2000]
    print(
        f"\n{label}: {ROWS} rows in {seconds:.2f} s = {ROWS / seconds:,.0f} rows/s"
        f" ({response.json()['created']} new)"
    )


def test_a_full_batch_of_signals_and_of_attributes():
    source = make_source("bench", max_batch_rows=ROWS, rate_limit_per_minute=100)
    key = issue_key(source)
    usccs = [EnterpriseFactory().uscc for _ in range(200)]
    start = NOW - timedelta(days=365)
    signals = [
        {
            "signal_id": f"B-{n:06d}",
            "kind": "garbage_complaint",
            "occurred_at": (start + timedelta(minutes=37 * n)).isoformat(),
            **(
                {"business_key": usccs[n % len(usccs)]}
                if n % 2
                else {"latitude": 39.9 + n / 1e5, "longitude": 116.4 - n / 1e5}
            ),
            "description": "垃圾外溢，异味明显",
        }
        for n in range(ROWS)
    ]
    names = ["risk_class", "tobacco", "seats", "facility_type", "licence_first_issued"]
    values = {
        "risk_class": "high",
        "tobacco": "1",
        "seats": 40,
        "facility_type": "餐馆",
        "licence_first_issued": "2010-05-16",
    }
    attributes = [
        {
            "business_key": usccs[n % len(usccs)],
            "name": names[(n // len(usccs)) % len(names)],
            "value": values[names[(n // len(usccs)) % len(names)]],
            "valid_from": (start.date() + timedelta(days=n // (len(usccs) * len(names)))).isoformat(),
        }
        for n in range(ROWS)
    ]
    with time_machine.travel(NOW, tick=True):
        post_batch(source.code, "signals", [], key=key)  # the first request of a process loads the URLs
        _timed("signals", lambda: post_batch(source.code, "signals", signals, key=key))
        _timed("signals, retried", lambda: post_batch(source.code, "signals", signals, key=key))
        _timed("attributes", lambda: post_batch(source.code, "attributes", attributes, key=key))
        _timed("attributes, retried", lambda: post_batch(source.code, "attributes", attributes, key=key))
    assert Signal.objects.count() == ROWS


def test_the_chicago_folder():
    """All of ../shared/data/chicago-2014h1: 12,312 businesses, their history, 172,718 attribute rows
    and 65,397 hotline complaints; then again (nothing changes)."""
    from history.lives import lives_import
    from history.models import EnterpriseAttribute

    for run in ("first", "again"):
        started = time.perf_counter()
        report = lives_import(directory="/work/shared/data/chicago-2014h1")
        seconds = time.perf_counter() - started
        assert report.exchange_refused == []
        print(f"\nchicago, {run}: {seconds:.1f} s in all")
        for imported in report.exchange:
            print(
                f"  {imported.file}: {imported.seconds:.1f} s, {imported.total('rows')} rows, "
                f"{imported.total('created')} new, {imported.repeated} repeated, "
                f"{imported.superseded} superseded"
            )
    assert EnterpriseAttribute.objects.count() == 169_761
    assert Signal.objects.count() == 65_082
