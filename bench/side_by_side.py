"""The platform's busiest reads side by side with a bare Django baseline, in one run.

Issue 17, "Fast where it is used most".

Both run under gunicorn (2 sync workers each, --no-control-socket, each in its own process group, on
free ports), with production-like settings (DEBUG off), against PostgreSQL, and are loaded by
`wrk -t2 -c32 --latency`. The baseline is bench/baseline/: a bare `startproject` (its middleware,
DEBUG off) with a small template page (/page/) and a django-ninja endpoint returning 50 rows of 11
fields from an indexed table (/api/rows?district=N, ~200,000 rows in the database bench_baseline,
created, migrated and seeded set-based here when missing).

Cases (the issue's targets):

- scan landing, HTML /c/<token> and API /api/v1/scan/<token>, anonymous, over 1,000 random active
  codes read from the database: req/s at least 0.5 of the baseline's template page;
- ranking API first page, GET /api/v1/ranking as the demo admin (city-wide, ?district=110105,
  ?scene=catering&tier=2) and as regulator_chaoyang (their district), with a bearer token made for
  the run: req/s at least 0.8 of the baseline's 50-row endpoint;
- ranking page /ranking/ as the admin (a session made for the run): server time p50 under 30 ms.

Every platform case runs right after its baseline case (baseline, platform, baseline, platform ...)
so the two see the same machine state, and its ratio is to that baseline run. Each case: a warm-up
(--warmup s), the measured run (--seconds s, --threads, --connections), then a serial run
(wrk -t1 -c1, --serial-seconds s) whose p50 is the server time without queueing (the loaded run's
latency includes the wait for one of the 2 workers). CPU ms per request is the gunicorn process
group's user + system CPU (from /proc) over the measured run, divided by its requests; beside it,
the same for the PostgreSQL backends serving that side's connections (found in pg_stat_activity by
their application_name). Every response's status is counted by the wrk script and a few sample
requests are checked before each run: any status other than 200 (a redirect to the sign-in page
included), an empty list, or any socket error marks the case FAILED and the script exits 1. A
target missed is printed as MISS (exit 0: the numbers are for reading).

Against the database bench/recompute.py and bench/recompute_offsite.py build (2.5M enterprises with
their scores; needs its scores, and the demo logins admin and regulator_chaoyang):

    .venv/bin/python bench/side_by_side.py                      # --database bench_scoring
    .venv/bin/python bench/side_by_side.py --only ranking-api --seconds 30

on an otherwise idle machine (the load average is printed with every case),

or a small one of your own:

    createdb -h 127.0.0.1 -U postgres bench_side_small
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_side_small DEBUG=1
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --enterprises 20000 --no-history --password bench-password-0
    .venv/bin/python manage.py recompute_scores
    unset DATABASE_URL DEBUG
    .venv/bin/python bench/side_by_side.py --database bench_side_small --filters "scene=catering&tier=1"

Writes to the platform database only what it removes at the end: two API tokens, one session, and
the scans its requests recorded (user agent "side-by-side-bench"). Installs wrk with apt-get if it
is missing. Not a test: it prints numbers to compare; note the load (uptime) printed with them.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BASELINE_DIR = ROOT / "bench" / "baseline"
SERVER = "postgres://postgres@127.0.0.1:5432"
USER_AGENT = "side-by-side-bench"
WORKERS = 2
APPS = {
    "baseline": ("baseline.wsgi:application", BASELINE_DIR),
    "platform": ("config.wsgi:application", ROOT),
}
TOKENS = 1000


# --- the cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str  # for --only
    side: str  # "platform" or "baseline"
    label: str
    path: str  # "{token}" is replaced by each of the random identity codes
    user: str | None = None  # the platform login the requests carry
    auth: str = "none"  # none, bearer (an API token) or session (a session cookie)
    baseline: str | None = None  # the baseline case its req/s is compared with
    min_ratio: float | None = None  # target: req/s at least this share of the baseline's
    max_serial_p50_ms: float | None = None  # target: server time (serial p50) below this


CASES = [
    Case("page", "baseline", "bare template page", "/page/"),
    Case("rows", "baseline", "bare ninja, 50 rows", "/api/rows?district=110105"),
    Case("scan-html", "platform", "scan /c/<token>, anonymous", "/c/{token}", baseline="page", min_ratio=0.5),
    Case(
        "scan-api", "platform", "scan API, anonymous", "/api/v1/scan/{token}", baseline="page", min_ratio=0.5
    ),
    Case(
        "ranking-api",
        "platform",
        "ranking API, city-wide",
        "/api/v1/ranking",
        user="admin",
        auth="bearer",
        baseline="rows",
        min_ratio=0.8,
    ),
    Case(
        "ranking-api-district",
        "platform",
        "ranking API ?district=110105",
        "/api/v1/ranking?district=110105",
        user="admin",
        auth="bearer",
        baseline="rows",
        min_ratio=0.8,
    ),
    Case(
        "ranking-api-regulator",
        "platform",
        "ranking API, district regulator",
        "/api/v1/ranking",
        user="regulator_chaoyang",
        auth="bearer",
        baseline="rows",
        min_ratio=0.8,
    ),
    Case(
        "ranking-api-filters",
        "platform",
        "ranking API ?scene=catering&tier=2",
        "/api/v1/ranking?scene=catering&tier=2",
        user="admin",
        auth="bearer",
        baseline="rows",
        min_ratio=0.8,
    ),
    Case(
        "ranking-html",
        "platform",
        "ranking page /ranking/, city-wide",
        "/ranking/",
        user="admin",
        auth="session",
        max_serial_p50_ms=30,
    ),
]


def schedule(cases: dict[str, Case], only: list[str] | None) -> list[Case]:
    """The runs in order: each platform case right after its baseline case."""
    runs = []
    for case in cases.values():
        if case.side != "platform" or (only and case.name not in only):
            continue
        if case.baseline:
            runs.append(cases[case.baseline])
        runs.append(case)
    for name in only or []:  # a baseline case asked for by itself
        if cases[name].side == "baseline" and cases[name] not in runs:
            runs.append(cases[name])
    return runs


@dataclass
class Result:
    case: Case
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    serial_p50_ms: float | None
    cpu_ms: float  # gunicorn's
    pg_ms: float  # PostgreSQL's backends serving it
    pg_complete: bool  # no backend ended during the run (its CPU would be missing)
    load: float
    problems: list[str]
    ratio: float | None = None
    verdict: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def pg_mark(self) -> str:
        return "" if self.pg_complete else "+"


# --- wrk -------------------------------------------------------------------------------------------

# Each of wrk's threads has its own Lua state: the counts are summed in done() through setup()'s
# thread handles. Every status other than 200 counts as bad, a redirect too.
LUA = """
local paths = {%(paths)s}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  ok, bad, last_bad = 0, 0, 0
end

