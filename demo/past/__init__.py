"""The demo city's past: two years of the platform's own loop and a year of imported history
before it, written for the first ``HISTORY_LIMIT`` demo enterprises (``history_seed``).

Named "past", not "history", so it is not taken for the ``history`` app it also writes to. The
parts: ``subjects`` reads what the stories need, ``loop`` and ``records`` write them (``bulk``,
``signatures`` help).

What it writes, per enterprise (demo.stories says how each story goes): tasks (done, cancelled,
still planned; random draw, risk, hand-planned, complaint and re-inspection ones), submitted
inspections with every answer, the signatures and the content hash the submit service computes,
findings of every severity, orders closed in time, late, returned, re-inspected, still running,
overdue or escalated, the business's rectifications, ratings, complaints (new, dismissed, merged,
verified, unfounded, still being checked), self-inspections with the issues they found (some
contradicted by a later inspection), credit events, and imported records of the year before.

Rows are written in bulk, with the fields the services would write; the ``auto_now`` stamps are
set to the story's moments (``bulk.dates_as_given``). The audit chain gets one event for the whole
past ("demo.history", with the seed, the range of demo indices and the counts), not one per row:
the chain records what happened on this platform, and this past was loaded, not lived. Scores are
then recomputed (supervision.risk.scoring.recompute_all), so the ranking, plans and draws read it.

Running it again writes nothing for the indices the "demo.history" events cover, and tells the
stories of new indices (a grown demo) with the seed recorded first, so they are the ones a run
of that size at once would have told.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEvent
from demo.enterprises import business_enterprise
from demo.offsite import offsite_seed
from demo.past.bulk import Bulk, dates_as_given
from demo.past.loop import LoopWriter
from demo.past.records import credit_events_write, legacy_write, self_inspections_write
from demo.past.subjects import content_ensure, demo_enterprises_by_index, subjects_of
from demo.staff import staff_seed
from demo.stories import HISTORY_DAYS, City, at_minute, story_of
from supervision.risk import scoring

# A past for the first 2,000 demo enterprises at most: 500 (the default demo) take a few seconds;
# a load-test city of millions gets a past for these and none for the rest.
HISTORY_LIMIT = 2_000
DEFAULT_SEED = 2026
MARKER = "demo.history"


@dataclass
class HistoryResult:
    seed: int
    built: bool  # False: the demo indices asked for had their past already
    start: int  # demo indices [start, stop) were given a past in this run
    stop: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def history_recorded() -> list[dict]:
    """The "demo.history" events' data, oldest first."""
    return list(AuditEvent.objects.filter(action=MARKER).order_by("seq").values_list("data", flat=True))


def history_seed(*, seed: int = DEFAULT_SEED, enterprises: int) -> HistoryResult:
    """Give the demo enterprises with indices below ``min(enterprises, HISTORY_LIMIT)`` their
    past, those that have none yet, and recompute every score."""
    recorded = history_recorded()
    covered = max((data["stop"] for data in recorded), default=0)
    if recorded:
        seed = recorded[0]["seed"]
    stop = min(enterprises, HISTORY_LIMIT)
    if covered >= stop:
        return HistoryResult(seed=seed, built=False, start=covered, stop=covered)
    started = time.perf_counter()
    content_ensure()
    today = timezone.localdate()
    with transaction.atomic(), dates_as_given():
        went_live = at_minute(today - timedelta(days=HISTORY_DAYS), 9 * 60)
        enterprises_by_index = demo_enterprises_by_index(covered, stop)
        staff = staff_seed(
            seed=seed,
            joined=went_live,
            enterprises=[(e.pk, e.uscc, e.legal_representative) for e in enterprises_by_index.values()],
            business_enterprise_id=business_enterprise().pk,
        )
        city = City(
            today=today,
            leads=staff.leads,
            inspector_users=staff.inspector_users,
            rectify_days=dict(settings.RECTIFY_DAYS),
        )
        stories = [
            story_of(subject, city=city, seed=seed) for subject in subjects_of(enterprises_by_index, staff)
        ]
        bulk = Bulk()
        LoopWriter(stories, staff, bulk).write()
        self_inspections_write(stories, bulk)
        credit_events_write(stories, bulk)
        legacy_write(stories, bulk, imported_at=went_live)
        counts = dict(sorted(bulk.counts.items()))
        audit_record(
            actor=None,
            action=MARKER,
            data={"seed": seed, "start": covered, "stop": stop, "today": today, "counts": counts},
        )
    # Other departments' data about the same enterprises, through the sources' own ingest.
    sent = offsite_seed(seed=seed, enterprises=list(enterprises_by_index.values()))
    counts["offsite_attributes"] = sent.attributes
    counts.update({f"offsite_{code}": n for code, n in sent.signals.items()})
    scoring.recompute_all()
    return HistoryResult(seed, True, covered, stop, counts, time.perf_counter() - started)
