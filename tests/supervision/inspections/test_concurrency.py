"""Two tablets submit the same record at the same moment.

Real transactions and one connection per thread: PostgreSQL serialises the two on the row lock
(SELECT ... FOR UPDATE), SQLite on its write lock (IMMEDIATE transactions take it at BEGIN).
Either way the second submit sees the first one's result: the same record for a retried
submission id, already_submitted for another one. Nothing is written twice.
"""

import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from core import reference
from core.audit import verify_chain
from core.errors import DomainError
from core.models import AuditEvent, Department, District, Scene
from supervision.inspections import services as workflow
from supervision.models import Finding, Inspection, InspectionTask, RectificationOrder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    """The flush after a transactional test (this module's, tests/core/test_audit.py's) empties
    every table, the districts and scenes the migrations load included: put them back (an upsert)."""
    reference.load(District, Department, Scene)


def _submit_together(inspection_pk: int, user_pks: list[int], submission_ids: list[uuid.UUID]) -> list:
    """Each thread: its own connection and user, wait at the barrier, submit. Returns the outcomes."""
    barrier = threading.Barrier(len(user_pks))
    outcomes: list = [None] * len(user_pks)

    def run(index: int) -> None:
        try:
            user = get_user_model().objects.get(pk=user_pks[index])
            inspection = Inspection.objects.get(pk=inspection_pk)
            barrier.wait(timeout=10)
            outcomes[index] = workflow.inspection_submit(
                inspection=inspection,
                actor=user,
                submission_id=submission_ids[index],
                conclusion=Inspection.Conclusion.RECTIFY,
            )
        except Exception as exc:  # reported to the test, which asserts on it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(user_pks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _assert_written_once(inspection: Inspection) -> None:
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SUBMITTED
    assert inspection.task.status == InspectionTask.Status.DONE
    events = AuditEvent.objects.filter(action="inspection.submit")
    assert events.count() == 1
    assert events.get().data["content_hash"] == inspection.content_hash
    assert RectificationOrder.objects.filter(inspection=inspection).count() == 1
    assert AuditEvent.objects.filter(action="order.issue").count() == 1
    assert sorted(Finding.objects.filter(inspection=inspection).values_list("item__code", flat=True)) == [
        "mar-1",
        "mar-2",
    ]
    assert verify_chain().ok


def test_both_tablets_sending_the_same_submission_get_the_same_record(ready, team):
    inspection = ready
    submission_id = uuid.uuid4()

    outcomes = _submit_together(inspection.pk, [i.user_id for i in team], [submission_id, submission_id])

    assert all(isinstance(outcome, Inspection) for outcome in outcomes), outcomes
    assert {outcome.pk for outcome in outcomes} == {inspection.pk}
    assert {outcome.submission_id for outcome in outcomes} == {submission_id}
    assert len({outcome.content_hash for outcome in outcomes}) == 1
    _assert_written_once(inspection)


def test_of_two_different_submissions_exactly_one_wins(ready, team):
    inspection = ready
    submission_ids = [uuid.uuid4(), uuid.uuid4()]

    outcomes = _submit_together(inspection.pk, [i.user_id for i in team], submission_ids)

    winners = [o for o in outcomes if isinstance(o, Inspection)]
    losers = [o for o in outcomes if not isinstance(o, Inspection)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], DomainError) and losers[0].code == "already_submitted", losers[0]
    inspection.refresh_from_db()
    assert inspection.submission_id == winners[0].submission_id
    assert inspection.submission_id == submission_ids[outcomes.index(winners[0])]
    _assert_written_once(inspection)
