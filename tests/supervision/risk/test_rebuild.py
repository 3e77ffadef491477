"""The full recompute on PostgreSQL writes a new score table and swaps it in (supervision.risk.rebuild).

Transactional tests: the chunks commit on their own connections, as in production."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from core import reference
from core.models import Complaint, Department, District, Enterprise, Scene
from supervision.models import EnterpriseScore
from supervision.risk import rebuild, scoring
from tests.factories import EnterpriseFactory
from tests.supervision.risk.test_offsite_factors import AS_OF, offsite_world

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the table swap: PostgreSQL only"),
    pytest.mark.django_db(transaction=True),
]

TABLE = EnterpriseScore._meta.db_table


@pytest.fixture
def world(time_machine):
    """The flush after an earlier transactional test empties every table, the districts,
    departments and scenes the migrations load included: put them back (an upsert)."""
    reference.load(District, Department, Scene)
    time_machine.move_to(AS_OF, tick=False)
    enterprises, policy = offsite_world()
    enterprises += [EnterpriseFactory() for _ in range(6)]
    return enterprises, policy


def catalogue() -> dict:
    """The score table as the catalogue describes it: indexes, constraints, storage options."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [TABLE])
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid), convalidated FROM pg_constraint"
            " WHERE conrelid = %s::regclass ORDER BY 1",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT reloptions, relowner, relacl::text FROM pg_class WHERE oid = %s::regclass", [TABLE]
        )
        options = cursor.fetchone()
    return {"indexes": indexes, "constraints": constraints, "options": options}


def leftovers() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'risk\\_prepared\\_%%'")
        return cursor.fetchone()[0]


def scores() -> dict[int, tuple]:
    return {
        s.enterprise_id: (s.risk, s.offsite, s.tier, s.credit, s.as_of)
        for s in EnterpriseScore.objects.order_by("pk")
    }


def test_the_swapped_table_has_the_scores_in_place_and_the_same_indexes_and_constraints(world, app_role):
    enterprises, policy = world
    before = catalogue()
    assert app_role in before["options"][2]  # the grants to the app's role are kept too
    assert len(before["indexes"]) >= 6 and any(c[1] == "f" for c in before["constraints"])
    with transaction.atomic():  # inside a transaction: the rows are updated in place
        scoring.recompute_all(policy=policy, as_of=AS_OF, chunk=3)
    in_place = scores()

    report = scoring.recompute_all(policy=policy, as_of=AS_OF, chunk=3, workers=2)

    assert report.enterprises == len(enterprises) == len(in_place)
    assert scores() == in_place
    assert catalogue() == before  # names, definitions, validated foreign keys
    assert leftovers() == 0
    # The swapped table's index serves the ranking's order (nine rows: told not to scan them all).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT enterprise_id FROM {TABLE} ORDER BY risk DESC, enterprise_id LIMIT 5")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "score_ranking_risk" in plan


def test_a_score_written_during_the_run_is_kept_and_a_deleted_enterprise_is_left_out(
    world, monkeypatch, time_machine
):
    enterprises, policy = world
    scoring.recompute_all(policy=policy, as_of=AS_OF)
    rescored, deleted = enterprises[0], enterprises[-1]
    later = AS_OF + timedelta(minutes=5)
    build = rebuild.build_indexes

    def meanwhile(plan, *, workers):
        # While the new table is built: a complaint rescored at once, an enterprise deleted.
        Complaint.objects.create(enterprise=rescored, text="dirty floor")
        time_machine.move_to(later, tick=False)
        scoring.recompute_enterprise(enterprise_id=rescored.pk, policy=policy)
        Enterprise.objects.filter(pk=deleted.pk).delete()
        build(plan, workers=workers)

    monkeypatch.setattr(rebuild, "build_indexes", meanwhile)
    scoring.recompute_all(policy=policy, as_of=AS_OF, chunk=3, workers=2)

    kept = EnterpriseScore.objects.get(pk=rescored.pk)
    assert kept.as_of == later and kept.risk_complaints > 0
    assert not EnterpriseScore.objects.filter(pk=deleted.pk).exists()
    assert EnterpriseScore.objects.count() == len(enterprises) - 1
    assert all(c[3] for c in catalogue()["constraints"])  # the foreign keys validated


def test_a_failure_before_the_swap_leaves_the_old_scores_and_nothing_behind(world, monkeypatch):
    _, policy = world
    scoring.recompute_all(policy=policy, as_of=AS_OF)
    old, before = scores(), catalogue()

    def broken(plan, *, workers):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild, "build_indexes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        scoring.recompute_all(policy=policy, as_of=AS_OF + timedelta(hours=1), chunk=3, workers=2)
    assert scores() == old and catalogue() == before and leftovers() == 0

    monkeypatch.undo()  # the turn was given back: the next recompute runs
    scoring.recompute_all(policy=policy, as_of=AS_OF + timedelta(hours=1), workers=2)
    assert {s.as_of for s in EnterpriseScore.objects.all()} == {AS_OF + timedelta(hours=1)}


def test_a_swap_that_cannot_lock_the_table_gives_up_and_keeps_the_old_scores(world, monkeypatch):
    _, policy = world
    scoring.recompute_all(policy=policy, as_of=AS_OF)
    old = scores()
    monkeypatch.setattr(rebuild, "SWAP_LOCK_TIMEOUT", "300ms")
    holding, release = threading.Event(), threading.Event()

    def reader():
        # A long transaction that read the scores holds its lock until it ends.
        try:
            with transaction.atomic():
                EnterpriseScore.objects.count()
                holding.set()
                release.wait(30)
        finally:
            connections["default"].close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        holding.wait(10)
        with pytest.raises(Exception, match="lock timeout"):
            scoring.recompute_all(policy=policy, as_of=AS_OF + timedelta(hours=1), chunk=3, workers=2)
    finally:
        release.set()
        thread.join()
    assert scores() == old and leftovers() == 0


def table_oid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [TABLE])
        return cursor.fetchone()[0]


@pytest.fixture
def app_role():
    """The role docs/DEPLOY.md runs the app as: it owns nothing (here: not the score table)."""
    role = f"t_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    yield role
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("may_create_tables", [True, False])
def test_a_role_that_does_not_own_the_score_table_updates_it_in_place(world, app_role, may_create_tables):
    enterprises, policy = world
    scoring.recompute_all(policy=policy, as_of=AS_OF)
    oid, before = table_oid(), scores()
    with connection.cursor() as cursor:
        if may_create_tables:
            cursor.execute(f"GRANT CREATE ON SCHEMA public TO {app_role}")
        cursor.execute(f"SET ROLE {app_role}")
    later = AS_OF + timedelta(days=1)

    report = scoring.recompute_all(policy=policy, as_of=later, chunk=3)

    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert table_oid() == oid  # not swapped: updated in place
    assert report.enterprises == len(enterprises) == len(before)
    assert {s.as_of for s in EnterpriseScore.objects.all()} == {later}
    assert leftovers() == 0
