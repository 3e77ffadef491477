"""When the database goes away, every surface says so: 503 with Retry-After, within seconds.

The app runs as it does in production (gunicorn, config/settings.py from the environment) against
two databases that are not there: a closed port (the connection is refused at once) and a
listener that accepts connections and never answers (a database that hangs, or a firewall that
drops packets), where only DB_CONNECT_TIMEOUT ends the wait. Without it every request hung until
gunicorn killed the worker; the pages, /c/, /v/ and /healthz answered 500 even when refused.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connections
from django.http import HttpResponse
from django.test import RequestFactory

from core.middleware import DatabaseUnavailableMiddleware

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "23456789ABCDEFGHJKMNPQ"  # well-formed: looked up, so the database is asked
CONNECT_TIMEOUT = 2  # seconds; libpq's smallest
SESSION = "sessionid=" + "a" * 32  # a session to look up: a signed-in page


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def closed_port():
    """A port nobody listens on: connecting is refused at once."""
    return _free_port()


@pytest.fixture(scope="module")
def silent_port():
    """A port that accepts every connection and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


def _serve(database_port: int, tmp_path: Path):
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
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{database_port}/nowhere",
        "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--timeout",
            "60",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:  # the home page of the public reads no database: up when it answers
        try:
            if _get(port, "/")[0] == 200:
                return server, port
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the server did not start: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)


def _stop(server) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def refused_server(closed_port, tmp_path_factory):
    server, port = _serve(closed_port, tmp_path_factory.mktemp("refused"))
    yield port
    _stop(server)


@pytest.fixture(scope="module")
def silent_server(silent_port, tmp_path_factory):
    server, port = _serve(silent_port, tmp_path_factory.mktemp("silent"))
    yield port
    _stop(server)


def _get(port: int, path: str, headers: dict | None = None, timeout: float = 15):
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        client.request("GET", path, headers={"Accept-Language": "en", **(headers or {})})
        response = client.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        client.close()


SURFACES = {
    "healthz": ("/healthz", {}),
    "scan landing": (f"/c/{TOKEN}", {}),
    "document verification": (f"/v/{TOKEN}", {}),
    "signed-in page": ("/enterprises/", {"Cookie": SESSION}),
    "scan API": (f"/api/v1/scan/{TOKEN}", {}),
    "bearer API": ("/api/v1/enterprises", {"Authorization": "Bearer sp_" + "x" * 43}),
}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_every_surface_answers_503_with_retry_after_when_the_database_is_unreachable(
    surface, refused_server, silent_server
):
    path, headers = SURFACES[surface]
    for port, within in ((refused_server, 2), (silent_server, CONNECT_TIMEOUT + 3)):
        started = time.monotonic()
        status, response_headers, body = _get(port, path, headers)
        elapsed = time.monotonic() - started
        assert status == 503, (surface, port, status, body[:300])
        assert response_headers["Retry-After"] == "2"
        assert elapsed < within, (surface, elapsed)
        if path.startswith("/api/"):
            assert json.loads(body)["code"] == "unavailable"
        elif path == "/healthz":
            assert body == b"database unavailable"
        else:
            assert response_headers["Content-Type"].startswith("text/html")
            assert b"The service is briefly unavailable" in body


# --- the settings of the connections a request opens -----------------------------------------------


def _connection_settings() -> tuple[str, str]:
    """(statement_timeout, max_parallel_workers_per_gather) of a new connection."""
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'),"
                " current_setting('max_parallel_workers_per_gather')"
            )
            return cursor.fetchone()
    finally:
        connection.close()


def _opened_while_serving() -> tuple[str, str]:
    seen = []
    middleware = DatabaseUnavailableMiddleware(
        lambda request: seen.append(_connection_settings()) or HttpResponse()
    )
    middleware(RequestFactory().get("/"))
    return seen[0]


@pytest.fixture
def postgresql():
    if connections["default"].vendor != "postgresql":
        pytest.skip("PostgreSQL settings (SQLite has no statement timeout and no parallel workers)")


@pytest.mark.django_db
def test_only_connections_opened_to_serve_a_request_get_the_web_settings(postgresql, settings):
    settings.DB_STATEMENT_TIMEOUT = 7
    settings.DB_REQUEST_PARALLEL_WORKERS = 0
    server_default = _connection_settings()  # a command's, a task worker's, a migration's

    assert _opened_while_serving() == ("7s", "0")
    assert _connection_settings() == server_default
    assert server_default[0] == "0" and server_default[1] != "0"


@pytest.mark.django_db
def test_the_web_parallel_workers_are_set_without_a_statement_timeout(postgresql, settings):
    settings.DB_STATEMENT_TIMEOUT = 0
    settings.DB_REQUEST_PARALLEL_WORKERS = 3

    assert _opened_while_serving() == ("0", "3")
