"""Many inspectors at once through gunicorn and PostgreSQL; then proof from the database that every
acknowledged submit is stored exactly once.

Sets up a throw-away PostgreSQL database (created, migrated, seeded, dropped at the end): a
catering checklist of --items items, one enterprise per task, --inspectors inspector pairs (the
simulated inspector and a partner) with bearer tokens, and enough planned tasks per pair for
--seconds of work. Starts gunicorn (sync workers, 2 x cores + 1 unless --workers) on 127.0.0.1 at
a free port, then runs --inspectors simulated tablets in threads (stdlib http.client), each as
fast as the server lets it (with --think, pausing about that many seconds before each request, as
a person does between taps): take the next planned task, start the inspection, answer every item
(1-2 not compliant), upload one real JPEG (100-300 KB) per failing item, sign (both inspectors
and the representative), submit with a fresh submission_id. Connection errors and 5xx are
retried, with the SAME submission_id for a submit, with bounded exponential backoff; a 4xx
abandons the inspection. Every submit answered 2xx with the inspection's id is "acknowledged".

    .venv/bin/python bench/load_inspectors.py [--seconds 60] [--inspectors 50] [--workers N]
        [--proxy] [--autosave-workers M] [--items 30] [--think 0] [--restart-pg [--restart-at 0.33]]
        [--postgres-url postgres://postgres@127.0.0.1:5432]

--autosave-workers M runs the layout docs/DEPLOY.md describes for production: nginx in front
(the repository's deploy/nginx/locations.conf, as it is), sending the answer autosave to a second
gunicorn of M sync workers and everything else to the --workers one. --proxy alone puts the same
nginx in front of the one gunicorn (what the proxy costs, without the second pool). Both need
nginx (apt-get install nginx-light); the default is one gunicorn and no proxy.

--restart-pg restarts the PostgreSQL cluster serving --postgres-url (found with pg_lsclusters;
pg_ctlcluster ... restart) a third into the run (--restart-at 0.33); the report then counts the
requests that failed during the restart and the time until requests succeeded again. Every other
connection to that cluster is cut as well: on a shared machine, point --postgres-url at a cluster
of your own, e.g.
    pg_createcluster 15 load -p 5433 --start -- --auth=trust   (pg_dropcluster --stop 15 load after)

Reports requests/s and submits/s, p50/p95/p99 latency per request kind (successful attempts,
queueing in gunicorn's backlog included), errors and retries, then the exactly-once proof.
Not a test: numbers to compare; the client threads share the machine with the server, so note
the load (uptime) next to them. Cleans up (gunicorn stopped, database dropped, files removed)
on success, failure and Ctrl-C.
"""

import argparse
import http.client
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("next", "start", "answer", "photo", "sign", "submit")
RETRYABLE_STATUS = {500, 502, 503, 504}


# --- helpers ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(p) - 1]


def make_photo(seed: int) -> bytes:
    """A 1024x768 JPEG with noise: ~150-250 KB, like a phone photo scaled down by the tablet app."""
    from PIL import Image, ImageChops

    size = (1024, 768)
    gradient = Image.linear_gradient("L").resize(size)
    channels = [
        ImageChops.add(gradient.rotate(seed * 40 + angle), Image.effect_noise(size, 24), 2.0)
        for angle in (0, 90, 180)
    ]
    buffer = io.BytesIO()
    Image.merge("RGB", channels).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def make_signature() -> str:
    import base64

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(30, 150), (120, 40), (200, 160), (320, 60), (450, 140), (560, 70)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_cluster(port: int) -> tuple[str, str]:
    """The Debian cluster (version, name) listening on ``port``, from pg_lsclusters."""
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return version, name
    raise SystemExit(f"--restart-pg: no local cluster listens on port {port} (pg_lsclusters)")


# --- set-up ----------------------------------------------------------------------------------------


