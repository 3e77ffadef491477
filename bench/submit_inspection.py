"""Server time of one on-site inspection through the API: answer 40 items, upload 5 photos, sign, submit.

Builds a 40-item catering checklist and, for each run, a task for two inspectors, then drives
/api/v1/ in-process with Django's test Client as the tablet would (bearer token, one PUT per
item, multipart photos of 1-2 megapixels, three signatures, one submit). Prints p50/p95 over the
runs of each step's total and of its single requests, and the submit on its own line.

    .venv/bin/python bench/submit_inspection.py [--runs 10] [--postgres]

SQLite: a throw-away database in a temporary VAR_DIR. --postgres: a throw-away database created
and dropped on postgres://postgres@127.0.0.1:5432 (override with --postgres-url).
Not a test: it prints numbers to compare. Times include the test client's own work (building
the request, encoding the multipart body), not a network.
"""

import argparse
import base64
import io
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEMS = 40
PHOTOS = 5


def percentile(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(p) - 1]


def make_photo(seed: int) -> bytes:
    """A 1600x1000 JPEG (1.6 MP) with enough noise to weigh what a phone photo weighs."""
    from PIL import Image, ImageChops

    size = (1600, 1000)
    gradient = Image.linear_gradient("L").resize(size)
    channels = [
        ImageChops.add(gradient.rotate(seed * 40 + angle, expand=False), Image.effect_noise(size, 48), 2.0)
        for angle in (0, 90, 180)
    ]
    buffer = io.BytesIO()
    Image.merge("RGB", channels).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def setup_django(database_url: str, workdir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        # Production-like: no query log, no debug wrappers around every cursor.
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        STATIC_MANIFEST="0",
        TASKS_BACKEND="immediate",
        VAR_DIR=workdir,
        MEDIA_ROOT=f"{workdir}/media",
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build():
    """The content and the people, once: a 40-item checklist, an enterprise, a regulator, two inspectors."""
    from django.test import Client

    from tests.factories import PASSWORD, EnterpriseFactory, RegulatorFactory, make_checklist, make_team

    make_checklist("catering", "market_regulation", items=ITEMS)
    enterprise = EnterpriseFactory()
    regulator = RegulatorFactory().user
    team = make_team()
    tablets = []
    for inspector in team:
        response = Client().post(
            "/api/v1/auth/token",
            {"username": inspector.user.username, "password": PASSWORD, "device": "bench tablet"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        tablets.append(Client(headers={"Authorization": f"Bearer {response.json()['token']}"}))
    return enterprise, regulator, team, tablets


def one_run(enterprise, regulator, team, tablets, photos: list[bytes]) -> dict[str, list[float]]:
    """One inspection; returns the seconds of every request, by step."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from supervision.inspections import services as workflow
    from tests.factories import png_bytes

    today = timezone.localdate()
    task = workflow.task_create(
        actor=regulator, enterprise=enterprise, inspectors=team, due_from=today, due_to=today
    )
    first, second = tablets
    times: dict[str, list[float]] = defaultdict(list)

    def timed(step: str, call, *args, expect: int = 200, **kwargs):
        started = time.perf_counter()
        response = call(*args, **kwargs)
        times[step].append(time.perf_counter() - started)
        assert response.status_code == expect, (step, response.status_code, response.content[:500])
        return response.json()

    record = timed("start", first.post, f"/api/v1/tasks/{task.pk}/inspection", expect=201)
    url = f"/api/v1/inspections/{record['id']}"
    items = record["items"]
    assert len(items) == ITEMS, len(items)
    for n, item in enumerate(items):
        result = "non_compliant" if n % 10 == 3 else "compliant"
        timed(
            "answer",
            first.put,
            f"{url}/answers/{item['id']}",
            {"result": result, "note": f"checked {item['code']}"},
            content_type="application/json",
        )
    for n, data in enumerate(photos):
        item = items[3 + 10 * (n % 4)]  # on the non-compliant items, at most five per item
        upload = SimpleUploadedFile(f"IMG_{n:04d}.jpg", data, content_type="image/jpeg")
        timed("photo", second.post, f"{url}/answers/{item['id']}/photos", {"photo": upload})
    signature = base64.b64encode(png_bytes(size=(600, 200))).decode()
    for tablet, inspector in zip(tablets, team, strict=True):
        timed(
            "sign",
            tablet.post,
            f"{url}/signatures",
            {"role": "inspector", "inspector_id": inspector.pk, "png_base64": signature},
            content_type="application/json",
            expect=201,
        )
    timed(
        "sign",
        first.post,
        f"{url}/signatures",
        {"role": "representative", "png_base64": signature},
        content_type="application/json",
        expect=201,
    )
    body = timed(
        "submit",
        first.post,
        f"{url}/submit",
        {"submission_id": str(uuid.uuid4()), "conclusion": "rectify"},
        content_type="application/json",
    )
    assert body["status"] == "submitted" and body["order"], body
    return times


def report(runs: list[dict[str, list[float]]]) -> None:
    print(
        f"{'step':<8} {'requests':>8} {'total p50':>10} {'total p95':>10} {'req p50':>9} {'req p95':>9}  (ms)"
    )
    for step in ("start", "answer", "photo", "sign", "submit"):
        totals = [sum(run[step]) * 1000 for run in runs]
        singles = [t * 1000 for run in runs for t in run[step]]
        p50, p95 = percentile(totals, 50), percentile(totals, 95)
        print(
            f"{step:<8} {len(runs[0][step]):>8} {p50:>10.1f} {p95:>10.1f}"
            f" {percentile(singles, 50):>9.1f} {percentile(singles, 95):>9.1f}"
        )
    whole = [sum(sum(ts) for ts in run.values()) * 1000 for run in runs]
    print(f"{'all':<8} {sum(len(ts) for ts in runs[0].values()):>8} {percentile(whole, 50):>10.1f}")
    submits = [run["submit"][0] * 1000 for run in runs]
    print(
        f"submit: p50 {percentile(submits, 50):.1f} ms, p95 {percentile(submits, 95):.1f} ms, "
        f"min {min(submits):.1f}, max {max(submits):.1f} ({len(runs)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1, help="runs before measuring (imports, caches)")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL database")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-submit-")
    server, dbname = args.postgres_url.rstrip("/"), f"bench_submit_{os.getpid()}_{secrets.token_hex(3)}"
    if args.postgres:
        import psycopg

        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        database_url = f"{server}/{dbname}"
    else:
        database_url = f"sqlite:///{workdir}/bench.sqlite3"
    try:
        setup_django(database_url, workdir)
        from django.db import connection

        photos = [make_photo(seed) for seed in range(PHOTOS)]
        megabytes = sum(len(p) for p in photos) / PHOTOS / 1e6
        print(f"{connection.vendor}, {ITEMS} items, {PHOTOS} photos of 1.6 MP (~{megabytes:.1f} MB each)")
        world = build()
        for _ in range(args.warmup):
            one_run(*world, photos)
        report([one_run(*world, photos) for _ in range(args.runs)])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
