"""Server time of the ranking's first page at city size, with filters, as the page and as the API.

Runs against the database bench/recompute.py leaves behind (2.5M enterprises with their scores):

    .venv/bin/python bench/recompute.py --size 2500000      # once
    .venv/bin/python bench/ranking.py --requests 50

The cases list the default (open businesses only: closed ones are left out, and crowd the top of
the risk order the first page walks) and the closed list (licence=closed) with a few filters.

In this process, through Django's test client (full request cycle, no network), as the demo
admin (city-wide) and the demo district regulator. Prints p50 / p95 / max per case.

    .venv/bin/python bench/ranking.py --against max_parallel_workers_per_gather=2

compares the web's settings with one PostgreSQL setting changed, request by request: each case's
requests alternate between the two (the setting SET on the connection, then back), and the p50 of
each side is printed. A shared machine's speed drifts by up to 2x from one minute to the next, so
two separate runs do not tell a 10 ms difference from the drift; alternate requests do.

Not a test: it prints numbers to compare.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"

# Every case without "licence" is the default list: open businesses only (licence active); closed
# businesses crowd the top of the risk order, so these walk past them.
CASES = [
    ("city-wide, by risk", "admin", {}),
    ("city-wide, closed", "admin", {"licence": "closed"}),
    ("city-wide, every licence", "admin", {"licence": "all"}),
    ("scene, closed", "admin", {"scene": "medical", "licence": "closed"}),
    ("by tier, closed", "admin", {"order": "tier", "licence": "closed"}),
    ("district", "admin", {"district": "110105"}),
    ("scene", "admin", {"scene": "medical"}),
    ("tier 4", "admin", {"tier": "4"}),
    ("district + scene + tier", "admin", {"district": "110108", "scene": "catering", "tier": "2"}),
    ("department", "admin", {"department": "health"}),
    ("by tier", "admin", {"order": "tier"}),
    ("district, by credit", "admin", {"district": "110105", "order": "credit"}),
    ("district, by overdue", "admin", {"district": "110105", "order": "overdue"}),
    ("district regulator", "regulator", {}),
    ("district regulator + scene", "regulator", {"scene": "catering"}),
    ("district regulator, closed", "regulator", {"licence": "closed"}),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _alternating(client, path, params, requests, connection, name, value):
    """Server times (ms) of ``requests`` requests with the web's settings and as many with ``name``
    set to ``value``, alternating (which goes first alternates too)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        web = cursor.fetchone()[0]
    if web == value:
        raise SystemExit(f"{name} is {value} in the web's settings already: nothing to compare")
    times = {web: [], value: []}
    for number in range(requests):
        for setting in (web, value) if number % 2 else (value, web):
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, false)", [name, setting])
            started = time.perf_counter()
            client.get(path, params)
            times[setting].append((time.perf_counter() - started) * 1000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [name, web])
    return times[web], times[value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_scoring")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--against", metavar="SETTING=VALUE", help="alternate each request with this PostgreSQL setting"
    )
    args = parser.parse_args()
    against = args.against.partition("=")[::2] if args.against else None
    if against and not (re.fullmatch(r"[a-z_]+", against[0]) and against[1]):
        parser.error("--against takes a PostgreSQL setting's name and a value: name=value")
    os.environ.update(
        {
            "DATABASE_URL": f"{SERVER}/{args.database}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "k" * 60,
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_MANIFEST": "0",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from core.middleware import _serving
    from core.models import Enterprise
    from supervision.models import EnterpriseScore

    rows = EnterpriseScore.objects.count()
    closed = EnterpriseScore.objects.exclude(Enterprise.visitable_q("enterprise__")).count()
    # This process stands for a web worker: the connection the cases use (opened again below) gets
    # the settings of one opened to serve a request (core.middleware: the statement timeout, no
    # parallel workers), not a command's.
    connection.close()
    _serving.set(True)
    print(
        f"{rows:,} scores ({closed:,} of closed businesses); {args.requests} requests per case "
        "(first page), server time in ms"
    )
    if against:
        print(f"{'case':<28} {'as':<10} {'where':<5} {'web p50':>8} {against[0] + '=' + against[1]:>8}")
    else:
        print(f"{'case':<28} {'as':<10} {'where':<5} {'rows':>5} {'p50':>7} {'p95':>7} {'max':>7}")
    users = get_user_model().objects
    summary = []
    for label, username, params in CASES:
        client = Client()
        client.force_login(users.get(username=username))
        for where, path in (("page", "/ranking/"), ("api", "/api/v1/ranking")):
            response = client.get(path, params)  # warm caches and the connection
            assert response.status_code == 200, (label, where, response.status_code, response.content[:300])
            shown = len(response.json()["items"]) if where == "api" else response.content.count(b"<tr") - 1
            if against:
                web, other = _alternating(client, path, params, args.requests, connection, *against)
                summary.append((label, where, statistics.median(web)))
                print(
                    f"{label:<28} {username:<10} {where:<5} {statistics.median(web):8.1f} "
                    f"{statistics.median(other):8.1f}"
                )
                continue
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(path, params)
                times.append((time.perf_counter() - started) * 1000)
            summary.append((label, where, statistics.median(times)))
            print(
                f"{label:<28} {username:<10} {where:<5} {shown:>5} {statistics.median(times):7.1f} "
                f"{percentile(times, 0.95):7.1f} {max(times):7.1f}"
            )
    worst = max(summary, key=lambda row: row[2])
    print(f"RESULT slowest median: {worst[0]} ({worst[1]}) {worst[2]:.1f} ms")


if __name__ == "__main__":
    main()
