"""Who manages the data sources (their schemas, keys and batches): built from core.permissions.

What a source sends steers the one city-wide risk score (the risk factors read its attributes and
signals), so the remit that sets the scoring policy decides what may flow in: platform admins and
city-level regulators (core.permissions.can_manage_scoring). A district regulator, an inspector, a
business or anyone else does not see that the pages exist (404).

The navigation links to the sources where it offers the back-test (``may_manage_scoring`` of the
context processor), which holds as long as this rule is that one.
"""

from django.db.models import QuerySet

from core.permissions import can_manage_scoring
from history.models import DataSource


def may_manage_sources(user) -> bool:
    return can_manage_scoring(user)


def sources_managed_by(user) -> QuerySet[DataSource]:
    return DataSource.objects.all() if may_manage_sources(user) else DataSource.objects.none()
