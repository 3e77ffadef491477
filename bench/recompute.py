"""Full score recompute at city size: supervision.risk.scoring.recompute_all against one hand-written SQL
statement doing the same work, both timed in the same run on the same data.

Seeds SIZE demo enterprises into a PostgreSQL database (kept between runs; --fresh drops it), adds
synthetic facts with set-based SQL (seeded, so every run has the same data):

- imported history: every 5th enterprise has 2 historical inspections in the last 3 years, each
  with 0-3 findings of random severity (~1.5 findings per inspection);
- our own loop: every 500th enterprise has a submitted inspection with one finding and an order,
  half of them past their deadline;
- complaints on every 97th enterprise (a third verified, a third dismissed), penalties on every 211th;

then times, alternating: the project's recompute (chunks of 100,000 ids, each an INSERT ... SELECT
into a new table that is then indexed and swapped in: supervision.risk.rebuild); the hand-written
statement below (one INSERT ... SELECT ... ON CONFLICT over every enterprise, written directly in
PostgreSQL's dialect with CTEs), checking that both produce the same scores; and issue 17's
yardstick, one UPDATE that rewrites every score row with the same indexes (BARE_UPDATE).

    .venv/bin/python bench/recompute.py --size 2500000

Not a test: it prints numbers to compare.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"

FACTS = """
SELECT setseed(0.42);
TRUNCATE history_historicalfinding, history_historicalinspection CASCADE;
INSERT INTO history_historicalinspection (enterprise_id, source, inspected_on, kind, score, created_at)
SELECT e.id, 'lives', CURRENT_DATE - (k * 400 + (random() * 300)::int), 'Routine - Unscheduled',
       (70 + random() * 30)::int, now()
FROM core_enterprise e CROSS JOIN generate_series(0, 1) k
WHERE e.id % 5 = 0;
INSERT INTO history_historicalfinding (inspection_id, severity, violation_type, description)
SELECT hi.id, (ARRAY['minor', 'minor', 'major', 'critical'])[1 + floor(random() * 4)::int], '103', 'synthetic'
FROM history_historicalinspection hi CROSS JOIN generate_series(1, 3) n
WHERE random() < 0.5;
DELETE FROM core_complaint WHERE text = 'bench';
INSERT INTO core_complaint (enterprise_id, text, contact, client, status, created_at, triage_note)
SELECT e.id, 'bench', '', '', (ARRAY['new', 'verified', 'dismissed'])[1 + e.id % 3],
       now() - make_interval(days => (e.id % 300)::int), ''
FROM core_enterprise e WHERE e.id % 97 = 0;
DELETE FROM supervision_creditevent WHERE note = 'bench';
INSERT INTO supervision_creditevent
  (enterprise_id, kind, occurred_on, reference, note, recorded_by_id, created_at)
SELECT e.id, 'penalty', CURRENT_DATE - (e.id % 500)::int, '', 'bench', (SELECT min(id) FROM auth_user), now()
FROM core_enterprise e WHERE e.id % 211 = 0;
"""

# Our own loop's facts: tasks, submitted inspections, one finding and one order each.
LOOP_FACTS = """
DELETE FROM supervision_finding
WHERE inspection_id IN (SELECT id FROM supervision_inspection WHERE note = 'bench');
DELETE FROM supervision_inspectionanswer WHERE note = 'bench';
DELETE FROM supervision_rectificationorder WHERE number LIKE 'BENCH-%';
DELETE FROM supervision_inspection WHERE note = 'bench';
DELETE FROM supervision_inspectiontask WHERE note = 'bench';
INSERT INTO supervision_inspectiontask (enterprise_id, department_id, source, status, due_from, due_to, note,
                                        origin, created_by_id, created_at, cancel_reason)
SELECT e.id, (SELECT min(id) FROM core_department), 'manual', 'done', CURRENT_DATE - 40, CURRENT_DATE - 30,
       'bench', '{}', (SELECT min(id) FROM auth_user), now(), ''
FROM core_enterprise e WHERE e.id % 500 = 0;
INSERT INTO supervision_inspection (task_id, enterprise_id, status, started_by_id, started_at, updated_at,
    note, conclusion, representative_name, representative_refused, refusal_note, submitted_at,
    submitted_by_id, submission_id, content_hash, rectify_deadline)