def app_environment(database_url: str, workdir: str, **extra: str) -> dict[str, str]:
    """The app's environment for a bench server, production-like; ``extra`` settings on top."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Production-like: no query log, no debug wrappers around every cursor.
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "TASKS_BACKEND": "immediate",
        "VAR_DIR": workdir,
        "MEDIA_ROOT": f"{workdir}/media",
        "STATIC_ROOT": f"{workdir}/static",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Tablet:
    """One simulated inspector: the lead of a pair, holding the tablet."""

    number: int
    username: str
    token: str
    inspector_id: int
    partner_id: int


def seed(*, inspectors: int, tasks_per_pair: int, items: int) -> list[Tablet]:
    """Bulk-written, not through the workflow: planning is not what is measured."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from core import uscc
    from core.models import ApiToken, Department, District, Enterprise, Inspector, Regulator, Scene
    from core.tokens import TOKEN_PREFIX, secret_digest
    from supervision.models import InspectionTask
    from tests.factories import make_checklist

    User = get_user_model()
    make_checklist("catering", "market_regulation", items=items)
    chaoyang, catering = District.objects.get(code="110105"), Scene.objects.get(code="catering")
    market = Department.objects.get(code="market_regulation")
    today = timezone.localdate()
    with transaction.atomic():
        regulator = User.objects.create(username="load-regulator")
        Regulator.objects.create(user=regulator, department=market)
        users = User.objects.bulk_create(
            [
                User(username=f"load-{n:03d}-{role}", first_name=f"{role} {n}")
                for n in range(inspectors)
                for role in ("lead", "partner")
            ]
        )
        officers = Inspector.objects.bulk_create(
            [
                Inspector(user=user, department=market, certificate_no=f"1101059{i:05d}")
                for i, user in enumerate(users)
            ]
        )
        Inspector.districts.through.objects.bulk_create(
            [Inspector.districts.through(inspector_id=o.pk, district_id=chaoyang.pk) for o in officers]
        )
        tokens = [TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in range(inspectors)]
        ApiToken.objects.bulk_create(
            [
                ApiToken(
                    user=users[2 * n],
                    device="load tablet",
                    key_hash=secret_digest(raw),
                    prefix=raw[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
                    expires_at=timezone.now() + timedelta(days=1),
                )
                for n, raw in enumerate(tokens)
            ]
        )
        enterprises = Enterprise.objects.bulk_create(
            [
                Enterprise(
                    uscc=uscc.build(authority="9", kind="1", division="110105", body8=f"7{n:07d}"),
                    name=f"压测餐饮{n}有限公司",
                    address=f"北京市朝阳区测试路{n}号",
                    district=chaoyang,
                    scene=catering,
                    legal_representative="王五",
                )
                for n in range(inspectors * tasks_per_pair)
            ],
            batch_size=2000,
        )
        tasks = InspectionTask.objects.bulk_create(
            [
                InspectionTask(
                    enterprise=enterprise,
                    department=market,
                    source=InspectionTask.Source.RISK,
                    due_from=today,
                    due_to=today + timedelta(days=7),
                    created_by=regulator,
                )
                for enterprise in enterprises
            ],
            batch_size=2000,
        )
        through = InspectionTask.inspectors.through
        links = []
        for n, task in enumerate(tasks):
            pair = n % inspectors
            for officer in (officers[2 * pair], officers[2 * pair + 1]):
                links.append(through(inspectiontask_id=task.pk, inspector_id=officer.pk))
        through.objects.bulk_create(links, batch_size=5000)
    return [
        Tablet(n, users[2 * n].username, tokens[n], officers[2 * n].pk, officers[2 * n + 1].pk)
        for n in range(inspectors)
    ]


def start_gunicorn(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one, and not by the terminal's Ctrl-C
    )


def start_nginx(port: int, upstreams: dict[str, int], workdir: Path) -> subprocess.Popen:
    """nginx on 127.0.0.1:``port`` in the foreground, routing by deploy/nginx/locations.conf (the file
    production includes) to the upstreams named there, each one gunicorn on 127.0.0.1."""
    # Debian installs it in /usr/sbin, which only root's PATH has.
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        raise SystemExit("--proxy and --autosave-workers need nginx: apt-get install nginx-light")
    home = workdir / "nginx"
    home.mkdir()
    # Started as root, nginx's workers run as nobody: they must reach the temporary files under home.
    workdir.chmod(0o711)
    home.chmod(0o755)
    blocks = "".join(
        f"  upstream {name} {{ server 127.0.0.1:{upstream}; }}\n" for name, upstream in upstreams.items()
    )
    temp = " ".join(
        f"{kind}_temp_path {home / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (home / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {home / 'nginx.pid'}; error_log {home / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log off; {temp}\n{blocks}"
        f"  server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size 100m;\n"
        f"    include {ROOT / 'deploy' / 'nginx' / 'locations.conf'};\n  }}\n}}\n"
    )
    return subprocess.Popen(
        [nginx, "-p", str(home), "-c", str(home / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_servers(
    env: dict[str, str],
    port: int,
    workdir: Path,
    started: list[subprocess.Popen],
    *,
    workers: int,
    autosave_workers: int,
    proxy: bool,
) -> tuple[list[subprocess.Popen], subprocess.Popen | None, list[Path], str]:
    """What the tablets talk to on 127.0.0.1:``port``: one gunicorn, or nginx with the production
    routes in front of one (``proxy``) or of two, the second for the answer autosave
    (``autosave_workers``). Each process is added to ``started`` as soon as it runs, for the caller
    to stop whatever happens. Returns the gunicorns, nginx, their logs and a line describing it."""
    if not (proxy or autosave_workers):
        log = workdir / "gunicorn.log"
        started.append(start_gunicorn(env, port, workers, log))
        wait_ready(port, started[-1])
        return list(started), None, [log], f"{workers} sync workers on 127.0.0.1:{port}"
    pools = {"supervision_app": workers, "supervision_autosave": autosave_workers}
    gunicorns, logs, upstreams = [], [], {}
    for name, count in pools.items():
        if not count:
            continue
        upstreams[name], log = free_port(), workdir / f"gunicorn-{name}.log"
        started.append(start_gunicorn(env, upstreams[name], count, log))
        gunicorns.append(started[-1])
        logs.append(log)
        wait_ready(upstreams[name], started[-1])
    # Without workers of its own, the autosave's route leads to the same gunicorn as the rest.
    upstreams.setdefault("supervision_autosave", upstreams["supervision_app"])
    started.append(start_nginx(port, upstreams, workdir))
    wait_ready(port, started[-1])
    autosave = (
        f"{autosave_workers} more for the answer autosave" if autosave_workers else "the autosave among them"
    )
    layout = f"nginx on 127.0.0.1:{port} (deploy/nginx/locations.conf): {workers} sync workers, {autosave}"
    return gunicorns, started[-1], logs, layout


def wait_booted(processes: list[subprocess.Popen], timeout: float = 120) -> None:
    """Until every worker has booted: /healthz answers as soon as one has, while the others still load
    the app (seconds of CPU each, config/wsgi.py), which is start-up, not serving. Booted workers
    wait in accept(), so their process groups stop using CPU."""
    deadline, before = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        now = sum(group_cpu_seconds(process.pid) for process in processes)
        if before is not None and now - before < 0.02:
            return
        before = now
        time.sleep(0.5)
    raise SystemExit("the servers were still busy starting after 2 minutes")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of the live processes of a process group (gunicorn's master and workers)."""
    ticks, per_second = 0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ..., utime (12), stime (13)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / per_second


def stop_server(process: subprocess.Popen | None) -> None:
    """Stop a server started in its own process group (gunicorn, or nginx)."""
    if process is None or process.poll() is not None:
        return
    # gunicorn: SIGINT is a quick shutdown (SIGTERM waits for requests); nginx: SIGINT is SIGTERM's twin.
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with {process.returncode} before serving")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{process.args[0]} did not answer /healthz in time")


# --- the simulated tablets -------------------------------------------------------------------------


@dataclass
class Attempt:
    kind: str
    started: float  # time.monotonic()
    seconds: float
    outcome: str  # "ok", "http 503", "ConnectionRefusedError", ...


@dataclass
class Ack:
    submission_id: str
    inspection_id: int
    task_id: int
    tablet: int


class GaveUp(Exception):
    pass


class TimeUp(Exception):
    """The run's time is over: the inspection in hand is left as a draft (a submit is finished)."""


class Refused(Exception):
    """A 4xx: the inspection is abandoned."""


@dataclass
class Run:
    port: int
    deadline: float
    max_attempts: int
    photos: list[bytes]
    signature: str
    think: float = 0.0  # a tablet's mean pause before each request, in seconds
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Attempt] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)  # submits given up on
    refusals: Counter = field(default_factory=Counter)
    abandoned: int = 0
    out_of_tasks: int = 0


class Client:
    def __init__(self, run: Run, tablet: Tablet):
        self.run, self.tablet = run, tablet
        self.log: list[Attempt] = []
        self.pauses = random.Random(
            -tablet.number
        )  # its own stream: the inspection's draws stay as they were
        self.headers = {"Authorization": f"Bearer {tablet.token}", "Accept-Language": "en"}

    def _once(self, method: str, path: str, body: bytes | None, content_type: str | None):
        connection = http.client.HTTPConnection("127.0.0.1", self.run.port, timeout=60)
        try:
            headers = dict(self.headers)
            if content_type:
                headers["Content-Type"] = content_type
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def call(self, kind: str, method: str, path: str, *, payload=None, multipart=None, expect=(200, 201)):
        """One logical request: retried on connection errors and 5xx, the same body every time."""
        if multipart is not None:
            boundary = uuid.uuid4().hex
            name, filename, data = multipart
            body = (
                (
                    f"--{boundary}\r\n"
                    f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    f"Content-Type: image/jpeg\r\n\r\n"
                ).encode()
                + data
                + f"\r\n--{boundary}--\r\n".encode()
            )
            content_type = f"multipart/form-data; boundary={boundary}"
        elif payload is not None:
            body, content_type = json.dumps(payload).encode(), "application/json"
        else:
            body, content_type = None, None
        if self.run.think:
            # The inspector looks, taps, signs: between 0.5x and 1.5x the mean, not counted as latency.
            time.sleep(self.run.think * self.pauses.uniform(0.5, 1.5))
        if kind != "submit" and (time.monotonic() >= self.run.deadline or self.run.stop.is_set()):
            raise TimeUp
        for attempt in range(self.run.max_attempts):
            started = time.monotonic()
            try:
                status, data = self._once(method, path, body, content_type)
                outcome = "ok" if status in expect else f"http {status}"
            except (OSError, http.client.HTTPException) as exc:
                status, data, outcome = None, b"", type(exc).__name__
            self.log.append(Attempt(kind, started, time.monotonic() - started, outcome))
            if status in expect:
                return json.loads(data) if data else None
            if status is not None and status not in RETRYABLE_STATUS:
                try:
                    code = json.loads(data).get("code", "")
                except ValueError:
                    code = ""
                raise Refused(f"{kind} {status} {code}")
            # Exponential backoff with jitter: 0.1, 0.2, 0.4 ... capped at 4 s.
            time.sleep(min(4.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))
        raise GaveUp(kind)

    def next_task(self) -> int | None:
        page = self.call("next", "GET", "/api/v1/tasks?status=planned&page_size=1")
        return page["items"][0]["id"] if page["items"] else None

    def inspect(self, task_id: int, rng: random.Random) -> None:
        run, tablet = self.run, self.tablet
        record = self.call("start", "POST", f"/api/v1/tasks/{task_id}/inspection")
        url = f"/api/v1/inspections/{record['id']}"
        items = record["items"]
        failing = set(rng.sample(range(len(items)), k=min(len(items), rng.choice((1, 2)))))
        for n, item in enumerate(items):
            result = "non_compliant" if n in failing else "compliant"
            self.call(
                "answer",
                "PUT",
                f"{url}/answers/{item['id']}",
                payload={"result": result, "note": f"seen {n}"},
            )
        for n in sorted(failing):
            photo = run.photos[rng.randrange(len(run.photos))]
            self.call(
                "photo",
                "POST",
                f"{url}/answers/{items[n]['id']}/photos",
                multipart=("photo", f"IMG_{n:04d}.jpg", photo),
            )
        for inspector_id in (tablet.inspector_id, tablet.partner_id):
            self.call(
                "sign",
                "POST",
                f"{url}/signatures",
                payload={"role": "inspector", "inspector_id": inspector_id, "png_base64": run.signature},
            )
        self.call(
            "sign",
            "POST",
            f"{url}/signatures",
            payload={"role": "representative", "png_base64": run.signature},
        )
        submission_id = str(uuid.uuid4())
        try:
            body = self.call(
                "submit",
                "POST",
                f"{url}/submit",
                payload={"submission_id": submission_id, "conclusion": "rectify"},
            )
        except GaveUp:
            with run.lock:
                run.unacknowledged.append(submission_id)
            raise
        with run.lock:
            if body.get("id") == record["id"] and body.get("status") == "submitted":
                run.acks.append(Ack(submission_id, record["id"], task_id, tablet.number))
            else:  # a 2xx that is not this record, submitted: a bug to look at, never an ack
                run.abandoned += 1
                run.refusals[f"submit answered {body.get('id')} {body.get('status')}"] += 1

    def work(self) -> None:
        run = self.run
        rng = random.Random(self.tablet.number)
        try:
            while time.monotonic() < run.deadline and not run.stop.is_set():
                try:
                    task_id = self.next_task()
                    if task_id is None:
                        with run.lock:
                            run.out_of_tasks += 1
                        return
                    self.inspect(task_id, rng)
                except TimeUp:
                    return
                except (Refused, GaveUp) as exc:
                    with run.lock:
                        run.abandoned += 1
                        run.refusals[str(exc) if isinstance(exc, Refused) else f"gave up: {exc}"] += 1
        finally:
            with run.lock:
                run.attempts.extend(self.log)


def restart_postgres(run: Run, at: float, cluster: tuple[str, str], record: dict) -> None:
    """At ``at`` (monotonic), restart the cluster; note when the command started and returned."""
    while time.monotonic() < at:
        if run.stop.wait(0.05):
            return
    record["started"] = time.monotonic()
    result = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],
        capture_output=True,
        text=True,
    )
    record["returned"] = time.monotonic()
    record["rc"] = result.returncode
    record["output"] = (result.stdout + result.stderr).strip()


