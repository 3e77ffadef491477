"""Keyed signals whose business was not an enterprise here when they arrived, matched once it is.

A hotline or a bureau may name a business before the platform registers it (a register imported
the next week, a LIVES feed read after the signals). Ingest keeps such a signal with its
``business_key`` and no enterprise, and counts it as unmatched on its batch. When enterprises are
registered (``core.signals.enterprises_registered``: the enterprise importer, the LIVES import, one
saved in the admin) the signals that name them are matched here, set-based, so they count in the
risk score from then on; ``manage.py rematch_signals`` matches every one still waiting.

A match is by the source's own kind of key (``DataSource.business_key``): a USCC against the
register, a LIVES business id against the LIVES import's source records. Matching never changes a
signal that already has an enterprise.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from core.audit import audit_record
from core.models import Enterprise
from core.signals import enterprise_changed
from history.models import DataSource, Signal, Source, SourceRecord

CHUNK = 2000  # enterprise ids per statement: well below SQLite's bound-parameter limit
# Up to this many enterprises are rescored one by one after a match (an enterprise saved in the
# admin, a small import); a bulk import's enterprises wait for the next full recompute, which
# scores every enterprise anyway (a new one has no score before it).
RESCORE_AT_ONCE = 100


@dataclass
class MatchResult:
    signals: int = 0
    enterprises: int = 0


def _match_by(key: str, enterprise_ids: list[int] | None) -> tuple[int, set[int]]:
    """Match the waiting signals of sources that name businesses by ``key``; only against the
    enterprises ``enterprise_ids`` (None: all). Returns (signals matched, enterprises matched)."""
    if key == DataSource.BusinessKey.USCC:
        candidates = Enterprise.objects.all()
        field, enterprise = "uscc", "pk"
    else:
        candidates = SourceRecord.objects.filter(source=Source.LIVES)
        field, enterprise = "source_id", "enterprise_id"
    if enterprise_ids is not None:
        candidates = candidates.filter(**{f"{enterprise}__in": enterprise_ids})
    same = candidates.filter(**{field: OuterRef("business_key")})
    targets = Signal.objects.filter(Signal.unmatched_q(), Exists(same), source__business_key=key)
    # Which enterprises gain signals (to rescore), then one UPDATE for all their signals.
    match = Subquery(same.values(enterprise)[:1])
    matched = set(targets.annotate(match=match).values_list("match", flat=True).distinct())
    if not matched:
        return 0, set()
    return targets.update(enterprise_id=match), matched


def signals_rematch(*, enterprise_ids: list[int] | None = None, actor=None) -> MatchResult:
    """Match the waiting keyed signals to the enterprises ``enterprise_ids`` (just registered), or
    to every enterprise (None). One audit event when anything matched; the enterprises that gained
    signals are rescored after commit when they are few (RESCORE_AT_ONCE)."""
    # Most registrations find nothing waiting: one look at the (partial) index of waiting signals.
    if enterprise_ids == [] or not Signal.objects.filter(Signal.unmatched_q()).exists():
        return MatchResult()
    return _rematch(enterprise_ids, actor)


@transaction.atomic
def _rematch(enterprise_ids: list[int] | None, actor) -> MatchResult:
    result = MatchResult()
    matched: set[int] = set()
    chunks = (
        [None]
        if enterprise_ids is None
        else [enterprise_ids[start : start + CHUNK] for start in range(0, len(enterprise_ids), CHUNK)]
    )
    for chunk in chunks:
        for key in DataSource.BusinessKey.values:
            count, enterprises = _match_by(key, chunk)
            result.signals += count
            matched |= enterprises
    result.enterprises = len(matched)
    if not result.signals:
        return result
    audit_record(
        actor=actor,
        action="signal.rematch",
        data={"signals": result.signals, "enterprises": result.enterprises},
    )
    if len(matched) <= RESCORE_AT_ONCE:
        for enterprise_id in sorted(matched):
            enterprise_changed.send(sender=Signal, enterprise_id=enterprise_id)
    return result