SELECT t.id, t.enterprise_id, 'submitted', t.created_by_id, now() - interval '35 days', now(), 'bench',
       'rectify', '', false, '', now() - interval '35 days', t.created_by_id, gen_random_uuid(), '',
       now() - interval '35 days'
       + make_interval(days => CASE WHEN t.enterprise_id % 1000 = 0 THEN 7 ELSE 60 END)
FROM supervision_inspectiontask t WHERE t.note = 'bench';
INSERT INTO supervision_rectificationorder (number, enterprise_id, inspection_id, status, deadline, issued_at,
                                            case_note)
SELECT 'BENCH-' || i.id, i.enterprise_id, i.id, 'issued', i.rectify_deadline, i.submitted_at, ''
FROM supervision_inspection i WHERE i.note = 'bench';
INSERT INTO supervision_inspectionanswer (inspection_id, item_id, result, note, updated_at, updated_by_id)
SELECT i.id, (SELECT min(id) FROM checklists_checklistitem), 'non_compliant', 'bench', now(), i.started_by_id
FROM supervision_inspection i WHERE i.note = 'bench';
INSERT INTO supervision_finding (inspection_id, item_id, severity, order_id, answer_id)
SELECT i.id, a.item_id, 'major', o.id, a.id
FROM supervision_inspection i JOIN supervision_rectificationorder o ON o.inspection_id = i.id
JOIN supervision_inspectionanswer a ON a.inspection_id = i.id
WHERE i.note = 'bench';
"""

# The same computation as supervision.risk.scoring with the default policy (version 1), written by hand
# (version 1 declares no off-site factor: bench/recompute_offsite.py times those).
# Two CTEs are MATERIALIZED: PostgreSQL otherwise inlines each CTE into the next and copies the
# whole base-risk expression into every place the later ones use it (the statement then ran for
# over 7 minutes at 2.5M rows instead of finishing).
HAND_WRITTEN = """
WITH
hv AS (
  SELECT hi.enterprise_id AS eid,
         SUM(CASE hf.severity WHEN 'critical' THEN 8.0 WHEN 'major' THEN 3.0 ELSE 1.0 END
             * EXP(-(%(day)s - (hi.inspected_on - DATE '1970-01-01')) * LN(2) / 365.0)) AS pts
  FROM history_historicalfinding hf JOIN history_historicalinspection hi ON hi.id = hf.inspection_id
  WHERE hi.inspected_on < %(begun)s GROUP BY hi.enterprise_id),
ov AS (
  SELECT i.enterprise_id AS eid,
         SUM(CASE f.severity WHEN 'critical' THEN 8.0 WHEN 'major' THEN 3.0 ELSE 1.0 END
             * EXP(-(%(tsday)s - EXTRACT(EPOCH FROM i.submitted_at) / 86400) * LN(2) / 365.0)) AS pts
  FROM supervision_finding f JOIN supervision_inspection i ON i.id = f.inspection_id
  WHERE i.status = 'submitted' AND i.submitted_at < %(now)s GROUP BY i.enterprise_id),
lv AS (
  SELECT eid, MAX(d) AS d FROM (
    SELECT enterprise_id AS eid, MAX(inspected_on) AS d FROM history_historicalinspection
    WHERE inspected_on < %(begun)s GROUP BY enterprise_id
    UNION ALL
    SELECT enterprise_id, MAX(CAST(submitted_at AT TIME ZONE %(tz)s AS date)) FROM supervision_inspection
    WHERE status = 'submitted' AND submitted_at < %(now)s GROUP BY enterprise_id) v GROUP BY eid),
o AS (
  SELECT enterprise_id AS eid,
         COUNT(*) FILTER (WHERE closed_at IS NULL OR closed_at >= %(now)s) AS open_n,
         COUNT(*) FILTER (WHERE (closed_at IS NULL OR closed_at >= %(now)s) AND deadline < %(now)s
                          AND status IN ('issued', 'returned', 'escalated', 'closed')) AS overdue_n,
         COUNT(*) FILTER (WHERE closed_at >= %(now)s - interval '365 days' AND closed_at < %(now)s
                          AND closed_at > deadline) AS late_n
  FROM supervision_rectificationorder WHERE issued_at < %(now)s GROUP BY enterprise_id),
c AS (
  SELECT enterprise_id AS eid,
         SUM(CASE WHEN status = 'verified' THEN 3.0 ELSE 1.0 END
             * EXP(-(%(tsday)s - EXTRACT(EPOCH FROM created_at) / 86400) * LN(2) / 180.0)) AS pts
  FROM core_complaint WHERE created_at < %(now)s AND status NOT IN ('dismissed', 'duplicate', 'unfounded')
  GROUP BY enterprise_id),
