"""The enterprise's own story (一企一档): one timeline, newest first, composed from the entries each
package contributes (core.timeline explains the providers and what an entry is).

Each provider filters its own rows by its own permission rules, so what a viewer gets is the sum
of what each package lets them see: the public (anyone who does not see a record) only the
published part. Shared by the timeline page, the landing faces' latest entries and the API.
"""

from datetime import datetime

from django.db.models import prefetch_related_objects
from django.utils import timezone

from checklists import timeline as checklists_timeline
from core import timeline as core_timeline
from core.models import Enterprise
from core.permissions import roles_of
from core.timeline import Entry
from supervision.complaints import timeline as complaints_timeline
from supervision.inspections import timeline as inspections_timeline
from supervision.publication import timeline as publication_timeline
from supervision.risk import timeline as risk_timeline
from supervision.self_inspection import timeline as self_inspection_timeline

# Where a package registers its entries: its timeline.entries, listed here.
PROVIDERS = (
    core_timeline.entries,  # identity codes issued, replaced, withdrawn
    checklists_timeline.entries,  # compliance manuals acknowledged
    inspections_timeline.entries,  # inspections with their findings; orders from issue to closure
    self_inspection_timeline.entries,  # self-inspections, issues the business fixed itself
    risk_timeline.entries,  # credit events
    complaints_timeline.entries,  # complaints, their triage and outcome
    publication_timeline.entries,  # results published, the public's view of them, objections
)
RECENT = 5  # entries on the landing's entity card, full profile and business face


class Timeline:
    """One enterprise's entries as one viewer sees them, newest first.

    Sliced like a queryset (core.pagination.Page takes rows ``[offset : offset + size + 1]``): a
    slice asks each provider for its newest ``stop`` entries, so a page costs the same few queries
    whatever the enterprise's history, and nothing is counted."""

    def __init__(self, *, enterprise: Enterprise, viewer, now: datetime | None = None):
        self.enterprise, self.viewer, self.now = enterprise, viewer, now or timezone.now()
        inspector = roles_of(viewer).inspector
        if inspector is not None:
            # Every provider's scope reads the inspector's districts (core.permissions.inspector_q):
            # read them once for the request, not once per provider.
            prefetch_related_objects([inspector], "districts")

    def __getitem__(self, item: slice) -> list[Entry]:
        if not isinstance(item, slice) or item.stop is None or (item.start or 0) < 0 or item.step:
            raise TypeError("a timeline is read in slices [start:stop]")
        found = [
            entry
            for provider in PROVIDERS
            for entry in provider(
                enterprise=self.enterprise, viewer=self.viewer, limit=item.stop, now=self.now
            )
        ]
        found.sort(key=lambda entry: entry.sort_key, reverse=True)
        return found[item]


def timeline_for(*, enterprise: Enterprise, viewer, now: datetime | None = None) -> Timeline:
    """The timeline the viewer may see (the caller has checked the viewer may ask about the
    enterprise at all: enterprise_get, or a scanned code)."""
    return Timeline(enterprise=enterprise, viewer=viewer, now=now)


def timeline_recent(*, enterprise: Enterprise, viewer, n: int = RECENT) -> list[Entry]:
    return timeline_for(enterprise=enterprise, viewer=viewer)[:n]
