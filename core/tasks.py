"""Background tasks (Django's Tasks API). Each is a thin shell around a service function:
arguments are ids, never model instances, because a queued task outlives the request."""

from django.tasks import task

from core.code_documents import code_batch_build


@task()
def build_code_batch(batch_id: int) -> None:
    """Render a queued CodeBatch into one PDF; progress and failure are recorded on the batch."""
    code_batch_build(batch_id=batch_id)
