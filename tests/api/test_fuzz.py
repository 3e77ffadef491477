"""Fuzz every operation of /api/v1/ with schemathesis: generated requests, valid and invalid, must
never get a 5xx; must get what the OpenAPI document promises (a documented status code and
content type, a body matching the documented schema); and invalid ones must be refused (4xx).

The schema is loaded from the WSGI application, so routers added later are fuzzed without
touching this file; no operation is left out. Each example is sent anonymously and as one
signed-in caller (regulator, inspector, business member or admin, picked by the example's
content, so that every role calls every operation). Every request runs in a savepoint that is
rolled back: all see the same small world (tests/api/world.py), whatever the previous one
changed, revoked or uploaded. Half of the time each path, query and JSON body field that names
a kind of row is swapped for a real one (World.values, by field name), so the handlers run past
their 404s; a new kind of id is one more entry there.

Bounded and reproducible: 20 fuzzed examples per operation (plus schemathesis' coverage cases),
derandomized generation, a fixed seed, a deadline per example.

One test per operation through ``schema.parametrize()`` on a schema loaded at import time:
schemathesis' lazy ``from_fixture`` schema does not run under pytest 9.2 (it sets the removed
``Node._nodeid``).

Then every operation once more, with a NUL byte in each of its path parameters, in each of its
query parameters (or an undeclared one where it has none) and in every string of its body (JSON
or form): each is refused with 400 ``invalid_characters`` (core.middleware), or 404 where a path
parameter that must be a number cannot be one; never a 500. PostgreSQL refuses NUL in text, so run
this file on PostgreSQL too (``DATABASE_URL``): on SQLite a NUL that slipped through is stored.
"""

import hashlib
import json
import random
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.world import World, build_world

SIGNED_IN_ROLES = ("regulator", "inspector", "business", "admin")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240608,
        "generation": {
            "deterministic": True,
            "database": "none",
            # The callers' credentials are the world's tokens, sent explicitly per role.
            "with-security-parameters": False,
        },
    }
)

_world: World | None = None


# --- real values in generated requests --------------------------------------------------------------


def _with_real_values(value, choice: int):
    """Swap, at random, the fields that name a row for one of the world's rows of that kind."""
    if _world is None or not isinstance(value, dict):
        return value
    rng = random.Random(choice)
    value = dict(value)
    for name in sorted(value):
        known = _world.values.get(name)
        if known and rng.random() < 0.5:
            value[name] = rng.choice(known)
    return value


