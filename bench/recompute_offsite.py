"""Full score recompute at city size with other departments' data: supervision.risk.scoring.recompute_all
with the example off-site factors (supervision.risk.offsite.EXAMPLE_OFFSITE: register risk class,
facility type, five licensed activities, licence age, sanitation complaints nearby) plus one keyed
factor (camera alerts) and penalty signals into credit, against the same recompute without them.

Seeds SIZE demo enterprises into a PostgreSQL database (kept between runs; --fresh drops it), the
facts of bench/recompute.py (history, our own loop, complaints, penalties), then, set-based and
seeded:

- register attributes for every enterprise: risk_class, facility_type, tobacco,
  consumption_on_premises_incidental_activity, tavern, package_goods, outdoor_patio (0/1) and
  licence_first_issued (a date), one row each, and an older risk_class for every tenth;
- SIGNALS signals over the last three years (a third of them in the factors' 365-day window):
  97 % sanitation complaints located by a point, 80 % of those within a few hundred metres of a
  random enterprise (where a city's businesses are, its complaints are) and 20 % anywhere in the
  city's box; 2 % camera alerts and 1 % penalties keyed to random enterprises.

Then times recompute_all with and without the off-site factors, alternating, the nearby factor's
city-wide cell sums on their own, and checks the grid against exact distances for a sample of
enterprises (how far the nearby feature is from the one exact distances give).

    .venv/bin/python bench/recompute_offsite.py --size 2500000 --signals 5000000
    .venv/bin/python bench/recompute_offsite.py --size 250000 --signals 500000 --database bench_offsite

Not a test: it prints numbers to compare.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import recompute as base_bench  # noqa: E402 - bench/recompute.py, beside this script

ATTRIBUTES = """
SELECT setseed(0.17);
TRUNCATE history_enterpriseattribute;
INSERT INTO history_enterpriseattribute (source_id, enterprise_id, name, value, valid_from, batch_id)
SELECT %(register)s, e.id, a.name,
  CASE a.name
    WHEN 'risk_class' THEN CASE WHEN r < 0.6 THEN 'high' WHEN r < 0.85 THEN 'medium' ELSE 'low' END
    WHEN 'facility_type' THEN CASE WHEN r < 0.65 THEN 'Restaurant' WHEN r < 0.8 THEN 'Grocery Store'
                                   WHEN r < 0.88 THEN 'School' WHEN r < 0.9 THEN 'Bakery'
                                   ELSE 'Daycare (2 - 6 Years)' END
    WHEN 'licence_first_issued' THEN to_char(CURRENT_DATE - (r * 4000)::int, 'YYYY-MM-DD')
    ELSE CASE WHEN r < a.share THEN '1' ELSE '0' END
  END,
  CASE WHEN a.name = 'licence_first_issued' THEN CURRENT_DATE - (r * 4000)::int
       ELSE CURRENT_DATE - 200 - (random() * 3000)::int END,
  %(batch)s
FROM core_enterprise e
CROSS JOIN (VALUES ('risk_class', 0.0), ('facility_type', 0.0), ('tobacco', 0.10),
                   ('consumption_on_premises_incidental_activity', 0.15), ('tavern', 0.03),
                   ('package_goods', 0.12), ('outdoor_patio', 0.08),
                   ('licence_first_issued', 0.0)) a(name, share)
CROSS JOIN LATERAL (SELECT random() + 0 * e.id + 0 * length(a.name) AS r) rr;
-- An older risk class for every tenth enterprise: the newer row must win.
INSERT INTO history_enterpriseattribute (source_id, enterprise_id, name, value, valid_from, batch_id)
SELECT %(register)s, e.id, 'risk_class', 'low', CURRENT_DATE - 4000, %(batch)s
FROM core_enterprise e WHERE e.id %% 10 = 0;
"""

SIGNALS = """
SELECT setseed(0.29);
TRUNCATE history_signal;
CREATE TEMP TABLE bench_box AS
SELECT min(latitude)::float8 AS lat0, max(latitude)::float8 AS lat1,
       min(longitude)::float8 AS lon0, max(longitude)::float8 AS lon1,
       min(id) AS lo, max(id) AS hi