ls AS (
  SELECT enterprise_id AS eid, MAX(submitted_at) AS at FROM supervision_selfinspection
  WHERE status = 'submitted' AND submitted_at < %(now)s GROUP BY enterprise_id),
si AS (
  SELECT ls.eid, ls.at, COUNT(*) FILTER (WHERE a.result = 'non_compliant') AS bad,
         COUNT(*) FILTER (WHERE a.result IN ('compliant', 'non_compliant')) AS answered
  FROM ls JOIN supervision_selfinspection s ON s.enterprise_id = ls.eid AND s.submitted_at = ls.at
  LEFT JOIN supervision_selfinspectionanswer a ON a.self_inspection_id = s.id GROUP BY ls.eid, ls.at),
dc AS (
  SELECT ls.eid, COUNT(DISTINCT f.id) AS n
  FROM ls JOIN supervision_selfinspection s ON s.enterprise_id = ls.eid AND s.submitted_at = ls.at
  JOIN supervision_selfinspectionanswer a ON a.self_inspection_id = s.id AND a.result = 'compliant'
  JOIN checklists_checklistitem sit ON sit.id = a.item_id
  JOIN supervision_inspection i ON i.enterprise_id = ls.eid AND i.status = 'submitted'
       AND i.submitted_at > ls.at AND i.submitted_at < %(now)s
  JOIN supervision_finding f ON f.inspection_id = i.id
  JOIN checklists_checklistitem fit ON fit.id = f.item_id AND fit.code = sit.code GROUP BY ls.eid),
ce AS (
  SELECT enterprise_id AS eid,
         COUNT(*) FILTER (WHERE kind = 'penalty' AND occurred_on >= %(date)s - 365) AS penalties,
         COUNT(*) FILTER (WHERE kind = 'refusal' AND occurred_on >= %(date)s - 365) AS refusals,
         BOOL_OR(kind = 'dishonesty' AND (ends_on IS NULL OR ends_on > %(date)s)) AS dishonest
  FROM supervision_creditevent WHERE occurred_on < %(begun)s GROUP BY enterprise_id),
f AS (
  SELECT e.id AS eid,
    10.0 * (s.inherent_risk - 1) / 3.0 AS p_scene,
    35.0 * (1 - EXP(-(COALESCE(hv.pts, 0) + COALESCE(ov.pts, 0)) / 12.0)) AS p_violations,
    10.0 * (1 - EXP(-(COALESCE(o.open_n, 0) + COALESCE(o.overdue_n, 0)) / 2.0)) AS p_orders,
    10.0 * (1 - EXP(-COALESCE(c.pts, 0) / 3.0)) AS p_complaints,
    CASE WHEN si.at IS NULL OR si.at < %(now)s - interval '365 days' THEN 4.0 ELSE 0.0 END AS p_self_missing,
    CASE WHEN si.answered > 0 THEN 4.0 * si.bad / si.answered ELSE 0.0 END AS p_self_noncompliant,
    7.0 * (1 - EXP(-COALESCE(dc.n, 0) / 2.0)) AS p_self_discrepancy,
    CASE WHEN e.licence_status <> 'active' THEN 5.0
         WHEN e.opened_on IS NULL OR e.opened_on >= %(begun)s THEN 0.0
         ELSE 5.0 * GREATEST(0, 1 - (%(day)s - (e.opened_on - DATE '1970-01-01')) / 730.0) END AS p_licence,
    %(day)s - (lv.d - DATE '1970-01-01') AS gap_days,
    COALESCE(o.open_n, 0) AS open_n, COALESCE(o.overdue_n, 0) AS overdue_n, lv.d,
    COALESCE(ce.penalties, 0) AS penalties, COALESCE(o.late_n, 0) AS late_n,
    COALESCE(ce.refusals, 0) AS refusals, COALESCE(ce.dishonest, false) AS dishonest
  FROM core_enterprise e JOIN core_scene s ON s.id = e.scene_id
  LEFT JOIN hv ON hv.eid = e.id LEFT JOIN ov ON ov.eid = e.id LEFT JOIN lv ON lv.eid = e.id
  LEFT JOIN o ON o.eid = e.id LEFT JOIN c ON c.eid = e.id LEFT JOIN si ON si.eid = e.id
  LEFT JOIN dc ON dc.eid = e.id LEFT JOIN ce ON ce.eid = e.id),