def _real_values_hook(context, strategy):
    return st.tuples(strategy, st.integers(0, 2**16)).map(lambda pair: _with_real_values(*pair))


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_root(settings, media_root):
    """Instead of tests/conftest.py's media directory per test: the world's photos and documents
    are made once, for all the tests of this module."""
    settings.MEDIA_ROOT = media_root


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, media_root):
    """Built once, in a transaction rolled back after the last operation's test: each test
    (pytest-django's ``db``) and each request (``rolled_back``) nest a savepoint in it."""
    global _world
    with override_settings(MEDIA_ROOT=media_root), django_db_blocker.unblock(), transaction.atomic():
        _world = build_world()
        yield _world
        _world = None
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _in_process_requests():
    """Requests go through the WSGI handler in-process, inside the test's transaction: like
    django.test.Client, keep the request signals from closing the connection under it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _load_schema():
    from config.wsgi import application

    # Collection time: pytest-django has not yet added its test host, and no database is needed.
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
    for hook in ("before_generate_path_parameters", "before_generate_query", "before_generate_body"):
        loaded.hooks.register_hook_with_name(_real_values_hook, hook)
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def _schemathesis_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _signed_in_role(case) -> str:
    """The signed-in caller of this case: a function of its content, so each operation is called by
    every role over its examples and a failing example replays as the same caller."""
    # Never a repr: one with a memory address in it would give a replay another caller.
    content = json.dumps(
        [case.method, case.path_parameters, case.query, case.body],
        sort_keys=True,
        default=lambda value: type(value).__name__,
    )
    digest = hashlib.blake2b(content.encode(), digest_size=4).digest()
    return SIGNED_IN_ROLES[int.from_bytes(digest) % len(SIGNED_IN_ROLES)]


@schema.parametrize()
@settings(
    max_examples=20,  # per operation, in the fuzzing phase; the coverage phase adds its own few dozen
    # A hung or pathologically slow request fails; generous, as CI machines are shared.
    deadline=timedelta(seconds=10),
    derandomize=True,
    database=None,
    # pytest-django's function-scoped ``db``: every example runs in a rolled-back savepoint, so
    # all of them see the same world.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api(case, world, db):
    for role in ("anonymous", _signed_in_role(case)):
        with rolled_back():
            try:
                case.call_and_validate(headers=world.headers(role), checks=CHECKS)
            except Exception as exc:
                exc.add_note(f"as {role}")
                raise


# --- a NUL byte in every operation -------------------------------------------------------------------

NUL = "a\x00b"


def _operations() -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, operations in sorted(schema.raw_schema["paths"].items())
        for method, operation in sorted(operations.items())
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _resolved(node: dict) -> dict:
    while "$ref" in node:
        node = schema.raw_schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _url(path: str, operation: dict, *, nul_in: str | None = None) -> str:
    """``path`` with each path parameter a real value of the world's (or 1), but ``nul_in``'s."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        value = NUL if name == nul_in else (_world.values.get(name) or [1])[0]
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def _nul_requests(path: str, operation: dict):
    """(what, url, query, body, content type) of each request of an operation with a NUL in it."""
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "path":
            yield f"path {parameter['name']}", _url(path, operation, nul_in=parameter["name"]), {}, None, None
    names = [parameter["name"] for parameter in parameters if parameter["in"] == "query"] or ["undeclared"]
    yield "query", _url(path, operation), dict.fromkeys(names, NUL), None, None
    for content_type, media in operation.get("requestBody", {}).get("content", {}).items():
        properties = _resolved(media["schema"]).get("properties", {})
        if content_type == "application/json":
            body = json.dumps({name: NUL for name in properties} or {"undeclared": NUL})
        else:
            body = {
                name: SimpleUploadedFile("f.bin", b"%PDF-1.4 a\x00b")
                if _resolved(field).get("format") == "binary"
                else NUL
                for name, field in properties.items()
            }
            if NUL not in body.values():  # uploads only: a NUL in a file is the file's business
                body["undeclared"] = NUL
            content_type = None  # the test client writes a form (multipart) with its boundary
        yield "body", _url(path, operation), {}, body, content_type


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    _operations(),
    ids=[f"{method} {path}" for method, path, _ in _operations()],
)
def test_a_nul_byte_anywhere_is_refused_never_a_500(method, path, operation, world, db):
    for role in ("anonymous", "admin"):
        client = Client(headers=world.headers(role))
        for what, url, query, body, content_type in _nul_requests(path, operation):
            if query:
                url += "?" + "&".join(f"{quote(key)}={quote(value)}" for key, value in query.items())
            arguments = {} if body is None else {"data": body}
            if content_type:
                arguments["content_type"] = content_type
            with rolled_back():
                response = getattr(client, method.lower())(url, **arguments)
            label = f"{method} {url} ({what}, as {role})"
            assert response.status_code in {400, 401, 404}, (
                label,
                response.status_code,
                response.content[:300],
            )
            if response.status_code == 404:
                # Only a number in the path cannot hold a NUL: the address then names nothing.
                assert what.startswith("path"), (label, response.content[:300])
            elif response.status_code == 401:
                # A form (an upload) is read after authentication: the anonymous never get that far.
                assert (role, what, content_type) == ("anonymous", "body", None), label
            else:
                assert response.json()["code"] == "invalid_characters", (label, response.content[:300])
