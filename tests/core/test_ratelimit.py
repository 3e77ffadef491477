"""Limits counted in the shared cache (core.ratelimit), which CACHE_URL configures: Redis where one is
deployed, the database's table otherwise. The point is that every worker process counts against
one limit: two processes hitting the same limit at once get exactly the limit through, not the
limit each."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from core import ratelimit

ROOT = Path(__file__).resolve().parents[2]
DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
        "OPTIONS": {"MAX_ENTRIES": 200_000},
    }
}
FOREVER = 10**9  # one window for the whole test: no boundary falls inside it


def _settings_in_a_fresh_process(**env) -> dict:
    script = "import json; from config import settings as s; print(json.dumps(s.CACHES))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout)


def test_cache_url_chooses_the_shared_cache():
    database = _settings_in_a_fresh_process(CACHE_URL="", TASKS_BACKEND="database")["default"]
    assert database["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert database["LOCATION"] == "django_cache"
    redis = _settings_in_a_fresh_process(CACHE_URL="redis://cache.internal:6379/2")["default"]
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
    }
    # Redis deployed for the task queue serves the cache too, unless CACHE_URL says otherwise.
    queue = _settings_in_a_fresh_process(CACHE_URL="", TASKS_BACKEND="rq", REDIS_URL="redis://q:6379/0")
    assert queue["default"]["LOCATION"] == "redis://q:6379/0"
    assert "CACHE_URL" in _settings_in_a_fresh_process(CACHE_URL="memcached://x")["error"]


@pytest.mark.django_db
def test_the_database_cache_table_comes_with_the_migrations():
    assert "django_cache" in connection.introspection.table_names()
    # Switched back inside the test: the cache is cleared after every test (tests/conftest.py).
    with override_settings(CACHES=DATABASE_CACHE):
        assert [ratelimit.rate_hit("t", "a", limit=2, window=60).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_cache WHERE cache_key LIKE %s", [":1:rl:t:%"])
        assert cursor.fetchone()[0] == 3  # two slots and where the free ones start


def test_a_refused_hit_says_how_long_until_its_window_ends():
    hits = [ratelimit.rate_hit("t", "b", limit=1, window=60) for _ in range(2)]
    assert hits[0] == ratelimit.Hit(True, 0)
    assert not hits[1].allowed and 0 < hits[1].retry_after <= 61


def test_limits_are_counted_per_scope_and_per_ident():
    assert ratelimit.rate_hit("t", "c", limit=1, window=60).allowed
    assert ratelimit.rate_hit("t", "d", limit=1, window=60).allowed
    assert ratelimit.rate_hit("u", "c", limit=1, window=60).allowed
    assert not ratelimit.rate_hit("t", "c", limit=1, window=60).allowed


def test_reaching_a_limit_is_read_without_counting():
    assert ratelimit.rate_reached("t", "e", limit=2, window=60).allowed
    ratelimit.rate_hit("t", "e", limit=2, window=60)
    assert ratelimit.rate_reached("t", "e", limit=2, window=60).allowed
    ratelimit.rate_hit("t", "e", limit=2, window=60)
    assert not ratelimit.rate_reached("t", "e", limit=2, window=60).allowed


def test_shared_places_are_taken_and_given_back():
    with (
        ratelimit.shared_slot("p", slots=1, timeout=60) as first,
        ratelimit.shared_slot("p", slots=1, timeout=60) as second,
    ):
        assert first and not second
    with ratelimit.shared_slot("p", slots=1, timeout=60) as again:
        assert again


# --- across processes ---------------------------------------------------------------------------------

HITTER = """
import django, sys
django.setup()
from core import ratelimit
scope, count = sys.argv[1], int(sys.argv[2])
print(sum(ratelimit.rate_hit(scope, "client", limit=20, window=10**9).allowed for _ in range(count)))
"""


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"


def _hitters(scope: str, env: dict, processes: int = 2, each: int = 15) -> list[int]:
    started = [
        subprocess.Popen(
            [sys.executable, "-c", HITTER, scope, str(each)],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        results.append(int(out.strip().splitlines()[-1]))
    return results


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_share_one_limit_on_the_database_cache():
    scope = f"procs-{uuid.uuid4().hex[:8]}"
    try:
        allowed = _hitters(scope, {"CACHE_URL": "database", "DATABASE_URL": _database_url()})
    finally:
        with connection.cursor() as cursor:  # not a model's table: the flush leaves it as it is
            cursor.execute("DELETE FROM django_cache WHERE cache_key LIKE %s", [f"%{scope}%"])
    assert sum(allowed) == 20, allowed


@pytest.fixture
def redis_url(tmp_path):
    """A Redis server of the test's own, on a free port; skipped where none is installed."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_worker_processes_share_one_limit_on_redis(redis_url):
    assert sum(_hitters("procs", {"CACHE_URL": redis_url})) == 20


def test_the_redis_cache_counts_like_the_others(redis_url):
    redis = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    with override_settings(CACHES=redis):
        assert [ratelimit.rate_hit("t", "r", limit=2, window=60).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert not ratelimit.rate_reached("t", "r", limit=2, window=60).allowed
        with (
            ratelimit.shared_slot("p", slots=1, timeout=60) as first,
            ratelimit.shared_slot("p", slots=1, timeout=60) as second,
        ):
            assert first and not second
