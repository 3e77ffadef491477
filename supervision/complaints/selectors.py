"""The complaint desk's reads: which complaints an official sees, filtered, and what of the
reporter's contact (in full only for those who triage the complaint). The triage is in services.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.models import Complaint, District
from supervision.complaints.intake import contact_masked
from supervision.complaints.permissions import complaints_triageable_by, complaints_visible_to


@dataclass(frozen=True)
class ComplaintFilters:
    status: str = ""
    district: District | None = None
    enterprise: str = ""  # USCC


def complaint_filters_parse(*, status: str | None, district: str | None, enterprise: str | None):
    """Unknown values are an error, not an empty list: a typo must not read as "no complaints"."""
    status, district, enterprise = ((value or "").strip() for value in (status, district, enterprise))
    if status and status not in Complaint.Status.values:
        raise DomainError(_("Unknown status %(status)s.") % {"status": status}, code="unknown_status")
    node = None
    if district:
        node = District.objects.filter(code=district).first()
        if node is None:
            raise DomainError(
                _("Unknown district code %(code)s.") % {"code": district}, code="unknown_district"
            )
    return ComplaintFilters(status=status, district=node, enterprise=enterprise.upper())


def complaint_list(*, user, filters: ComplaintFilters) -> QuerySet[Complaint]:
    """The complaints a user sees, newest first; paginate it (never count it)."""
    complaints = complaints_visible_to(user)
    if filters.status:
        complaints = complaints.filter(status=filters.status)
    if filters.district is not None:
        complaints = complaints.filter(enterprise__district__in=filters.district.subtree())
    if filters.enterprise:
        complaints = complaints.filter(enterprise__uscc=filters.enterprise)
    return complaints.select_related("enterprise__district", "enterprise__scene").order_by(
        "-created_at", "-pk"
    )


def complaints_reveal(*, user, complaints: Sequence[Complaint]) -> Sequence[Complaint]:
    """Set ``contact_shown`` on each complaint: the reporter's contact for a user who triages it,
    masked for everyone else. One query for a whole page; also sets ``triageable``."""
    ids = {complaint.pk for complaint in complaints}
    triageable = (
        set(complaints_triageable_by(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    )
    for complaint in complaints:
        complaint.triageable = complaint.pk in triageable
        shown = complaint.contact if complaint.triageable else contact_masked(complaint.contact)
        complaint.contact_shown = shown
    return complaints


def merge_candidates(*, complaint: Complaint, limit: int = 20) -> list[Complaint]:
    """What a new complaint may be merged into: the latest other complaints about the same
    enterprise that are not duplicates themselves."""
    return list(
        Complaint.objects.filter(enterprise_id=complaint.enterprise_id)
        .exclude(pk=complaint.pk)
        .exclude(status=Complaint.Status.DUPLICATE)
        .order_by("-created_at", "-pk")[:limit]
    )
