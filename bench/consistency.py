"""Server time of the inspectors' consistency report (supervision.monitor.consistency) at city size
on PostgreSQL, and whether it finds the inspectors it should.

Creates the database bench_consistency (kept between runs; --fresh drops it), migrates it, and
seeds it with set-based SQL (setseed: every run has the same data):

- ENTERPRISES enterprises over Beijing's 16 districts and the reference scenes, every 4th with two
  imported inspections (LIVES) before the period, some with critical findings;
- INSPECTORS inspectors (three quarters market regulation, a quarter fire and rescue), each working
  in one district, with a latent strictness: 10% record critical findings twice as often as the
  rest, 10% half as often;
- INSPECTIONS submitted inspections spread over the last two years, each on a task of two inspectors
  of its department (15% complaints, 10% re-inspections), recording a critical finding with a
  probability set by the scene's inherent risk, the enterprise, the reason for the visit and the
  first inspector's strictness.

Then times consistency_report for the last 12 months (as the admin, city-wide, and as Chaoyang's
district regulator), the page and the CSV through Django's test client, counts the page's queries,
and compares the flags with the latent strictness (the report's flags are "stricter" / "more
lenient" only with 20 or more compared inspections).

    .venv/bin/python bench/consistency.py --inspections 1000000

Not a test: it prints numbers to compare.
"""

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"

SEED = """
SELECT setseed(0.14);
CREATE TEMP TABLE strictness AS
SELECT id AS inspector_id,
       CASE WHEN random() < 0.1 THEN 2.0 WHEN random() < 0.111 THEN 0.5 ELSE 1.0 END AS factor
FROM core_inspector;
CREATE TEMP TABLE dept_inspectors AS
SELECT department_id, array_agg(id ORDER BY id) AS ids FROM core_inspector GROUP BY department_id;

INSERT INTO supervision_inspectiontask (enterprise_id, department_id, source, status, due_from, due_to,
    note, origin, created_by_id, created_at, cancel_reason)
SELECT e.id, d.department_id,
       CASE WHEN r < 0.15 THEN 'complaint' WHEN r < 0.25 THEN 'reinspection'
            WHEN r < 0.5 THEN 'random' ELSE 'risk' END,
       'done', CURRENT_DATE, CURRENT_DATE, 'bench', '{}', %(creator)s, now(), ''
FROM (SELECT g, random() AS r, %(first_enterprise)s + floor(random() * %(enterprises)s)::int AS eid,
             random() AS dr
      FROM generate_series(1, %(inspections)s) g) s
JOIN core_enterprise e ON e.id = s.eid
CROSS JOIN LATERAL (SELECT department_id FROM dept_inspectors
                    ORDER BY (department_id = %(market)s) = (s.dr < 0.75) DESC LIMIT 1) d;

INSERT INTO supervision_inspection (task_id, enterprise_id, status, started_by_id, started_at, updated_at,
    note, conclusion, representative_name, representative_refused, refusal_note, submitted_at,
    submitted_by_id, content_hash)
SELECT t.id, t.enterprise_id, 'submitted', t.created_by_id, now(), now(), 'bench', 'pass', '', false, '',
       now() - make_interval(secs => random() * 730 * 86400), t.created_by_id, ''
FROM supervision_inspectiontask t WHERE t.note = 'bench';

INSERT INTO supervision_inspectiontask_inspectors (inspectiontask_id, inspector_id)
SELECT t.id, di.ids[1 + (pick.a + k * (1 + pick.b)) %% cardinality(di.ids)]
FROM supervision_inspectiontask t
JOIN dept_inspectors di ON di.department_id = t.department_id
CROSS JOIN LATERAL (SELECT floor(random() * cardinality(di.ids) + 0 * t.id)::int AS a,
                           floor(random() * (cardinality(di.ids) - 1) + 0 * t.id)::int AS b) pick
CROSS JOIN generate_series(0, 1) k
WHERE t.note = 'bench';

CREATE TEMP TABLE chance AS
SELECT i.id AS inspection_id,
       LEAST(0.95, 0.05 * s.inherent_risk
             * (0.5 + (e.id %% 7) / 6.0)
             * CASE t.source WHEN 'complaint' THEN 2.0 WHEN 'reinspection' THEN 1.5 ELSE 1.0 END
             * st.factor) AS p
FROM supervision_inspection i
JOIN supervision_inspectiontask t ON t.id = i.task_id
JOIN core_enterprise e ON e.id = i.enterprise_id
JOIN core_scene s ON s.id = e.scene_id
JOIN LATERAL (SELECT min(inspector_id) AS first FROM supervision_inspectiontask_inspectors
              WHERE inspectiontask_id = t.id) lead ON true
JOIN strictness st ON st.inspector_id = lead.first
WHERE i.note = 'bench';

INSERT INTO supervision_inspectionanswer (inspection_id, item_id, result, note, updated_at, updated_by_id)
SELECT c.inspection_id, %(critical_item)s, 'non_compliant', 'bench', now(), %(creator)s
FROM chance c WHERE random() < c.p;
INSERT INTO supervision_inspectionanswer (inspection_id, item_id, result, note, updated_at, updated_by_id)
SELECT c.inspection_id, %(major_item)s, 'non_compliant', 'bench', now(), %(creator)s
FROM chance c WHERE random() < 0.3;
INSERT INTO supervision_finding (inspection_id, answer_id, item_id, severity)
SELECT a.inspection_id, a.id, a.item_id, it.severity
FROM supervision_inspectionanswer a JOIN checklists_checklistitem it ON it.id = a.item_id
WHERE a.note = 'bench';

INSERT INTO history_historicalinspection (enterprise_id, source, inspected_on, kind, score, created_at)
SELECT e.id, 'lives', CURRENT_DATE - 800 - k * 300 - (random() * 200)::int, 'Routine', 90, now()
FROM core_enterprise e CROSS JOIN generate_series(0, 1) k WHERE e.id %% 4 = 0;
INSERT INTO history_historicalfinding (inspection_id, severity, violation_type, description)
SELECT hi.id, 'critical', '', 'bench' FROM history_historicalinspection hi WHERE random() < 0.3;
ANALYZE;
"""


