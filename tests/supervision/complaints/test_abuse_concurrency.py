"""Parallel reports from one client (issue 16, part 3): the hourly limit holds.

Real transactions and one connection per thread: PostgreSQL serialises the reports on the client's
lock row (SELECT ... FOR UPDATE), SQLite on its write lock (IMMEDIATE transactions). Before the
lock, 20 parallel reports from one client got 8 through a limit of 5 on PostgreSQL.
"""

import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory

from core import codes, reference
from core.errors import DomainError
from core.models import Complaint, Department, District, Scene
from supervision.complaints import intake
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 20


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    """The flush after a transactional test empties every table, the reference data included."""
    reference.load(District, Department, Scene)


def test_twenty_parallel_reports_from_one_client_get_exactly_the_limit_through(settings):
    settings.COMPLAINTS_PER_CLIENT_PER_HOUR = 5
    code = codes.code_issue(enterprise=EnterpriseFactory())
    barrier = threading.Barrier(PARALLEL)
    outcomes: list = []

    def send() -> None:
        request = RequestFactory().post(f"/c/{code.token}", REMOTE_ADDR="198.51.100.9")
        request.user = AnonymousUser()
        try:
            barrier.wait(timeout=10)
            intake.complaint_submit(request=request, token=code.token, text="后厨有老鼠")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # reported to the test, which asserts on it
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    assert sorted(outcomes) == ["ok"] * 5 + ["rate_limited_client"] * (PARALLEL - 5)
    assert Complaint.objects.count() == 5
    # Another client is not held up by the first one's lock or count.
    other = RequestFactory().post(f"/c/{code.token}", REMOTE_ADDR="198.51.100.10")
    other.user = AnonymousUser()
    intake.complaint_submit(request=other, token=code.token, text="积水")
    assert Complaint.objects.count() == 6