FROM core_enterprise WHERE latitude IS NOT NULL;
-- Complaints near businesses: a random enterprise's point and a Gaussian offset (sd ~150 m).
INSERT INTO history_signal (source_id, source_ref, kind, occurred_at, latitude, longitude, business_key,
                            enterprise_id, value, description, batch_id)
SELECT %(hotline)s, 'n' || g.n, 'sanitation_complaint', now() - random() * interval '1095 days',
       LEAST(90, GREATEST(-90, e.latitude::float8 + 0.00135 * g.z1)),
       LEAST(180, GREATEST(-180, e.longitude::float8 + 0.00176 * g.z2)), '', NULL, NULL, '', %(batch)s
FROM (SELECT n, b.lo + floor(random() * (b.hi - b.lo + 1))::bigint AS eid,
             sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z1,
             sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z2
      FROM generate_series(1, %(near)s) n, bench_box b) g
JOIN core_enterprise e ON e.id = g.eid AND e.latitude IS NOT NULL;
-- Complaints anywhere in the city's box.
INSERT INTO history_signal (source_id, source_ref, kind, occurred_at, latitude, longitude, business_key,
                            enterprise_id, value, description, batch_id)
SELECT %(hotline)s, 'a' || n, 'sanitation_complaint', now() - random() * interval '1095 days',
       b.lat0 + random() * (b.lat1 - b.lat0), b.lon0 + random() * (b.lon1 - b.lon0), '', NULL, NULL, '',
       %(batch)s
FROM generate_series(1, %(anywhere)s) n, bench_box b;
-- Camera alerts and another bureau's penalties, keyed to enterprises.
INSERT INTO history_signal (source_id, source_ref, kind, occurred_at, latitude, longitude, business_key,
                            enterprise_id, value, description, batch_id)
SELECT CASE WHEN g.n %% 3 = 0 THEN %(bureau)s ELSE %(camera)s END, 'k' || g.n,
       CASE WHEN g.n %% 3 = 0 THEN 'penalty' ELSE 'camera_alert' END,
       now() - random() * interval '1095 days', NULL, NULL, e.uscc, e.id, NULL, '', %(batch)s
FROM (SELECT n, b.lo + floor(random() * (b.hi - b.lo + 1))::bigint AS eid
      FROM generate_series(1, %(keyed)s) n, bench_box b) g
