"""An enterprise's timeline (core.timeline): the public's complaints about it and their triage
(dismissed, merged, an inspection planned) and outcome (verified or not confirmed by that
inspection). The rows follow complaints_visible_to: regulators in scope, and inspectors for the
complaints their own tasks check; never the business complained about, never the public, and
never the reporter's contact."""

from datetime import datetime

from django.db.models import Max, Q
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.models import Complaint, Enterprise
from core.timeline import Entry, newest_rows, say
from supervision.complaints.permissions import complaints_visible_to
from supervision.models import InspectionTask

TEXT_SHOWN = 80  # characters of the complaint's text on the timeline; its page has the rest

TRIAGE = {
    Complaint.Status.DISMISSED: ("complaint_dismissed", _("Complaint #%(id)d dismissed")),
    Complaint.Status.DUPLICATE: ("complaint_merged", _("Complaint #%(id)d merged into #%(into)d")),
    Complaint.Status.TASKED: ("complaint_tasked", _("Inspection planned for complaint #%(id)d")),
}
OUTCOME = {
    Complaint.Status.VERIFIED: ("complaint_verified", _("Complaint #%(id)d verified by the inspection")),
    Complaint.Status.UNFOUNDED: (
        "complaint_unfounded",
        _("Complaint #%(id)d not confirmed by the inspection"),
    ),
}


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    def later(since: datetime) -> Q:
        checked = InspectionTask.objects.filter(complaint__isnull=False, inspection__submitted_at__gte=since)
        return Q(triaged_at__gte=since) | Q(pk__in=checked.values("complaint_id"))

    complaints = newest_rows(
        complaints_visible_to(viewer)
        .filter(enterprise=enterprise)
        .only("pk", "text", "status", "created_at", "triaged_at", "triage_note", "duplicate_of_id")
        # When the task's inspection was submitted: the moment it verified the complaint or not.
        .annotate(checked_at=Max("tasks__inspection__submitted_at")),
        limit=limit,
        born="created_at",
        later=later,
    )
    found = []
    for complaint in complaints:
        url = reverse("complaints:detail", args=[complaint.pk])
        found.append(
            Entry(
                complaint.created_at,
                "complaint_received",
                say(_("Complaint #%(id)d received"), id=complaint.pk),
                truncatechars(complaint.text, TEXT_SHOWN),
                url,
                complaint.pk,
            )
        )
        # A verified or unconfirmed complaint was tasked first.
        triage = (
            TRIAGE[Complaint.Status.TASKED] if complaint.status in OUTCOME else TRIAGE.get(complaint.status)
        )
        if triage is not None and complaint.triaged_at is not None:
            kind, title = triage
            reason = (
                say(_("Reason: %(reason)s"), reason=complaint.triage_note) if complaint.triage_note else ""
            )
            found.append(
                Entry(
                    complaint.triaged_at,
                    kind,
                    say(title, id=complaint.pk, into=complaint.duplicate_of_id or 0),
                    reason,
                    url,
                    complaint.pk,
                )
            )
        if complaint.status in OUTCOME and complaint.checked_at is not None:
            kind, title = OUTCOME[complaint.status]
            found.append(
                Entry(complaint.checked_at, kind, say(title, id=complaint.pk), "", url, complaint.pk)
            )
    return found
