"""Server cost of one answer autosave, `PUT /api/v1/inspections/{id}/answers/{item}` (issue 17).

Builds a throw-away database (a 40-item catering checklist, a pair of inspectors, open records),
gives the lead inspector a bearer token as a tablet has, then sends sequential autosaves:

1. in process (Django's test Client, DEBUG off): the SQL statements of one new answer and of one
   changed answer, each listed as Django's query log has it (BEGIN/COMMIT and SAVEPOINTs count);
   then --requests requests of each kind without the log, and the process CPU (time.process_time)
   of each request, handler included, test client included (building the request, reading the
   response); beside it, the floor: a request answered 404 by the URL resolver, through every
   middleware and the test client;
2. through gunicorn (one sync worker, --no-control-socket, DEBUG off), one request at a time over
   http.client: the worker's CPU from /proc over --requests requests of each kind divided by
   their number, the CPU of the PostgreSQL backend serving it likewise, and p50/p95 latency;
   beside them the floor, GET /healthz (every middleware, one SELECT 1); --rounds times, each
   round on fresh records, and the median of the rounds (the machine is shared: CPU time is
   disturbed by other load less than wall time, but it is);
3. with --profile, cProfile over the in-process requests, timed by process CPU (top functions by own
   and cumulative CPU).

"new" requests answer an item for the first time; "change" requests change the note of an
answered item (the tablet sends one on every pause in typing), alternating the result.

    .venv/bin/python bench/autosave.py [--requests 400] [--rounds 3] [--profile] [--sqlite] [--no-gunicorn]

PostgreSQL: a database created and dropped on postgres://postgres@127.0.0.1:5432 (--postgres-url);
--sqlite: a throw-away SQLite file instead (in process only). Not a test: numbers to compare; note
the load (uptime) next to them.
"""

import argparse
import cProfile
import http.client
import io
import json
import logging
import math
import os
import pstats
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The set-up and measuring helpers of bench/load_inspectors.py, beside this script.
import load_inspectors  # noqa: E402
from load_inspectors import free_port, group_cpu_seconds, percentile, setup_django  # noqa: E402

ITEMS = 40
APP_NAME = "bench-autosave"


def app_environment(database_url: str, workdir: str) -> dict[str, str]:
    return load_inspectors.app_environment(
        database_url,
        workdir,
        ALLOWED_HOSTS="127.0.0.1,testserver",
        # Connections kept through the run, so the backend's CPU can be read before and after.
        DB_CONN_MAX_AGE="3600",
    )


class World:
    """The checklist, the pair of inspectors, the lead's bearer token, and a supply of open records."""

    def __init__(self):
        from django.utils import timezone

        from core.models import ApiToken
        from core.tokens import TOKEN_PREFIX, secret_digest
        from tests.factories import RegulatorFactory, make_checklist, make_team

        make_checklist("catering", "market_regulation", items=ITEMS)
        self.regulator = RegulatorFactory().user
        self.team = make_team()
        self.lead = self.team[0].user
        self.token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        ApiToken.objects.create(
            user=self.lead,
            device="bench tablet",
            key_hash=secret_digest(self.token),
            prefix=self.token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
            expires_at=timezone.now() + timedelta(days=1),
        )

    def records(self, n: int) -> list[tuple[int, list[int]]]:
        """``n`` new open records: (inspection id, its item ids)."""
        from django.utils import timezone

        from supervision.inspections import services as workflow
        from tests.factories import EnterpriseFactory

        today = timezone.localdate()
        out = []
        for _ in range(n):
            task = workflow.task_create(
                actor=self.regulator,
                enterprise=EnterpriseFactory(),
                inspectors=self.team,
                due_from=today,
                due_to=today,
            )
            inspection = workflow.inspection_start(task=task, actor=self.lead)
            items = [item.pk for item in workflow.inspection_items(inspection)]
            assert len(items) == ITEMS, len(items)
            out.append((inspection.pk, items))
        return out

    def requests(self, count: int) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
        """``count`` first answers on fresh records, and ``count`` changes of those answers."""
        targets = [
            f"/api/v1/inspections/{inspection}/answers/{item}"
            for inspection, items in self.records(math.ceil(count / ITEMS))
            for item in items
        ][:count]
        new = [(url, {"result": "compliant", "note": "checked"}) for url in targets]
        change = [
            (url, {"result": "non_compliant" if n % 2 else "compliant", "note": f"note {n}"})
            for n, url in enumerate(targets)
        ]
        return new, change


# --- in process ------------------------------------------------------------------------------------


