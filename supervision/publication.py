"""一公开: which inspection results are public, and when.

Results of drawn and routine inspections become public PUBLICATION_DELAY_DAYS after submission:
the window in which the business sees its result first and may object.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from supervision.models import Inspection, InspectionTask

# Drawn (random) and routine (risk plans, planned by hand, joint) visits. Complaint checks and
# re-inspections are follow-ups of something else and are published with it, not on their own.
PUBLISHED_SOURCES = (
    InspectionTask.Source.RANDOM,
    InspectionTask.Source.RISK,
    InspectionTask.Source.MANUAL,
    InspectionTask.Source.JOINT,
)


def publication_cutoff(*, now: datetime | None = None) -> datetime:
    """Inspections submitted at or before this moment are past their objection window."""
    return (now or timezone.now()) - timedelta(days=settings.PUBLICATION_DELAY_DAYS)


def published_inspections(*, now: datetime | None = None) -> QuerySet[Inspection]:
    return Inspection.objects.filter(
        status=Inspection.Status.SUBMITTED,
        submitted_at__lte=publication_cutoff(now=now),
        task__source__in=PUBLISHED_SOURCES,
    )