JOIN core_enterprise e ON e.id = g.eid;
DROP TABLE bench_box;
"""


def seed_offsite(*, signals: int) -> dict:
    from django.db import connection

    from history.models import DataSource, SourceBatch

    def source(code: str, kind: str) -> DataSource:
        return DataSource.objects.get_or_create(
            code=code, defaults={"kind": kind, "name": code, "name_en": code}
        )[0]

    register = source("bench_register", DataSource.Kind.REGISTER)
    hotline = source("bench_hotline", DataSource.Kind.HOTLINE)
    camera = source("bench_camera", DataSource.Kind.CAMERA)
    bureau = source("bench_bureau", DataSource.Kind.BUREAU)
    batch = SourceBatch.objects.create(
        source=register, content="attributes", channel="file", rows=0, created=0, sha256="0" * 64
    )
    located = round(signals * 0.97)
    params = {
        "register": register.pk,
        "hotline": hotline.pk,
        "camera": camera.pk,
        "bureau": bureau.pk,
        "batch": batch.pk,
        "near": round(located * 0.8),
        "anywhere": located - round(located * 0.8),
        "keyed": signals - located,
    }
    timings = {}
    with connection.cursor() as cursor:
        for label, statement in (("attributes", ATTRIBUTES), ("signals", SIGNALS)):
            started = time.perf_counter()
            cursor.execute(statement, params)
            timings[label] = time.perf_counter() - started
        cursor.execute("ANALYZE history_enterpriseattribute")
        cursor.execute("ANALYZE history_signal")
        cursor.execute(
            "SELECT (SELECT count(*) FROM history_enterpriseattribute),"
            " (SELECT count(*) FROM history_signal),"
            " (SELECT count(*) FROM history_signal WHERE latitude IS NOT NULL)"
        )
        attributes, total, with_point = cursor.fetchone()
    print(
        f"off-site data: {attributes:,} attributes ({timings['attributes']:.0f} s), {total:,} signals, "
        f"{with_point:,} with a point ({timings['signals']:.0f} s)"
    )
    return {"attributes": attributes, "signals": total}


def bench_policy():
    """The current policy with the example off-site factors, camera alerts and penalty signals."""
    from supervision.risk import offsite, scoring

    base = scoring.current_policy()
    weights, params = offsite.example_policy(weights=base.weights, params=base.params)
    params["offsite"].append(
        {
            "name": "camera_alerts",
            "label": {"zh": "后厨摄像头告警", "en": "kitchen camera alerts"},
            "type": "keyed",
            "kind": "camera_alert",
            "half_life_days": 90,
            "window_days": 365,
            "saturation": 3,
        }
    )
    weights["camera_alerts"] = 3
    params["credit"] = {**params["credit"], "signal_penalty_kinds": ["penalty"]}
    return scoring.policy_create(actor=None, weights=weights, params=params, note="bench", adopt=False)


def accuracy(policy, *, sample: int) -> None:
    """The grid's nearby feature against exact distances (haversine) for ``sample`` enterprises."""
    import numpy as np
    from django.db import connection
    from django.utils import timezone

    from supervision.risk import offsite_sql, scoring

    definition = next(d for d in policy.params["offsite"] if d["type"] == "nearby")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, latitude::float8, longitude::float8 FROM core_enterprise"
            " WHERE latitude IS NOT NULL ORDER BY md5(id::text) LIMIT %s",
            [sample],
        )
        enterprises = np.array(cursor.fetchall())
        cursor.execute(
            "SELECT latitude, longitude, EXTRACT(EPOCH FROM %s - occurred_at) / 86400 FROM history_signal"
            " WHERE kind = %s AND latitude IS NOT NULL AND occurred_at < %s"
            " AND occurred_at >= %s - make_interval(days => %s)",
            [now, definition["kind"], now, now, int(definition["window_days"])],
        )
        signals = np.array(cursor.fetchall(), dtype=float)
    ids = tuple(int(i) for i in enterprises[:, 0])
    rows = scoring.feature_rows(policy=policy, as_of=now, scope=scoring.Scope(ids=ids))
    grid_x = {row["enterprise_id"]: float(row[f"x_{definition['name']}"]) for row in rows}
    order = np.argsort(signals[:, 0])
    lat_sorted = signals[order, 0]
    radius, decay = float(definition["radius_m"]), float(definition["distance_decay_m"])
    half_life, saturation = float(definition["half_life_days"]), float(definition["saturation"])
    margin = radius / offsite_sql.METRES_PER_DEGREE
    errors, exact_values, grid_values = [], [], []
    for eid, lat, lon in enterprises:
        lo, hi = np.searchsorted(lat_sorted, [lat - margin, lat + margin])
        near = signals[order[lo:hi]]
        phi1, phi2 = math.radians(lat), np.radians(near[:, 0])
        dphi, dlmb = phi2 - phi1, np.radians(near[:, 1] - lon)
        a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
        distance = 2 * 6_371_000 * np.arcsin(np.sqrt(a))
        inside = distance <= radius
        points = np.sum(0.5 ** (near[inside, 2] / half_life) * 0.5 ** (distance[inside] / decay))
        exact = 1 - math.exp(-points / saturation)
        exact_values.append(exact)
        grid_values.append(grid_x[int(eid)])
        errors.append(grid_x[int(eid)] - exact)
    errors = np.abs(np.array(errors))
    correlation = np.corrcoef(exact_values, grid_values)[0, 1]
    print(
        f"grid vs exact distances ({len(errors)} enterprises, {len(signals):,} signals in the window): "
        f"feature |error| mean {errors.mean():.4f}, p95 {np.percentile(errors, 95):.4f}, "
        f"max {errors.max():.4f}; mean feature {np.mean(exact_values):.3f}; correlation {correlation:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2_500_000)
    parser.add_argument("--signals", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed runs of each, alternating")
    parser.add_argument("--database", default="bench_scoring")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="keep the off-site data of an earlier run")
    parser.add_argument("--sample", type=int, default=2000, help="enterprises in the accuracy check")
    parser.add_argument(
        "--workers", type=int, default=None, help="chunks at once (default: SCORE_RECOMPUTE_WORKERS)"
    )
    args = parser.parse_args()

    env = {**os.environ, "DATABASE_URL": f"{base_bench.SERVER}/{args.database}", "DEBUG": "1"}
    base_bench.ensure_database(args.database, args.size, args.fresh, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from supervision.risk import offsite, offsite_sql, scoring

    if not args.reuse:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(base_bench.FACTS)
            cursor.execute(base_bench.LOOP_FACTS)
        print(f"facts of bench/recompute.py: {time.perf_counter() - started:.0f} s")
        seed_offsite(signals=args.signals)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_enterprise")
        size = cursor.fetchone()[0]

    plain = scoring.current_policy()
    policy = bench_policy()
    now = timezone.now()
    started = time.perf_counter()
    prepared = offsite_sql.prepared_for(policy, fresh=True)
    reference = time.perf_counter() - started
    started = time.perf_counter()
    # As recompute_all prepares it: shared between connections, in parts side by side.
    workers = args.workers or settings.SCORE_RECOMPUTE_WORKERS
    prepared = offsite_sql.prepare(policy=policy, as_of=now, prepared=prepared, shared=True, workers=workers)
    prepare = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {prepared.tables['nearby_sanitation']}")
        cells = cursor.fetchone()[0]
    offsite_sql.drop(prepared)
    print(
        f"nearby: reference latitude {prepared.reference_latitude} ({reference * 1000:.0f} ms); "
        f"computed once per recompute (the sanitation complaints' sums for {cells:,} cells with "
        f"enterprises, {workers} parts side by side): {prepare:.1f} s"
    )

    with_offsite, without = [], []
    for _round in range(args.rounds):
        for runs, chosen in ((without, plain), (with_offsite, policy)):
            # Each run rewrites every score row: without a vacuum in between (a nightly run has
            # autovacuum's hours), the next one pays for the dead rows of the last.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE supervision_enterprisescore")
            started = time.perf_counter()
            report = scoring.recompute_all(policy=chosen, as_of=now, workers=args.workers)
            runs.append(time.perf_counter() - started)
            print(
                f"  recompute_all v{chosen.version} ({len(offsite.names(chosen.params))} off-site "
                f"factors, {args.workers or scoring.recompute_workers()} at once): {runs[-1]:.1f} s "
                f"({report.chunks} chunks, {report.enterprises:,} scores)"
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE risk_offsite > 0), round(avg(risk_offsite)::numeric, 2),"
            " round(avg(risk)::numeric, 2), count(*) FILTER (WHERE credit_penalties > 0)"
            " FROM supervision_enterprisescore"
        )
        positive, mean_offsite, mean_risk, penalised = cursor.fetchone()
    print(
        f"scores: {positive:,} with off-site points (mean {mean_offsite}), mean risk {mean_risk}, "
        f"{penalised:,} with penalties"
    )
    accuracy(policy, sample=args.sample)
    best, best_plain = min(with_offsite), min(without)
    print(
        f"RESULT size={size:,} signals={args.signals:,} recompute_all with off-site best {best:.1f} s "
        f"(median {statistics.median(with_offsite):.1f}), without best {best_plain:.1f} s "
        f"(median {statistics.median(without):.1f}), off-site adds {best - best_plain:.1f} s"
    )


if __name__ == "__main__":
    main()