def in_process(world: World, count: int, profile: bool) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    tablet = Client(headers={"Authorization": f"Bearer {world.token}"})

    def put(url, body):
        response = tablet.put(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    # Warm up: imports, translations, the token's last_used_at (written at most every 5 minutes).
    warm_new, warm_change = world.requests(ITEMS)
    for (url, body), (_, change) in zip(warm_new, warm_change, strict=True):
        put(url, body)
        put(url, change)

    new, change = world.requests(1)
    for kind, (url, body) in (("new", new[0]), ("change", change[0])):
        with CaptureQueriesContext(connection) as log:
            response = put(url, body)
        print(
            f"\n{kind} answer: {len(log.captured_queries)} statements; response {response.content.decode()}"
        )
        for n, query in enumerate(log.captured_queries, 1):
            sql = " ".join(query["sql"].split())
            print(f"  {n:>2}. {sql[:600]}{' ...' if len(sql) > 600 else ''}")

    # The floor: a request Django answers 404 from the URL resolver, through every middleware,
    # test client included.
    client_only = []
    logging.getLogger("django.request").setLevel(logging.ERROR)  # no "Not Found" line per request
    for _ in range(200):
        started = time.process_time()
        tablet.put("/api/v1/no-such-endpoint", "{}", content_type="application/json")
        client_only.append((time.process_time() - started) * 1000)

    new, change = world.requests(count)
    # Timed by process CPU, not the wall clock: waiting for the database would otherwise dominate.
    profiler = cProfile.Profile(time.process_time) if profile else None
    print(f"\nin process, {count} requests of each kind (process CPU per request, ms):")
    for kind, batch in (("new", new), ("change", change)):
        cpu, wall = [], []
        for url, body in batch:
            started, clock = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.enable()
            put(url, body)
            if profiler is not None:
                profiler.disable()
            cpu.append((time.process_time() - started) * 1000)
            wall.append((time.perf_counter() - clock) * 1000)
        print(
            f"  {kind:<7} CPU mean {statistics.fmean(cpu):5.2f}  p50 {percentile(cpu, 50):5.2f}"
            f"  p95 {percentile(cpu, 95):5.2f}   wall p50 {percentile(wall, 50):5.2f}"
        )
    print(
        "  floor (a 404 from the resolver, middleware and test client):"
        f" CPU p50 {percentile(client_only, 50):.2f}"
    )
    if profiler is not None:
        for order in ("tottime", "cumulative"):
            print(f"\ncProfile, {2 * count} requests, by {order}:")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(30)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


# --- through gunicorn --------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(admin_url: str, dbname: str) -> list[int]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
        return [pid for (pid,) in admin.execute(query, [dbname, APP_NAME])]


def through_gunicorn(
    world: World, env: dict, count: int, rounds: int, admin_url: str | None, dbname: str
) -> None:
    port = free_port()
    log = Path(env["VAR_DIR"]) / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    headers = {"Authorization": f"Bearer {world.token}", "Content-Type": "application/json"}

    def put(url, body, method="PUT") -> float:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(method, url, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        content = response.read()
        connection.close()
        assert response.status == 200, (url, response.status, content[:300])
        return (time.perf_counter() - started) * 1000

    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        warm_new, warm_change = world.requests(ITEMS)
        for (url, body), (_, change) in zip(warm_new, warm_change, strict=True):
            put(url, body)
            put(url, change)
        pids = backend_pids(admin_url, dbname) if admin_url else []
        print(f"\ngunicorn, 1 sync worker, {count} sequential requests of each kind, {rounds} rounds:")
        results: dict[str, list[tuple[float, float, float, float]]] = {"new": [], "change": [], "floor": []}
        for round_ in range(1, rounds + 1):
            new, change = world.requests(count)
            floor = [("/healthz", None)] * count
            for kind, batch in (("new", new), ("change", change), ("floor", floor)):
                cpu_before = group_cpu_seconds(server.pid)
                db_before = sum(proc_cpu_seconds(pid) for pid in pids)
                wall = [put(url, body, "PUT" if body else "GET") for url, body in batch]
                cpu = (group_cpu_seconds(server.pid) - cpu_before) * 1000 / count
                db = (sum(proc_cpu_seconds(pid) for pid in pids) - db_before) * 1000 / count
                results[kind].append((cpu, db, percentile(wall, 50), percentile(wall, 95)))
                database = f"   PostgreSQL backend CPU {db:5.2f} ms/request" if pids else ""
                print(
                    f"  {round_}. {kind:<7} gunicorn CPU {cpu:5.2f} ms/request{database}"
                    f"   latency p50 {percentile(wall, 50):5.2f}  p95 {percentile(wall, 95):5.2f} ms"
                )
        print("  median of the rounds:")
        for kind, rows in results.items():
            cpu, db, p50, p95 = (statistics.median(column) for column in zip(*rows, strict=True))
            database = f"   PostgreSQL backend CPU {db:5.2f} ms/request" if pids else ""
            print(
                f"     {kind:<7} gunicorn CPU {cpu:5.2f} ms/request{database}"
                f"   latency p50 {p50:5.2f}  p95 {p95:5.2f} ms"
            )
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=20)
        errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]
        if errors:
            print(f"gunicorn log has {len(errors)} tracebacks: {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests of each kind")
    parser.add_argument("--rounds", type=int, default=3, help="gunicorn rounds (the median is printed)")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process requests")
    parser.add_argument("--sqlite", action="store_true", help="a throw-away SQLite file (in process only)")
    parser.add_argument("--no-gunicorn", action="store_true", help="in process only")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-autosave-")
    server, dbname = args.postgres_url.rstrip("/"), f"bench_autosave_{os.getpid()}_{secrets.token_hex(3)}"
    if args.sqlite:
        database_url = f"sqlite:///{workdir}/bench.sqlite3"
    else:
        import psycopg

        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        database_url = f"{server}/{dbname}?application_name={APP_NAME}-setup"
    try:
        env = app_environment(database_url, workdir)
        setup_django(env)
        from django.db import connection

        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"{connection.vendor}, {ITEMS}-item checklist; load average {load}")
        world = World()
        in_process(world, args.requests, args.profile)
        if not (args.sqlite or args.no_gunicorn):
            from django.db import connections

            connections.close_all()
            # The worker's connection has a name of its own: its backend's CPU is counted, not the bench's.
            env["DATABASE_URL"] = f"{server}/{dbname}?application_name={APP_NAME}"
            through_gunicorn(world, env, args.requests, args.rounds, f"{server}/postgres", dbname)
        print("\nload average " + " ".join(f"{value:.2f}" for value in os.getloadavg()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.sqlite:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
