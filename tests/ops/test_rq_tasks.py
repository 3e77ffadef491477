"""Background tasks through Redis: the RQ backend of scaled-out deployments (docs/DEPLOY.md).

A real project task (the code batch) is enqueued by the real service into the local Redis, and a
real RQ worker, built the way `manage.py rqworker` builds it, runs it in burst mode in this
process (so it sees the test's uncommitted rows). The result is then read back from Redis.

Redis database 15 and a queue named for each test keep these jobs away from anything else,
a parallel run of the same tests included. The test's keys are deleted afterwards; RQ's own
maintenance marker (rq:clean_groups) expires by itself.
"""

import secrets

import django_rq
import pytest
import redis
from django.tasks import TaskResultStatus

import core.code_documents
from core.code_documents import code_batch_create
from core.models import CodeBatch, District, Enterprise
from tests.factories import EnterpriseFactory, RegulatorFactory, make_uscc

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def rq_queue(settings, monkeypatch):
    """The name of an RQ queue for this test only, with the Tasks API routed to it."""
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}); start it to test the RQ backend")
    name = f"ops-test-{secrets.token_hex(6)}"
    # "default" too: the backend reads every result through the "default" queue's connection.
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}, name: {"URL": REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [name]}}
    # The project's task as code_batch_create enqueues it (it looks the task up at call time),
    # on this test's queue instead of "default". Must come after TASKS: using() validates there.
    monkeypatch.setattr(
        core.code_documents, "build_code_batch", core.code_documents.build_code_batch.using(queue_name=name)
    )
    job_ids: list[str] = []
    yield name, job_ids
    for pattern in (f"*{name}*", *(f"*{job_id}*" for job_id in job_ids)):
        for key in connection.scan_iter(match=pattern):
            connection.delete(key)
    connection.srem("rq:queues", f"rq:queue:{name}")
    connection.close()


def run_worker(queue_name: str) -> str:
    """Run every job on the queue, then return: `manage.py rqworker --burst`, in this process."""
    # get_worker is what the rqworker command calls; it takes the job class from settings.RQ.
    worker = django_rq.get_worker(queue_name, worker_class="rq.SimpleWorker", name=f"{queue_name}-worker")
    worker.work(burst=True)
    return worker.name


@pytest.fixture
def regulator():
    return RegulatorFactory(district=District.objects.get(code="110105")).user


@pytest.fixture
def enterprises():
    return [EnterpriseFactory(uscc=make_uscc(n)) for n in (1, 2)]


def enqueue_batch(regulator, django_capture_on_commit_callbacks, job_ids: list[str], queue_name: str):
    with django_capture_on_commit_callbacks(execute=True):
        batch = code_batch_create(
            user=regulator, layout="sticker", district=District.objects.get(code="110105")
        )
    job_ids.extend(django_rq.get_queue(queue_name).get_job_ids())
    assert len(job_ids) == 1
    return batch, job_ids[0]


def test_a_code_batch_runs_in_an_rq_worker_and_its_result_comes_back_through_redis(
    rq_queue, regulator, enterprises, django_capture_on_commit_callbacks
):
    queue_name, job_ids = rq_queue
    batch, job_id = enqueue_batch(regulator, django_capture_on_commit_callbacks, job_ids, queue_name)

    # Queued in Redis, not run inline.
    assert core.code_documents.build_code_batch.get_result(job_id).status == TaskResultStatus.READY
    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.QUEUED

    worker_name = run_worker(queue_name)

    result = core.code_documents.build_code_batch.get_result(job_id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.worker_ids == [worker_name]
    assert result.args == [batch.pk]
    assert result.finished_at is not None and result.errors == []
    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.DONE
    assert batch.total == batch.done == 2
    with batch.file.open("rb") as file:
        assert file.read(5) == b"%PDF-"


def test_a_failing_task_comes_back_failed_with_its_error(
    rq_queue, regulator, enterprises, django_capture_on_commit_callbacks
):
    queue_name, job_ids = rq_queue
    batch, job_id = enqueue_batch(regulator, django_capture_on_commit_callbacks, job_ids, queue_name)
    # Between the request and the worker, the district empties: the build refuses an empty batch.
    Enterprise.objects.all().delete()

    run_worker(queue_name)

    result = core.code_documents.build_code_batch.get_result(job_id)
    assert result.status == TaskResultStatus.FAILED
    assert [error.exception_class_path for error in result.errors] == ["core.errors.DomainError"]
    assert "There is no enterprise to print codes for." in result.errors[0].traceback
    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.FAILED
    assert batch.error == "There is no enterprise to print codes for."