def database(args) -> str:
    url = f"{SERVER}/{args.database}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone()
        if exists and args.fresh:
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(args.database)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.database)))
    return url


def seed(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from core.models import Department, District, Enterprise, Inspector, Regulator, Scene
    from supervision.models import Inspection
    from tests.factories.checklists import make_checklist

    if Inspection.objects.filter(note="bench").exists():
        return
    started = time.perf_counter()
    users = get_user_model().objects
    users.create_superuser("admin", password=None)
    Regulator.objects.create(user=users.create_user("chaoyang"), district=District.objects.get(code="110105"))
    districts = list(District.objects.filter(level="district").order_by("code"))
    scenes = list(Scene.objects.order_by("code"))
    market, fire = (Department.objects.get(code=code) for code in ("market_regulation", "fire_rescue"))
    Enterprise.objects.bulk_create(
        (
            Enterprise(
                uscc=f"91{n:016d}",
                name=f"bench {n}",
                district=districts[n % len(districts)],
                scene=scenes[(n * 7) % len(scenes)],
            )
            for n in range(args.enterprises)
        ),
        batch_size=10_000,
    )
    people = users.bulk_create(
        get_user_model()(username=f"inspector{n}", first_name=f"Inspector {n}")
        for n in range(args.inspectors)
    )
    inspectors = Inspector.objects.bulk_create(
        Inspector(user=user, department=market if n % 4 else fire, certificate_no=f"B{n:08d}")
        for n, user in enumerate(people)
    )
    Inspector.districts.through.objects.bulk_create(
        Inspector.districts.through(inspector=inspector, district=districts[n % len(districts)])
        for n, inspector in enumerate(inspectors)
    )
    checklist = make_checklist("catering", "market_regulation", items=3)
    items = {item.severity: item.pk for item in checklist.items.all()}
    first = Enterprise.objects.order_by("pk").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(
            SEED,
            {
                "creator": users.get(username="admin").pk,
                "first_enterprise": first,
                "enterprises": args.enterprises,
                "inspections": args.inspections,
                "market": market.pk,
                "critical_item": items["critical"],
                "major_item": items["major"],
            },
        )
        cursor.execute("SELECT inspector_id, factor FROM strictness")
        Path(f"/tmp/{args.database}_strictness.tsv").write_text(
            "".join(f"{pk}\t{factor}\n" for pk, factor in cursor.fetchall())
        )
    print(f"seeded in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_consistency")
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--inspectors", type=int, default=2_000)
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(
        {
            "DATABASE_URL": database(args),
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "k" * 60,
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_MANIFEST": "0",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TASKS_BACKEND": "immediate",
        }
    )
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"], check=True, env=os.environ
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from supervision.models import Inspection
    from supervision.monitor import consistency

    seed(args)
    first, last = consistency.default_period(timezone.localdate())
    in_period = Inspection.objects.filter(consistency._window_q(first, last)).count()
    print(f"{Inspection.objects.count():,} inspections, {in_period:,} in the period {first} - {last}")

    users = get_user_model().objects
    admin, chaoyang = users.get(username="admin"), users.get(username="chaoyang")
    for label, user in (("admin, city-wide", admin), ("Chaoyang regulator", chaoyang)):
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            rows = consistency.consistency_report(user=user, first=first, last=last)
            times.append(time.perf_counter() - started)
        flags = Counter(row.flag for row in rows)
        print(f"report, {label}: {len(rows)} inspectors, best {min(times):.2f} s; {dict(flags)}")
        if user == admin:
            latent = dict(
                line.split("\t")
                for line in Path(f"/tmp/{args.database}_strictness.tsv").read_text().splitlines()
            )
            table = Counter((latent[str(row.inspector_id)], row.flag) for row in rows)
            for factor in ("2.0", "1.0", "0.5"):
                print(
                    f"  latent strictness {factor}: "
                    + ", ".join(f"{flag} {table[(factor, flag)]}" for flag in consistency.FLAG_LABELS)
                )

    client = Client()
    client.force_login(admin)
    for path in ("/monitor/consistency/", "/monitor/consistency/?format=csv"):
        client.get(path)  # warm
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        print(f"{path}: {elapsed:.2f} s, {len(queries)} queries")


if __name__ == "__main__":
    main()