# --- report ----------------------------------------------------------------------------------------


def report(run: Run, began: float, ended: float, restart: dict, workers: int) -> dict:
    elapsed = ended - began
    ok = [a for a in run.attempts if a.outcome == "ok"]
    failed = [a for a in run.attempts if a.outcome != "ok"]
    print(f"\nwall time {elapsed:.1f} s, {len(run.attempts)} attempts, {len(ok)} succeeded")
    print(f"{'kind':<7} {'ok':>7} {'failed':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    by_kind = defaultdict(list)
    for a in ok:
        by_kind[a.kind].append(a.seconds * 1000)
    failed_by_kind = Counter(a.kind for a in failed)
    latency = {}
    for kind in KINDS:
        values = by_kind.get(kind, [])
        latency[kind] = (percentile(values, 50), percentile(values, 95), percentile(values, 99))
        print(
            f"{kind:<7} {len(values):>7} {failed_by_kind[kind]:>6} {latency[kind][0]:>8.1f}"
            f" {latency[kind][1]:>8.1f} {latency[kind][2]:>8.1f} {max(values, default=float('nan')):>8.1f}"
        )
    failures = Counter(a.outcome for a in failed)
    print(f"failed attempts (retried): {dict(failures) or 'none'}")
    print(f"abandoned inspections: {run.abandoned} {dict(run.refusals) or ''}")
    summary = {
        "elapsed": elapsed,
        "requests": len(ok),
        "requests_per_s": len(ok) / elapsed,
        "submits": len(run.acks),
        "submits_per_s": len(run.acks) / elapsed,
        "failed_attempts": len(failed),
        "latency": latency,
        "workers": workers,
    }
    if restart:
        t0, t1 = restart["started"], restart["returned"]
        window = [a for a in failed if t0 - 1 <= a.started + a.seconds <= t1 + 60]
        last_failure = max((a.started + a.seconds for a in window), default=t1)
        after = [a for a in ok if a.started >= last_failure]
        first_ok = min((a.started + a.seconds for a in after), default=float("nan"))
        summary["restart"] = {
            "at": t0 - began,
            "command_s": t1 - t0,
            "failed": len(window),
            "failed_by_kind": dict(Counter(a.kind for a in window)),
            "failed_by_outcome": dict(Counter(a.outcome for a in window)),
            "first_failure": min((a.started + a.seconds for a in window), default=t0) - t0,
            "last_failure": last_failure - t0,
            "recovered": first_ok - t0,
            "rc": restart["rc"],
        }
        r = summary["restart"]
        print(
            f"restart: at +{r['at']:.1f} s, pg_ctlcluster took {r['command_s']:.2f} s (rc {r['rc']});"
            f" {r['failed']} failed attempts, first +{r['first_failure']:.2f} s,"
            f" last +{r['last_failure']:.2f} s,"
            f" first success after them +{r['recovered']:.2f} s after the restart began"
        )
        print(f"  failed by kind {r['failed_by_kind']}, by outcome {r['failed_by_outcome']}")
    return summary


def prove_exactly_once(run: Run) -> str:
    """From the database: every acknowledged submit present once, nothing twice, nothing stray."""
    from django.db import connections
    from django.db.models import Count

    from core.audit import verify_chain
    from core.models import AuditEvent
    from supervision.models import Inspection, InspectionAnswer, InspectionTask, RectificationOrder

    connections.close_all()  # the set-up connection may predate a restart
    acked = {a.submission_id: (a.inspection_id, a.task_id) for a in run.acks}
    stored = {
        str(sid): (pk, task)
        for sid, pk, task in Inspection.objects.filter(status=Inspection.Status.SUBMITTED).values_list(
            "submission_id", "pk", "task_id"
        )
    }
    dup_sid = (
        Inspection.objects.exclude(submission_id=None)
        .values("submission_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    dup_task = Inspection.objects.values("task_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    missing = [sid for sid, where in acked.items() if stored.get(sid) != where]
    stray = [sid for sid in stored if sid not in acked]
    stray_given_up = [sid for sid in stray if sid in run.unacknowledged]
    events = Counter(
        AuditEvent.objects.filter(action="inspection.submit").values_list("data__submission_id", flat=True)
    )
    event_dups = sum(1 for n in events.values() if n > 1)
    events_for_acked = sum(1 for sid in acked if events.get(sid) == 1)
    done = InspectionTask.objects.filter(status=InspectionTask.Status.DONE).count()
    orders = RectificationOrder.objects.count()
    # Not part of exactly-once (a photo POST has no client id): a retried upload whose first
    # attempt had committed leaves the photo twice on its item; the client sends one per item.
    photo_dups = (
        InspectionAnswer.objects.annotate(n=Count("photos")).filter(n__gt=1).count(),
        InspectionAnswer.objects.annotate(n=Count("photos")).filter(n__gt=0).count(),
    )
    chain = verify_chain()
    lines = [
        ("acknowledged submits (distinct submission ids)", f"{len(run.acks)} ({len(acked)})"),
        ("submitted inspections in the database", len(stored)),
        ("acknowledged but missing or on another record", len(missing)),
        ("submission ids stored more than once", dup_sid),
        ("tasks with more than one inspection", dup_task),
        (
            "submitted but never acknowledged",
            f"{len(stray)} (of which the client gave up on {len(stray_given_up)})",
        ),
        (
            "inspection.submit audit events",
            f"{sum(events.values())}; ids with more than one: {event_dups};"
            f" acknowledged ids with exactly one: {events_for_acked}",
        ),
        ("tasks done / rectification orders", f"{done} / {orders}"),
        ("(info) answers with a photo stored twice", f"{photo_dups[0]} of {photo_dups[1]} with photos"),
        (
            "audit chain",
            f"intact ({chain.events} events)"
            if chain.ok
            else f"BROKEN at #{chain.broken_seq}: {chain.reason} ({chain.events} events)",
        ),
    ]
    print()
    for label, value in lines:
        print(f"proof: {label:<48} {value}")
    ok = (
        len(acked) == len(run.acks)
        and not missing
        and dup_sid == 0
        and dup_task == 0
        and len(stray) == len(stray_given_up)
        and event_dups == 0
        and events_for_acked == len(acked)
        and sum(events.values()) == len(stored)
        and done == len(stored)
        and orders == len(stored)
        and chain.ok
    )
    verdict = (
        "FAIL" if not ok else "PASS" if acked else "nothing acknowledged: run longer or with fewer --items"
    )
    print(f"proof: EXACTLY ONCE: {verdict}")
    return verdict


# --- main ------------------------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--inspectors", type=int, default=50, help="simulated tablets, one per pair")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument(
        "--autosave-workers",
        type=int,
        default=0,
        help="a gunicorn of this many workers for the answer autosave, behind nginx (docs/DEPLOY.md);"
        " default 0: one gunicorn serves everything",
    )
    parser.add_argument(
        "--proxy",
        action="store_true",
        help="nginx in front with the production routes, also without --autosave-workers (then one"
        " gunicorn serves both routes)",
    )
    parser.add_argument("--items", type=int, default=30, help="checklist items per inspection")
    parser.add_argument("--tasks-per-pair", type=int, help="default: enough for --seconds at any speed")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="a tablet's mean pause before each request, in seconds (default 0: each sends as soon as"
        " it is answered, far more often than a person taps)",
    )
    parser.add_argument("--max-attempts", type=int, default=10, help="per request, backoff capped at 4 s")
    parser.add_argument("--restart-pg", action="store_true", help="restart PostgreSQL during the run")
    parser.add_argument("--restart-at", type=float, default=1 / 3, help="when, as a fraction of --seconds")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    tasks_per_pair = args.tasks_per_pair or int(args.seconds // 2) + 5

    signal.signal(signal.SIGTERM, _interrupt)  # cleans up like Ctrl-C
    import psycopg

    server = args.postgres_url.rstrip("/")
    cluster = pg_cluster(urlsplit(server).port or 5432) if args.restart_pg else None
    dbname = f"bench_load_{os.getpid()}_{secrets.token_hex(3)}"
    workdir = tempfile.mkdtemp(prefix="bench-load-")
    servers: list[subprocess.Popen] = []  # the gunicorns (and nginx), stopped in the end whatever happens
    run, created, passed = None, False, False
    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        created = True
        env = app_environment(f"{server}/{dbname}", workdir)
        started = time.monotonic()
        setup_django(env)
        tablets = seed(inspectors=args.inspectors, tasks_per_pair=tasks_per_pair, items=args.items)
        photos = [make_photo(seed) for seed in range(6)]
        from django.db import connections

        connections.close_all()
        print(
            f"database {dbname}: {args.inspectors} pairs, {tasks_per_pair} tasks each, {args.items} items;"
            f" photos {min(map(len, photos)) // 1024}-{max(map(len, photos)) // 1024} KB;"
            f" set up in {time.monotonic() - started:.1f} s"
        )
        port = free_port()
        gunicorns, nginx, logs, layout = start_servers(
            env,
            port,
            Path(workdir),
            servers,
            workers=args.workers,
            autosave_workers=args.autosave_workers,
            proxy=args.proxy,
        )
        wait_booted(gunicorns)
        load_before = os.getloadavg()
        print(f"gunicorn: {layout}")

        def server_cpu_seconds() -> float:
            return sum(group_cpu_seconds(process.pid) for process in gunicorns)

        server_cpu, client_cpu = server_cpu_seconds(), time.process_time()
        proxy_cpu = group_cpu_seconds(nginx.pid) if nginx else 0.0
        began = time.monotonic()
        run = Run(port, began + args.seconds, args.max_attempts, photos, make_signature(), args.think)
        threads = [
            threading.Thread(target=Client(run, tablet).work, name=f"tablet-{tablet.number}", daemon=True)
            for tablet in tablets
        ]
        restart: dict = {}
        if args.restart_pg:
            threads.append(
                threading.Thread(
                    target=restart_postgres,
                    args=(run, began + args.seconds * args.restart_at, cluster, restart),
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        ended = time.monotonic()
        load_after = os.getloadavg()
        server_cpu = server_cpu_seconds() - server_cpu
        client_cpu = time.process_time() - client_cpu
        if nginx:
            proxy_cpu = group_cpu_seconds(nginx.pid) - proxy_cpu
        for process in servers:
            stop_server(process)
        errors = [line for log in logs for line in log.read_text(errors="replace").strip().splitlines()]
        summary = report(run, began, ended, restart, args.workers)
        if errors:
            # The exceptions behind the 5xx: the last line of each traceback names it.
            raised = Counter(
                line if len(line) <= 110 else f"{line[:40]} ... {line[-64:]}"
                for line in errors
                if re.match(r"^[\w.]+(Error|Exception|Warning)\b", line)
            )
            print(f"gunicorn log: {len(errors)} lines; exceptions:")
            for line, count in raised.most_common(8):
                print(f"  {count:>5} x {line}")
        if run.out_of_tasks:
            print(f"WARNING: {run.out_of_tasks} tablets ran out of tasks (raise --tasks-per-pair)")
        verdict = prove_exactly_once(run)
        passed = verdict == "PASS"

        lat = summary["latency"]
        print("\n=== summary " + "=" * 60)
        print(
            f"{args.inspectors} inspectors, gunicorn: {layout}, {args.items} items,"
            f" think {args.think:g} s,"
            f" {summary['elapsed']:.1f} s, restart-pg: {'yes' if args.restart_pg else 'no'};"
            f" load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f},"
            f" after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
        )
        served = max(1, summary["requests"] + summary["failed_attempts"])
        print(
            f"gunicorn CPU {server_cpu:.1f} s ({server_cpu / summary['elapsed']:.2f} of {os.cpu_count()}"
            f" cores, {1000 * server_cpu / served:.0f} ms a request);"
            + (f" nginx CPU {proxy_cpu:.1f} s;" if nginx else "")
            + f" client CPU {client_cpu:.1f} s; PostgreSQL's not counted"
        )
        print(
            f"submits: {summary['submits']} ({summary['submits_per_s']:.2f}/s);"
            f" requests: {summary['requests']} ({summary['requests_per_s']:.1f}/s);"
            f" failed attempts (retried): {summary['failed_attempts']};"
            f" abandoned inspections: {run.abandoned}"
        )
        for kind in ("answer", "photo", "sign", "submit"):
            p50, p95, p99 = lat[kind]
            print(f"  {kind:<7} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   p99 {p99:7.1f} ms")
        if "restart" in summary:
            r = summary["restart"]
            print(
                f"restart at +{r['at']:.0f} s: {r['failed']} failed attempts {r['failed_by_kind']},"
                f" failing from +{r['first_failure']:.1f} to +{r['last_failure']:.1f} s after the restart"
                f" began; first success after them completed at +{r['recovered']:.1f} s"
                f" (pg_ctlcluster restart took {r['command_s']:.1f} s)"
            )
        print(f"exactly once: {verdict}")
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        if run is not None:
            run.stop.set()
    finally:
        if run is not None:
            run.stop.set()
        for process in servers:
            stop_server(process)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if created:
            for attempt in range(10):  # PostgreSQL may still be coming back from a restart
                try:
                    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                    break
                except psycopg.OperationalError:
                    time.sleep(1 + attempt)
            else:
                print(f"could not drop database {dbname}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
