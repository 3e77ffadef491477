"""Writes that make scores change, started by regulators: a full recompute in the background (a
ScoreRun, run by the background task recompute_scores below with its progress saved as it goes) and credit
events, each followed at once by a rescore of its enterprise.

Callers check permissions first (core.permissions.can_manage_scoring, can_record_credit_event);
the score itself is computed only by supervision.risk.scoring.
"""

import logging
import time
from datetime import date, timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError
from core.models import Enterprise
from supervision.models import CreditEvent, ScoreRun, ScoringPolicy
from supervision.risk import scoring

logger = logging.getLogger(__name__)

# A run still "queued" or "running" after this long lost its worker (killed, redeployed): it no
# longer blocks a new one. Longer than the task timeout (settings.RQ_QUEUES, 3 h by default).
STALE_AFTER = timedelta(hours=6)
ACTIVE = (ScoreRun.Status.QUEUED, ScoreRun.Status.RUNNING)


def score_run_active() -> ScoreRun | None:
    return (
        ScoreRun.objects.filter(status__in=ACTIVE, created_at__gte=timezone.now() - STALE_AFTER)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def score_run_start(*, actor) -> ScoreRun:
    """Queue a full recompute with the current policy; refused while another one is under way
    (two would write the same rows twice over for nothing)."""
    policy = scoring.current_policy()
    # Lock the policy row: two regulators pressing the button at once queue one run, not two.
    ScoringPolicy.objects.select_for_update().get(pk=policy.pk)
    active = score_run_active()
    if active is not None:
        raise DomainError(
            _("A recompute is already under way (#%(id)d).") % {"id": active.pk},
            code="recompute_running",
            details={"run": active.pk},
            status=409,
        )
    run = ScoreRun.objects.create(policy=policy, requested_by=actor)
    audit_record(actor=actor, action="scoring.recompute_start", target=run, data={"policy": policy.version})
    transaction.on_commit(lambda: recompute_scores.enqueue(run.pk))
    return run


def score_run_execute(*, run_id: int) -> None:
    """Run a queued recompute to the end (done) or to an error (failed, with the error text kept)."""
    started = ScoreRun.objects.filter(pk=run_id, status=ScoreRun.Status.QUEUED).update(
        status=ScoreRun.Status.RUNNING, done=0, total=0, error=""
    )
    if not started:
        # A task delivered twice, or a run already finished: nothing to do.
        logger.info("score run %s is not queued; not running it", run_id)
        return
    run = ScoreRun.objects.select_related("policy").get(pk=run_id)
    clock = time.perf_counter()

    def progress(done: int, total: int) -> None:
        ScoreRun.objects.filter(pk=run_id).update(done=done, total=total)

    try:
        report = scoring.recompute_all(policy=run.policy, progress=progress)
    except Exception as exc:
        logger.exception("score run %s failed", run_id)
        error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        with transaction.atomic():
            ScoreRun.objects.filter(pk=run_id).update(
                status=ScoreRun.Status.FAILED,
                error=error[:2000],
                seconds=time.perf_counter() - clock,
                finished_at=timezone.now(),
            )
            audit_record(actor=None, action="scoring.recompute_fail", target=run, data={"error": error[:200]})
        raise
    with transaction.atomic():
        ScoreRun.objects.filter(pk=run_id).update(
            status=ScoreRun.Status.DONE,
            as_of=report.as_of,
            enterprises=report.enterprises,
            done=report.chunks,
            total=report.chunks,
            seconds=report.seconds,
            finished_at=timezone.now(),
        )
        # The system's own entry: every score changed, under this policy, as of this moment.
        audit_record(
            actor=None,
            action="scoring.recompute_finish",
            target=run,
            data={"policy": report.policy_version, "enterprises": report.enterprises},
        )


@transaction.atomic
def credit_event_record(
    *,
    actor,
    enterprise: Enterprise,
    kind: str,
    occurred_on: date | None,
    ends_on: date | None = None,
    reference: str = "",
    note: str = "",
) -> CreditEvent:
    """Record a penalty, a dishonesty listing or a refused inspection, and rescore the enterprise.

    Every problem is reported at once, per field (``details``), and nothing is saved.
    """
    problems: dict[str, str] = {}
    reference, note = reference.strip(), note.strip()
    if kind not in CreditEvent.Kind.values:
        problems["kind"] = _("Choose the kind of event.")
    if occurred_on is None:
        problems["occurred_on"] = _("Give the date it happened.")
    elif occurred_on > timezone.localdate():
        problems["occurred_on"] = _("The date is in the future.")
    if ends_on is not None:
        if kind != CreditEvent.Kind.DISHONESTY:
            problems["ends_on"] = _("Only a dishonesty listing has an end date.")
        elif occurred_on is not None and ends_on < occurred_on:
            problems["ends_on"] = _("The listing ends before it starts.")
    if len(reference) > 60:
        problems["reference"] = _("At most 60 characters.")
    if len(note) > 300:
        problems["note"] = _("At most 300 characters.")
    if problems:
        raise DomainError(
            _("The credit event was not recorded."), code="credit_event_invalid", details=problems, status=422
        )
    event = CreditEvent.objects.create(
        enterprise=enterprise,
        kind=kind,
        occurred_on=occurred_on,
        ends_on=ends_on,
        reference=reference,
        note=note,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="scoring.credit_event_record",
        target=enterprise,
        data={
            "event": event.pk,
            "kind": kind,
            "occurred_on": occurred_on,
            "ends_on": ends_on,
            "reference": reference,
        },
    )
    scoring.recompute_enterprise(enterprise_id=enterprise.pk)
    return event


@task()
def recompute_scores(run_id: int) -> None:
    """The background task: rescore every enterprise for a queued ScoreRun; progress and failure are
    recorded on the run. Its argument is an id, never a model instance: a queued task outlives the
    request."""
    score_run_execute(run_id=run_id)