function request()
  return wrk.format(nil, paths[math.random(#paths)])
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1; last_bad = status end
end

function done(summary, latency, requests)
  local total_ok, total_bad, last = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_bad = total_bad + thread:get("bad")
    if thread:get("last_bad") ~= 0 then last = thread:get("last_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%%.0f duration_us=%%.0f p50_us=%%.0f p99_us=%%.0f connect=%%.0f read=%%.0f"
    .. " write=%%.0f timeout=%%.0f status=%%.0f ok=%%.0f bad=%%.0f last_bad=%%.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, total_ok, total_bad, last))
end
"""


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk: still not found after apt-get install")


def write_lua(directory: Path, name: str, paths: list[str]) -> Path:
    quoted = ", ".join('"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"' for path in paths)
    script = directory / f"{name}.lua"
    script.write_text(LUA % {"paths": quoted})
    return script


def run_wrk(
    wrk: str, port: int, script: Path, headers: dict, *, threads: int, connections: int, seconds: float
) -> dict[str, float]:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command += ["-s", str(script), f"http://127.0.0.1:{port}"]
    output = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in output.stdout.splitlines() if x.startswith("RESULT ")), None)
    if output.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({output.returncode}):\n{output.stdout}\n{output.stderr}")
    return {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", line)}


# --- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    side: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def application_name(self) -> str:
        """What its database connections call themselves (DATABASE_URL's application_name)."""
        return application_name(self.side)


def application_name(side: str) -> str:
    return f"side-by-side-{side}"


def start_gunicorn(side: str, app: str, cwd: Path, env: dict, log: Path) -> Server:
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--timeout",
                "60",
                "--log-level",
                "warning",
                "--no-control-socket",
            ],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its CPU is measured, and it is stopped, as one
        )
    return Server(side, port, process, log)


def wait_ready(server: Server, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise SystemExit(f"{server.side} gunicorn exited with {code}:\n{tail(server.log)}")
        try:
            status, _ = fetch(server.port, path, {})
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{server.side} gunicorn did not answer {path} in time:\n{tail(server.log)}")


def stop_gunicorn(server: Server | None) -> None:
    if server is None or server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGINT)  # gunicorn: quick shutdown
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


def proc_stat(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command: state, ppid, pgrp, ..., utime (12), stime (13)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone
        return None


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of the live processes of a process group (gunicorn's master and workers)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        fields = proc_stat(entry.name) if entry.name.isdigit() else None
        if fields and int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(application_name: str) -> dict[int, float]:
    """User + system CPU of each PostgreSQL backend serving one side, by its connections' name."""
    with psycopg.connect(f"{SERVER}/postgres") as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        pids = [pid for (pid,) in conn.execute(query, [application_name])]
    cpu = {}
    for pid in pids:
        fields = proc_stat(pid)
        if fields:
            cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu


def postgres_cpu_delta(before: dict[int, float], after: dict[int, float]) -> tuple[float, bool]:
    """The backends' CPU between two readings, and whether it is complete: a backend that ended in
    between (a connection replaced) took its CPU with it."""
    spent = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return spent, set(before) <= set(after)


def fetch(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    """One request, redirects not followed (a redirect to the sign-in page must not look like a page)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- databases -------------------------------------------------------------------------------------

BASELINE_SEED = """
TRUNCATE rows_row RESTART IDENTITY;
SELECT setseed(0.17);
INSERT INTO rows_row (code, name, district, scene, tier, risk, credit_points, open_orders,
                      last_inspected_on, active)
SELECT '91110' || lpad(n::text, 13, '0'), 'Enterprise ' || n, 110101 + n %% 16,
       (ARRAY['catering', 'retail', 'medical', 'school', 'lodging'])[1 + n %% 5], 1 + n %% 4,
       round((random() * 100)::numeric, 2), round((random() * 30)::numeric, 1), (random() * 3)::int,
       CASE WHEN n %% 7 = 0 THEN NULL ELSE DATE '2024-01-01' + n %% 700 END, n %% 10 <> 0
FROM generate_series(1, %(rows)s) n;
ANALYZE rows_row;
"""


def ensure_baseline_database(name: str, rows: int, env: dict) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage = [str(ROOT / ".venv/bin/python"), "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=BASELINE_DIR, env=env, check=True)
    with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
        present = conn.execute("SELECT count(*) FROM rows_row").fetchone()[0]
        if present != rows:
            started = time.perf_counter()
            conn.execute(BASELINE_SEED % {"rows": int(rows)})
            print(f"baseline: seeded {rows:,} rows in {time.perf_counter() - started:.1f} s")


def drop_database(name: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def platform_environment(database: str, var_dir: str) -> dict[str, str]:
    """Production-like (bench/landing.py's, with the files in a directory of the run's own)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{SERVER}/{database}?application_name={application_name('platform')}",
        # Connections kept through the whole run (the default is 60 s), so that the backends' CPU
        # can be read from /proc before and after a case; one reconnect a minute is not measurable.
        "DB_CONN_MAX_AGE": "600",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),  # the same in this process (sessions) and gunicorn
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "TASKS_BACKEND": "immediate",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": var_dir,
        "MEDIA_ROOT": f"{var_dir}/media",
        "STATIC_ROOT": f"{var_dir}/static",
    }


@dataclass
class Credentials:
    """What the requests carry, made in the platform's database (and removed at the end)."""

    tokens: list[str] = field(default_factory=list)  # random active identity codes
    bearer: dict[str, str] = field(default_factory=dict)  # username -> raw API token
    token_ids: list[int] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # username -> session key
    cookie_name: str = "sessionid"
    started: datetime | None = None  # when the run began: the scans recorded since are its own


def platform_prepare(
    credentials: Credentials, env: dict, database: str, bearer_users: set[str], session_users: set[str]
) -> None:
    """In this process, against the platform's database: its size, random codes, API tokens and
    sessions (written into ``credentials`` as they are made, so that a failure half-way still
    leaves them to the clean-up)."""
    with psycopg.connect(f"{SERVER}/postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            raise SystemExit(f"database {database} does not exist (see this script's docstring)")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
        load_backend,
    )
    from django.utils import timezone

    from core.models import ApiToken, Enterprise, IdentityCode
    from core.tokens import TOKEN_PREFIX, secret_digest
    from supervision.models import EnterpriseScore

    credentials.started = timezone.now()
    credentials.cookie_name = settings.SESSION_COOKIE_NAME
    enterprises, scores = Enterprise.objects.count(), EnterpriseScore.objects.count()
    print(f"platform: database {database}, {enterprises:,} enterprises, {scores:,} scores")
    if scores == 0:
        raise SystemExit(f"{database} has no scores yet: run `manage.py recompute_scores` on it first")
    # ORDER BY random() reads every active code once (a second or two at 2.5M), then keeps 1,000.
    active = IdentityCode.objects.filter(status="active")
    credentials.tokens = list(active.order_by("?").values_list("token", flat=True)[:TOKENS])
    users = bearer_users | session_users
    accounts = {user.username: user for user in get_user_model().objects.filter(username__in=users)}
    missing = users - set(accounts)
    if missing:
        raise SystemExit(f"{database} lacks the demo login(s) {', '.join(sorted(missing))} (seed_demo)")
    for username in sorted(bearer_users):
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=accounts[username],
            device="bench/side_by_side.py",
            key_hash=secret_digest(raw),
            prefix=raw[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
            expires_at=timezone.now() + timedelta(hours=6),
        )
        credentials.token_ids.append(token.pk)
        credentials.bearer[username] = raw
    # The first backend that can load a user, as Client.force_login and a sign-in name it.
    backends = settings.AUTHENTICATION_BACKENDS
    backend = next(path for path in backends if hasattr(load_backend(path), "get_user"))
    for username in sorted(session_users):
        # What Client.force_login stores, without its sign-in signals (no last_login written, no
        # lock-out access log): the session of a signed-in user.
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(accounts[username].pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = accounts[username].get_session_auth_hash()
        session.save()
        credentials.sessions[username] = session.session_key
    from django.db import connections

    connections.close_all()  # gunicorn's workers do the work from here


def platform_clean_up(credentials: Credentials) -> None:
    """Remove what the run wrote: its API tokens, its sessions, the scans its requests recorded."""
    if credentials.started is None:
        return
    from django.contrib.sessions.models import Session
    from django.db import connections

    from core.models import ApiToken, ScanEvent

    ApiToken.objects.filter(pk__in=credentials.token_ids).delete()
    Session.objects.filter(session_key__in=credentials.sessions.values()).delete()
    scans, _ = ScanEvent.objects.filter(at__gte=credentials.started, user_agent=USER_AGENT).delete()
    print(
        f"clean-up: removed {len(credentials.token_ids)} API tokens, {len(credentials.sessions)} sessions"
        f" and {scans:,} scans"
    )
    connections.close_all()


# --- one case --------------------------------------------------------------------------------------


def request_headers(case: Case, credentials: Credentials) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if case.auth == "bearer":
        headers["Authorization"] = f"Bearer {credentials.bearer[case.user]}"
    elif case.auth == "session":
        headers["Cookie"] = f"{credentials.cookie_name}={credentials.sessions[case.user]}"
    return headers


def sample(server: Server, paths: list[str], headers: dict) -> tuple[str, str | None]:
    """A few requests before the run. Returns what an answer held (rows or bytes) and the problem
    that stops the case: a status other than 200, or an empty list (the case would look fast)."""
    for path in paths[:3]:
        status, body = fetch(server.port, path, headers)
        if status != 200:
            return "", f"GET {path} answered {status}, not 200: {body[:300]!r}"
    if body[:1] in (b"{", b"["):
        data = json.loads(body)
        rows = data.get("items") if isinstance(data, dict) else data
        if isinstance(rows, list):
            return f"{len(rows)} rows", None if rows else f"GET {path} answered an empty list"
    return f"{len(body):,} bytes", None


def wait_quiet(server: Server, timeout: float = 60) -> None:
    """Until the workers are idle. wrk stops with requests still queued in gunicorn's backlog; the
    workers serve them all (nobody reads the answers), which must not count in the next run."""
    deadline = time.monotonic() + timeout
    cpu = group_cpu_seconds(server.process.pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = group_cpu_seconds(server.process.pid)
        if now - cpu < 0.02:
            return
        cpu = now
    print(f"    ({server.side} still busy after {timeout:.0f} s: measuring anyway)")


def wrk_problems(numbers: dict, what: str) -> list[str]:
    problems = []
    if numbers["requests"] == 0:
        problems.append(f"{what}: no request completed")
    if numbers["bad"] or numbers["status"]:
        problems.append(
            f"{what}: {numbers['bad']:.0f} responses not 200 (e.g. {numbers['last_bad']:.0f}),"
            f" {numbers['status']:.0f} not 2xx/3xx"
        )
    errors = {key: int(numbers[key]) for key in ("connect", "read", "write", "timeout") if numbers[key]}
    if errors:
        problems.append(f"{what}: socket errors {errors}")
    return problems


def run_case(case: Case, server: Server, wrk: str, lua_dir: Path, credentials: Credentials, args) -> Result:
    paths = [case.path]
    if "{token}" in case.path:
        paths = [case.path.format(token=token) for token in credentials.tokens]
    headers = request_headers(case, credentials)
    load = os.getloadavg()[0]
    shape, problem = sample(server, paths, headers)
    if problem:
        print(f"  {case.name:<22} FAILED before the run: {problem}")
        return Result(case, 0, 0, 0, 0, None, float("nan"), float("nan"), True, load, [problem])
    script = write_lua(lua_dir, case.name, paths)
    loaded_options = {"threads": args.threads, "connections": args.connections}
    if args.warmup:
        run_wrk(wrk, server.port, script, headers, **loaded_options, seconds=args.warmup)
    wait_quiet(server)
    cpu, database_cpu = group_cpu_seconds(server.process.pid), postgres_cpu_seconds(server.application_name)
    loaded = run_wrk(wrk, server.port, script, headers, **loaded_options, seconds=args.seconds)
    # Read as wrk returns: the requests still queued have cost nothing yet (at most the 2 being
    # served have, in part); the queue is then served before the next run.
    cpu = group_cpu_seconds(server.process.pid) - cpu
    database_cpu, database_complete = postgres_cpu_delta(
        database_cpu, postgres_cpu_seconds(server.application_name)
    )
    problems = wrk_problems(loaded, "loaded run")
    serial_p50 = None
    if args.serial_seconds:
        wait_quiet(server)
        serial = run_wrk(
            wrk, server.port, script, headers, threads=1, connections=1, seconds=args.serial_seconds
        )
        problems += wrk_problems(serial, "serial run")
        serial_p50 = serial["p50_us"] / 1000
    wait_quiet(server)
    requests = int(loaded["requests"])
    result = Result(
        case=case,
        requests=requests,
        seconds=loaded["duration_us"] / 1e6,
        p50_ms=loaded["p50_us"] / 1000,
        p99_ms=loaded["p99_us"] / 1000,
        serial_p50_ms=serial_p50,
        cpu_ms=1000 * cpu / requests if requests else float("nan"),
        pg_ms=1000 * database_cpu / requests if requests else float("nan"),
        pg_complete=database_complete,
        load=load,
        problems=problems,
    )
    print(
        f"  {case.name:<22} {result.rps:8.1f} req/s  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
        f"  serial p50 {fmt(serial_p50)} ms  CPU {result.cpu_ms:5.2f} ms/req"
        f" + PG {result.pg_ms:5.2f}{result.pg_mark}  ({shape}, load {load:.2f})"
        + ("  FAILED" if problems else "")
    )
    for problem in problems:
        print(f"    {problem}")
    if problems:
        print(tail(server.log, 12))
    return result


def uptime(env: dict) -> str:
    """uptime's line, in the caller's time zone (django.setup() sets TZ in this process)."""
    return "uptime: " + subprocess.run(["uptime"], capture_output=True, text=True, env=env).stdout.strip()


def fmt(value: float | None, spec: str = "6.1f") -> str:
    return "-" if value is None else format(value, spec)


def judge(results: list[Result]) -> None:
    """Each platform case against the run of its baseline case just before it, and its targets."""
    last_baseline: dict[str, Result] = {}
    for result in results:
        case = result.case
        if case.side == "baseline":
            last_baseline[case.name] = result
            continue
        verdicts = []
        base = last_baseline.get(case.baseline) if case.baseline else None
        if base is not None and base.rps and not base.problems and not result.problems:
            result.ratio = result.rps / base.rps
            verdicts.append("ok" if result.ratio >= case.min_ratio else f"MISS (>= {case.min_ratio:.1f})")
        if case.max_serial_p50_ms is not None and result.serial_p50_ms is not None:
            met = result.serial_p50_ms < case.max_serial_p50_ms
            limit = f"{case.max_serial_p50_ms:.0f} ms"
            verdicts.append(f"serial p50 < {limit} ok" if met else f"MISS (serial p50 < {limit})")
        result.verdict = "FAILED" if result.problems else ", ".join(verdicts)


def print_table(results: list[Result]) -> None:
    header = (
        f"{'case':<22} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'serial':>7} {'CPU ms':>7} {'PG ms':>7}"
        f" {'load':>5}"
        f"  {'vs baseline':<18} verdict"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in results:
        versus = f"{r.ratio:.2f} of {r.case.baseline}" if r.ratio is not None else ""
        print(
            f"{r.case.name:<22} {r.rps:8.1f} {r.p50_ms:7.1f} {r.p99_ms:7.1f}"
            f" {fmt(r.serial_p50_ms, '7.1f'):>7} {r.cpu_ms:7.2f} {f'{r.pg_ms:.2f}{r.pg_mark}':>7}"
            f" {r.load:5.2f}  {versus:<18} {r.verdict}"
        )
    for case in dict.fromkeys(r.case for r in results):
        print(
            f"  {case.name:<22} {case.side} {case.label}: GET {case.path}"
            + (f" as {case.user}" if case.user else "")
        )
    print(
        "serial: p50 of wrk -t1 -c1 (server time without queueing). CPU ms: gunicorn's CPU per request;"
        " PG ms: its PostgreSQL backends' (+: a connection was replaced during the run, so at least"
        " that; background writers not counted). load: 1-minute load average when the case began."
    )


# --- main ------------------------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_scoring", help="the platform's (with scores)")
    parser.add_argument("--baseline-database", default="bench_baseline")
    parser.add_argument("--baseline-rows", type=int, default=200_000)
    parser.add_argument("--drop-baseline", action="store_true", help="drop its database at the end")
    parser.add_argument("--seconds", type=float, default=10, help="the measured run of each case")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each measured run")
    parser.add_argument("--serial-seconds", type=float, default=5, help="wrk -t1 -c1 after it (0: none)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--only",
        action="append",
        choices=[case.name for case in CASES],
        metavar="CASE",
        help=f"run only this case (and its baseline); repeatable: {', '.join(case.name for case in CASES)}",
    )
    parser.add_argument(
        "--filters",
        default="scene=catering&tier=2",
        help="the query of ranking-api-filters (default %(default)s); it must match open businesses"
        " (a small database seeded without history: scene=catering&tier=1)",
    )
    args = parser.parse_args()
    cases = {case.name: case for case in CASES}
    cases["ranking-api-filters"] = replace(
        cases["ranking-api-filters"], path=f"/api/v1/ranking?{args.filters}"
    )
    runs = schedule(cases, args.only)
    platform_cases = [case for case in runs if case.side == "platform"]
    bearer_users = {case.user for case in platform_cases if case.auth == "bearer"}
    session_users = {case.user for case in platform_cases if case.auth == "session"}

    signal.signal(signal.SIGTERM, _interrupt)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-side-"))
    outer_env = dict(os.environ)
    baseline_env = {
        **outer_env,
        "DJANGO_SETTINGS_MODULE": "baseline.settings",
        "DATABASE_URL": f"{SERVER}/{args.baseline_database}?application_name={application_name('baseline')}",
        "CONN_MAX_AGE": "600",  # as the platform's DB_CONN_MAX_AGE here
        "SECRET_KEY": secrets.token_urlsafe(64),
    }
    platform_env = {**outer_env, **platform_environment(args.database, str(workdir / "var"))}
    servers: list[Server] = []
    credentials = Credentials()
    failed = True
    try:
        print(uptime(outer_env))
        ensure_baseline_database(args.baseline_database, args.baseline_rows, baseline_env)
        if platform_cases:
            platform_prepare(credentials, platform_env, args.database, bearer_users, session_users)
        environments = {"baseline": baseline_env, "platform": platform_env}
        for side in dict.fromkeys(case.side for case in runs):
            app, directory = APPS[side]
            servers.append(start_gunicorn(side, app, directory, environments[side], workdir / f"{side}.log"))
        by_side = {server.side: server for server in servers}
        for server in servers:
            wait_ready(server, "/page/" if server.side == "baseline" else "/healthz")
        print(
            f"gunicorn: {WORKERS} sync workers each ({', '.join(f'{s.side} :{s.port}' for s in servers)});"
            f" wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s"
            f" after {args.warmup:g} s of warm-up; {len(credentials.tokens)} codes"
        )
        results = [run_case(case, by_side[case.side], wrk, workdir, credentials, args) for case in runs]
        judge(results)
        print_table(results)
        print(uptime(outer_env))
        failures = [r.case.name for r in results if r.problems]
        if failures:
            print(f"FAILED: {', '.join(failures)} (see above: not 200, an empty list or socket errors)")
        failed = bool(failures)
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
    finally:
        for server in servers:
            stop_gunicorn(server)
        platform_clean_up(credentials)
        if args.drop_baseline:
            drop_database(args.baseline_database)
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