b AS MATERIALIZED (
  SELECT f.*, p_scene + p_violations + p_orders + p_complaints + p_self_missing + p_self_noncompliant
              + p_self_discrepancy + p_licence AS base,
         penalties * 10 + late_n * 3 + overdue_n * 5 + refusals * 10 AS points
  FROM f),
r AS (
  SELECT b.*,
    CASE WHEN dishonest OR points >= 25 THEN 'D' WHEN points >= 10 THEN 'C' WHEN points >= 1 THEN 'B'
         ELSE 'A' END AS credit,
    CASE WHEN base >= 60 THEN 'high' WHEN base >= 30 THEN 'medium' ELSE 'low' END AS base_level
  FROM b),
t AS (
  SELECT r.*,
    CASE WHEN base_level = 'high' OR credit = 'D' THEN 4 WHEN credit = 'C' THEN 3
         WHEN base_level = 'medium' OR credit = 'B' THEN 2 ELSE 1 END AS base_tier
  FROM r),
g AS MATERIALIZED (
  SELECT t.*, 15.0 * CASE WHEN gap_days IS NULL THEN 1.0
      ELSE LEAST(1.0, gap_days / (CASE base_tier WHEN 4 THEN 91.0 WHEN 3 THEN 365.0 WHEN 2 THEN 730.0
                                  ELSE 365.0 END)) END AS p_visit_gap
  FROM t),
final AS (
  SELECT g.*, base + p_visit_gap AS risk,
    CASE WHEN base + p_visit_gap >= 60 THEN 'high' WHEN base + p_visit_gap >= 30 THEN 'medium'
         ELSE 'low' END AS level
  FROM g)
INSERT INTO supervision_enterprisescore (
  enterprise_id, policy_id, as_of, risk, risk_level, risk_scene, risk_violations, risk_orders,
  risk_complaints, risk_self_missing, risk_self_noncompliant, risk_self_discrepancy, risk_visit_gap,
  risk_licence, credit, credit_points, credit_penalties, credit_late_orders, credit_unclosed_orders,
  credit_refusals, credit_dishonest, tier, open_orders, overdue_orders, last_inspected_on, risk_offsite,
  offsite)
SELECT eid, %(policy)s, %(now)s, risk, level, p_scene, p_violations, p_orders, p_complaints, p_self_missing,
  p_self_noncompliant, p_self_discrepancy, p_visit_gap, p_licence, credit, points, penalties, late_n,
  overdue_n, refusals, dishonest,
  CASE WHEN level = 'high' OR credit = 'D' THEN 4 WHEN credit = 'C' THEN 3
       WHEN level = 'medium' OR credit = 'B' THEN 2 ELSE 1 END,
  open_n, overdue_n, d, 0.0, '{}'::jsonb
FROM final
ON CONFLICT (enterprise_id) DO UPDATE SET
  policy_id = excluded.policy_id, as_of = excluded.as_of, risk = excluded.risk,
  risk_level = excluded.risk_level, risk_scene = excluded.risk_scene,
  risk_violations = excluded.risk_violations, risk_orders = excluded.risk_orders,
  risk_complaints = excluded.risk_complaints, risk_self_missing = excluded.risk_self_missing,
  risk_self_noncompliant = excluded.risk_self_noncompliant,
  risk_self_discrepancy = excluded.risk_self_discrepancy, risk_visit_gap = excluded.risk_visit_gap,
  risk_licence = excluded.risk_licence, credit = excluded.credit, credit_points = excluded.credit_points,
  credit_penalties = excluded.credit_penalties, credit_late_orders = excluded.credit_late_orders,
  credit_unclosed_orders = excluded.credit_unclosed_orders, credit_refusals = excluded.credit_refusals,
  credit_dishonest = excluded.credit_dishonest, tier = excluded.tier, open_orders = excluded.open_orders,
  overdue_orders = excluded.overdue_orders, last_inspected_on = excluded.last_inspected_on,
  risk_offsite = excluded.risk_offsite, offsite = excluded.offsite
