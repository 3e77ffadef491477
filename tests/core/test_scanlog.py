"""Shown scans written in batches (core.scanlog): none lost, each with the moment it was served.

The suite writes every scan in its request (SCAN_LOG_BATCH=1, pyproject.toml); these tests turn
the batching on as production has it."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import Client

from core import scanlog
from core.models import IdentityCode, ScanEvent
from core.scanlog import scan_log
from tests.factories import EnterpriseFactory

ROOT = Path(__file__).resolve().parents[2]


def _token(index: int) -> str:
    return f"23456789ABCDEFGHJKMN{'ABCDEFGH'[index]}Q"


@pytest.fixture
def codes(db):
    return [
        IdentityCode.objects.create(
            enterprise=EnterpriseFactory(), token=f"23456789ABCDEFGHJKMN{'ABCDEFGH'[i]}Q"
        )
        for i in range(4)
    ]


@pytest.fixture
def batched(settings, db):
    settings.SCAN_LOG_BATCH = 3
    settings.SCAN_LOG_FLUSH_MS = 600_000
    yield settings
    scan_log.flush()


def test_shown_scans_wait_for_a_full_batch_and_keep_the_moment_they_were_served(batched, codes):
    client = Client()
    served = datetime(2026, 3, 1, 15, 59, 58, tzinfo=UTC)  # just before midnight in Beijing
    for index, code in enumerate(codes[:3]):
        with time_machine.travel(served + timedelta(seconds=index), tick=False):
            assert client.get(f"/c/{code.token}").status_code == 200
        if index < 2:
            assert ScanEvent.objects.count() == 0
            assert scan_log.pending() == index + 1
    assert scan_log.pending() == 0
    rows = list(ScanEvent.objects.order_by("at").values_list("code__token", "at", "outcome", "view"))
    assert rows == [
        (code.token, served + timedelta(seconds=index), "ok", "public")
        for index, code in enumerate(codes[:3])
    ]


def test_an_old_batch_is_written_by_the_next_scan(batched, codes, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(scan_log, "clock", lambda: now[0])
    client = Client()
    client.get(f"/c/{codes[0].token}")
    assert ScanEvent.objects.count() == 0
    now[0] += batched.SCAN_LOG_FLUSH_MS / 1000  # the oldest has waited the whole period
    client.get(f"/c/{codes[1].token}")
    assert ScanEvent.objects.count() == 2


def test_failed_scans_are_written_at_once(batched, codes):
    IdentityCode.objects.filter(pk=codes[0].pk).update(status=IdentityCode.Status.REVOKED)
    client = Client()
    assert client.get(f"/c/{codes[0].token}").status_code == 410
    assert client.get("/c/23456789ABCDEFGHJKMNPQ").status_code == 404
    assert sorted(ScanEvent.objects.values_list("outcome", flat=True)) == ["revoked", "unknown"]
    assert scan_log.pending() == 0


def test_a_batch_the_database_refused_is_kept_and_written_with_the_next(batched, codes, monkeypatch):
    client = Client()
    original = scanlog._write
    calls = []

    def refuse_once(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise OperationalError("the database is restarting")
        return original(rows)

    monkeypatch.setattr(scanlog, "_write", refuse_once)
    for code in codes[:3]:
        assert client.get(f"/c/{code.token}").status_code == 200  # the scan is shown all the same
    assert ScanEvent.objects.count() == 0
    assert scan_log.pending() == 3
    client.get(f"/c/{codes[3].token}")  # the batch is full again: the three kept and this one
    assert calls == [3, 4]
    assert sorted(ScanEvent.objects.values_list("code_id", flat=True)) == sorted(
        [code.pk for code in codes[:3]] + [codes[3].pk]
    )
    assert scan_log.pending() == 0


def test_a_batch_is_stored_as_its_scans_were_served(batched, codes, admin_user):
    # PostgreSQL writes a batch with COPY, SQLite with one INSERT: the same rows either way.
    served = datetime(2026, 3, 1, 16, 0, 0, 123456, tzinfo=UTC)
    events = [
        ScanEvent(
            at=served + timedelta(seconds=n),
            token=code.token,
            code=code,
            enterprise=code.enterprise,
            user=admin_user if n == 1 else None,
            view="public",
            channel="api" if n == 2 else "web",
            outcome="ok",
            user_agent='Mozilla/5.0 "微信" \\ tab\there\nnewline',
            client="203.0.113.7" if n else "",
        )
        for n, code in enumerate(codes[:3])
    ]
    batched.SCAN_LOG_BATCH = 10
    for event in events:
        scan_log.add(event)
    assert scan_log.flush() == 3
    fields = ["at", "token", "code_id", "enterprise_id", "user_id", "view", "channel", "outcome"]
    fields += ["user_agent"]
    stored = list(ScanEvent.objects.order_by("at").values(*fields, "client", "repeats"))
    assert stored == [
        {**{f: getattr(event, f) for f in fields}, "client": event.client, "repeats": 0} for event in events
    ]


@pytest.mark.django_db(transaction=True)
def test_a_lone_scan_is_written_by_the_timer_when_no_request_follows(settings):
    from core import reference
    from core.models import Department, District, Scene

    reference.load(District, Department, Scene)  # the factories' reference data, after a flush
    settings.SCAN_LOG_BATCH = 100
    settings.SCAN_LOG_FLUSH_MS = 50
    code = IdentityCode.objects.create(enterprise=EnterpriseFactory(), token="23456789ABCDEFGHJKMNPR")
    assert Client().get(f"/c/{code.token}").status_code == 200
    deadline = time.monotonic() + 10
    while not ScanEvent.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(ScanEvent.objects.values_list("code_id", "outcome")) == [(code.pk, "ok")]
    assert scan_log.pending() == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_server_stopped_gracefully_writes_every_shown_scan_it_held(tmp_path):
    """Through gunicorn, as production runs: batches far larger than the scans and a flush period
    longer than the test, so only the stop can write them (gunicorn.conf.py, atexit)."""
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn reaches the test database on PostgreSQL only (SQLite's is in memory)")
    from core import reference
    from core.models import Department, District, Scene

    reference.load(District, Department, Scene)
    codes = [
        IdentityCode.objects.create(
            enterprise=EnterpriseFactory(), token=f"23456789ABCDEFGHJKMN{'ABCDEFGH'[i]}Q"
        )
        for i in range(5)
    ]
    database = connection.settings_dict
    port = _free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DB_"))},
        "DEBUG": "0",
        "SECRET_KEY": "s" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "TASKS_BACKEND": "immediate",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "ERROR",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
            f"{database['NAME']}"
        ),
        "SCAN_LOG_BATCH": "1000",
        "SCAN_LOG_FLUSH_MS": "600000",
        "SCAN_CARD_CACHE_SECONDS": "30",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[
                -2000:
            ]
            time.sleep(0.2)
        for code in codes * 4:
            assert _get(port, f"/c/{code.token}") == 200
        assert ScanEvent.objects.count() == 0  # all held by the workers
        server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0
    counts = {code.pk: 0 for code in codes}
    for code_id in ScanEvent.objects.values_list("code_id", flat=True):
        counts[code_id] += 1
    assert counts == {code.pk: 4 for code in codes}
