"""Supervision's background tasks (Django's Tasks API), thin shells around service functions:
arguments are ids, never model instances, because a queued task outlives the request."""

from django.tasks import task

from supervision.rescoring import score_run_execute


@task()
def recompute_scores(run_id: int) -> None:
    """Rescore every enterprise for a queued ScoreRun; progress and failure are recorded on the run."""
    score_run_execute(run_id=run_id)
