"""Server time of the scan landing /c/<token>, per view, with a city-sized table.

Seeds SIZE demo enterprises (each with its identity code) into a PostgreSQL database
(created once and kept, so reruns skip the seeding; --fresh drops it first), then, in
this process against that database, requests the landing of random codes as each kind of
viewer and prints p50 / p95 / max server time (Django's full request cycle, from the
test client to the rendered response; no network). Also prints the API's /scan.

    .venv/bin/python bench/landing.py --size 1000000 --requests 300

Not a test: it prints numbers to compare.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"


def ensure_database(name: str, size: int, fresh: bool, env: dict) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        [*manage, "seed_demo", "--enterprises", str(size), "--password", "bench-password-0", "--no-history"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"seed_demo up to {size:,} enterprises (with codes): {time.perf_counter() - started:.1f} s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()

    name = f"bench_landing_{args.size}"
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{name}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 60,
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "testserver",
        "TASKS_BACKEND": "immediate",
        "LOG_LEVEL": "WARNING",
    }
    ensure_database(name, args.size, args.fresh, env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from core.models import IdentityCode
    from core.permissions import enterprises_visible_to
    from demo import seed as demo

    users = get_user_model().objects
    rng = random.Random(7)

    def sample_tokens(queryset, n):
        # Random rows without ORDER BY random() over a million: pick random primary keys in range.
        ids = list(queryset.values_list("pk", flat=True)[:200_000])
        chosen = rng.sample(ids, min(n, len(ids)))
        return list(
            IdentityCode.objects.filter(enterprise_id__in=chosen, status="active").values_list(
                "token", flat=True
            )
        )

    business = users.get(username="business")
    inspector = users.get(username="inspector")
    regulator = users.get(username="regulator")
    own_token = IdentityCode.objects.get(enterprise=demo.business_enterprise(), status="active").token
    cases = {
        "public (anonymous)": (None, sample_tokens(demo.demo_enterprises(), args.requests)),
        "business (own code)": (business, [own_token] * args.requests),
        "inspector (in district)": (
            inspector,
            sample_tokens(enterprises_visible_to(inspector), args.requests),
        ),
        "regulator (in scope)": (regulator, sample_tokens(enterprises_visible_to(regulator), args.requests)),
    }
    print(f"{'view':<26} {'path':<7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, (user, tokens) in cases.items():
        client = Client()
        if user:
            client.force_login(user)
        for path in ("/c/", "/api/v1/scan/"):
            client.get(f"{path}{tokens[0]}")  # warm caches and connections
            timings = []
            for token in tokens:
                started = time.perf_counter()
                response = client.get(f"{path}{token}")
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (label, response.status_code)
            print(
                f"{label:<26} {path.strip('/').split('/')[-1] or 'c':<7} {len(timings):>5} "
                f"{statistics.median(timings):>8.1f} {percentile(timings, 0.95):>8.1f} {max(timings):>8.1f}"
            )


if __name__ == "__main__":
    main()
