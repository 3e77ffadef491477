"""The enterprise's own story (一企一档): what one entry of its timeline is, how a provider finds its
newest rows, and the ground floor's own entries (identity codes).

Each package that owns records contributes their entries through a provider in its own
``timeline.py`` (``checklists``, ``supervision.<feature>``): a function
``entries(*, enterprise, viewer, limit, now) -> list[Entry]`` that returns at least the ``limit``
newest entries of its records that the viewer may see, by that package's permission rules.
``supervision.landing.timeline`` (above every feature) merges them newest first and pages them, so
no package below names another, and core names none.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise, IdentityCode
from core.permissions import enterprises_visible_to


@dataclass(frozen=True)
class Entry:
    """One thing that happened to an enterprise, as one viewer may see it.

    ``title`` and ``detail`` are lazy: they are put into words in the reader's language when the
    page or the API answer is rendered. ``url`` is the record's page when the viewer may open it,
    else None; ``record_id`` is the record's id (its kind says which table)."""

    at: datetime  # aware
    kind: str
    title: Promise | str
    detail: Promise | str
    url: str | None
    record_id: int
    # Only the day is known (a credit event), or only the day is public (a published result).
    all_day: bool = False
    # Where an all-day entry stands among the others of its day: the moment it happened, kept
    # for the order (the provider picked its newest rows by it), never shown.
    moment: datetime | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.moment or self.at, self.kind, self.record_id)


def _words(message, params: dict) -> str:
    values = {key: str(value) if isinstance(value, Promise) else value for key, value in params.items()}
    # message % values, not str(message) % values: a lazy plural (ngettext_lazy with a key) picks
    # its form from the values, and renders "" before it has them.
    return str(message % values) if values else str(message)


_lazy_words = lazy(_words, str)


def say(message, **params) -> Promise:
    """``message % params`` in the language active when it is rendered (params may be lazy too)."""
    return _lazy_words(message, params)


def _joined(parts: tuple) -> str:
    return " · ".join(text for text in (str(part) for part in parts) if text)


_lazy_joined = lazy(_joined, str)


def joined(*parts) -> Promise:
    """Parts of a detail, the empty ones left out, joined when rendered."""
    return _lazy_joined(parts)


def day_start(day: date) -> datetime:
    """The start of a local day, for entries of which only the day is known."""
    return timezone.make_aware(datetime.combine(day, time.min))


def local_day(moment: datetime) -> str:
    return timezone.localdate(moment).isoformat()


def local_minute(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def newest_rows(queryset: QuerySet, *, limit: int, born: str, later: Callable[[datetime], Q] | None = None):
    """The rows that hold the ``limit`` newest events of a kind of record, without loading them all.

    A record's first event is its ``born`` field; ``later`` says which records have an event (a
    closing, a decision) at or after a moment. The ``limit`` newest records by birth hold ``limit``
    events at or after the last one's birth ``t``, so the newest ``limit`` events all happen at or
    after ``t``: they are in those records, or in older ones with an event at or after ``t``."""
    rows = list(queryset.order_by(f"-{born}", "-pk")[:limit])
    if later is not None and rows and len(rows) == limit:
        since = getattr(rows[-1], born)
        rows += list(
            queryset.filter(**{f"{born}__lte": since})
            .filter(later(since))
            .exclude(pk__in=[row.pk for row in rows])
            .order_by(f"-{born}", "-pk")
        )
    return rows


# --- the ground floor's own entries: identity codes ---------------------------------------------------


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    """Codes issued, replaced and withdrawn (一业一码): for whoever sees the enterprise (its members,
    officials in scope), not the public. Never the token itself."""
    codes = newest_rows(
        IdentityCode.objects.filter(
            enterprise=enterprise, enterprise__in=enterprises_visible_to(viewer)
        ).only("pk", "status", "created_at", "ended_at", "end_reason"),
        limit=limit,
        born="created_at",
        # A rotation ends the old code in the moment the new one is issued.
        later=lambda since: Q(ended_at__gte=since),
    )
    if not codes:
        return []
    url = reverse("enterprise-detail", args=[enterprise.uscc])
    found = []
    for code in codes:
        found.append(Entry(code.created_at, "code_issued", _("Identity code issued"), "", url, code.pk))
        if code.ended_at is None:
            continue
        reason = say(_("Reason: %(reason)s"), reason=code.end_reason) if code.end_reason else ""
        if code.status == IdentityCode.Status.REVOKED:
            found.append(
                Entry(code.ended_at, "code_revoked", _("Identity code withdrawn"), reason, url, code.pk)
            )
        else:
            found.append(
                Entry(code.ended_at, "code_replaced", _("Identity code replaced"), reason, url, code.pk)
            )
    return found