"""


BARE_UPDATE = "UPDATE supervision_enterprisescore SET risk = risk + 1e-9, as_of = %s"


def ensure_database(name: str, size: int, fresh: bool, env: dict) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "load_content", "-v", "0"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    started = time.perf_counter()
    subprocess.run(
        [*manage, "seed_demo", "--enterprises", str(size), "--password", "bench-password-0"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"seed_demo up to {size:,} enterprises: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2_500_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed runs of each, alternating")
    parser.add_argument("--database", default="bench_scoring")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()

    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{args.database}", "DEBUG": "1"}
    ensure_database(args.database, args.size, args.fresh, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from supervision.risk import scoring

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FACTS)
        cursor.execute(LOOP_FACTS)
        cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT (SELECT count(*) FROM core_enterprise),"
            " (SELECT count(*) FROM history_historicalinspection),"
            " (SELECT count(*) FROM history_historicalfinding),"
            " (SELECT count(*) FROM supervision_rectificationorder),"
            " (SELECT count(*) FROM core_complaint), (SELECT count(*) FROM supervision_creditevent)"
        )
        counts = cursor.fetchone()
    print(
        f"facts ({time.perf_counter() - started:.1f} s): {counts[0]:,} enterprises, {counts[1]:,} historical "
        f"inspections, {counts[2]:,} findings, {counts[3]:,} orders, {counts[4]:,} complaints, "
        f"{counts[5]:,} credit events"
    )

    policy = scoring.current_policy()
    assert policy.weights == scoring.DEFAULT_WEIGHTS and policy.params == scoring.DEFAULT_PARAMS, (
        "the hand-written statement encodes the default policy"
    )
    now = timezone.now()
    params = {
        "now": now,
        "date": timezone.localdate(now),
        "begun": timezone.localdate(now) + timedelta(days=1),  # dated facts of today count (not midnight)
        "day": scoring._epoch_days(now),
        "tsday": scoring._epoch_days(now) - scoring._local_offset_days(now),
        "tz": str(timezone.get_current_timezone()),
        "policy": policy.pk,
    }

    ours, hand, bare = [], [], []
    for _round in range(args.rounds):
        started = time.perf_counter()
        report = scoring.recompute_all(policy=policy, as_of=now)
        ours.append(time.perf_counter() - started)
        print(f"  recompute_all: {ours[-1]:.1f} s ({report.chunks} chunks, {report.enterprises:,} scores)")
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_ours")
            cursor.execute(
                "CREATE TEMP TABLE bench_ours AS"
                " SELECT enterprise_id, risk, tier, credit FROM supervision_enterprisescore"
            )
            started = time.perf_counter()
            cursor.execute("SET jit = off")  # as for ours: compiling this expression costs more than it saves
            cursor.execute(HAND_WRITTEN, params)
            hand.append(time.perf_counter() - started)
            print(f"  hand-written statement: {hand[-1]:.1f} s")
            cursor.execute(
                "SELECT count(*), max(abs(o.risk - s.risk)), count(*) FILTER (WHERE o.tier <> s.tier),"
                " count(*) FILTER (WHERE o.credit <> s.credit)"
                " FROM bench_ours o JOIN supervision_enterprisescore s USING (enterprise_id)"
            )
            compared, max_diff, tier_diff, credit_diff = cursor.fetchone()
            print(
                f"  same scores: {compared:,} compared, max |risk difference| {max_diff:.2e}, "
                f"{tier_diff} tier and {credit_diff} credit differences"
            )
            cursor.execute(
                "SELECT tier, count(*), round(avg(risk)::numeric, 1) FROM supervision_enterprisescore"
                " GROUP BY tier ORDER BY tier"
            )
            tiers = cursor.fetchall()
            # The yardstick: one UPDATE rewriting every score row, with the same indexes
            # (the risk changed, so every index takes a new entry for every row).
            started = time.perf_counter()
            cursor.execute(BARE_UPDATE, [now])
            bare.append(time.perf_counter() - started)
            print(f"  bare UPDATE of every score row: {bare[-1]:.1f} s")
    print(f"tiers: {', '.join(f'T{t}: {n:,} (mean risk {r})' for t, n, r in tiers)}")
    best_ours, best_hand, best_bare = min(ours), min(hand), min(bare)
    print(
        f"RESULT size={counts[0]:,} recompute_all best {best_ours:.1f} s "
        f"(median {statistics.median(ours):.1f}), "
        f"hand-written best {best_hand:.1f} s (median {statistics.median(hand):.1f}), "
        f"ratio {best_ours / best_hand:.2f}; "
        f"bare UPDATE best {best_bare:.1f} s (median {statistics.median(bare):.1f}), "
        f"ratio {best_ours / best_bare:.2f}"
    )


if __name__ == "__main__":
    main()
