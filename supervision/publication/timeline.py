"""An enterprise's timeline (core.timeline): 一公开, its published results and the objections to them.

- Whoever may open an inspection record (inspections_visible_to: its members, officials in scope)
  sees the moment its result went public; supervision.inspections contributes the record itself.
- Anyone else, the public included, sees each published result as the public list shows it
  (public_rows: the day, the conclusion as corrected, the findings by severity, the correction):
  the published part of the timeline, and all of it that the public sees.
- Objections: the objecting business's members and regulators in scope see each one raised and
  decided (objections_visible_to); an upheld objection's correction is public, so everyone sees it.
"""

from datetime import datetime

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Enterprise
from core.timeline import Entry, day_start, joined, local_day, newest_rows, say
from supervision.inspections.permissions import inspections_visible_to
from supervision.inspections.timeline import FINDINGS, conclusion_label
from supervision.models import Objection
from supervision.publication.permissions import objections_visible_to
from supervision.publication.selectors import (
    goes_public_at,
    public_rows,
    published_inspections,
    published_list,
)

REASON_SHOWN = 80  # characters of an objection's reason on the timeline; its page has the rest


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    opened = inspections_visible_to(viewer).filter(enterprise=enterprise).values("pk")
    return (
        _publication_entries(enterprise, opened, limit, now)
        + _public_result_entries(enterprise, opened, limit, now)
        + _objection_entries(enterprise, viewer, opened, limit, now)
    )


def _publication_entries(enterprise: Enterprise, opened, limit: int, now: datetime) -> list[Entry]:
    # Public a fixed delay after submission: the newest submitted are the newest published.
    inspections = (
        published_inspections(now=now)
        .filter(enterprise=enterprise, pk__in=opened)
        .select_related("task")
        .order_by("-submitted_at", "-pk")[:limit]
    )
    return [
        Entry(
            goes_public_at(inspection),
            "publication",
            _("Inspection result published"),
            say(
                _("Inspection of %(day)s: %(conclusion)s"),
                day=local_day(inspection.submitted_at),
                conclusion=conclusion_label(inspection.conclusion),
            ),
            reverse("publication:objection", args=[inspection.pk]),
            inspection.pk,
        )
        for inspection in inspections
    ]


def _public_result_entries(enterprise: Enterprise, opened, limit: int, now: datetime) -> list[Entry]:
    """The results the viewer cannot open, as anyone sees them: by day, with no link."""
    inspections = list(published_list(now=now).filter(enterprise=enterprise).exclude(pk__in=opened)[:limit])
    found = []
    for inspection, result in zip(inspections, public_rows(inspections), strict=True):
        found.append(
            Entry(
                day_start(result.inspected_on),
                "published_result",
                say(_("Published inspection result: %(conclusion)s"), conclusion=result.conclusion_label),
                joined(
                    say(FINDINGS, critical=result.critical, major=result.major, minor=result.minor),
                    _("corrected after objection") if result.corrected else "",
                ),
                None,
                inspection.pk,
                all_day=True,
                moment=inspection.submitted_at,
            )
        )
    return found


def _objection_entries(enterprise: Enterprise, viewer, opened, limit: int, now: datetime) -> list[Entry]:
    objections = newest_rows(
        objections_visible_to(viewer).filter(enterprise=enterprise).select_related("inspection"),
        limit=limit,
        born="created_at",
        later=lambda since: Q(decided_at__gte=since),
    )
    shown = {objection.pk for objection in objections}
    # An upheld objection's correction is part of the published result: public.
    corrections = (
        Objection.objects.filter(
            enterprise=enterprise,
            status=Objection.Status.UPHELD,
            inspection__in=published_inspections(now=now),
        )
        .exclude(pk__in=shown)
        .select_related("inspection")
        .order_by("-decided_at", "-pk")[:limit]
    )
    every = [*objections, *corrections]
    may_open = set(opened.filter(pk__in=[o.inspection_id for o in every]).values_list("pk", flat=True))
    found = []
    for objection in every:
        inspection = objection.inspection
        day = local_day(inspection.submitted_at)
        url = reverse("publication:objection", args=[inspection.pk]) if inspection.pk in may_open else None
        if objection.pk in shown:
            found.append(
                Entry(
                    objection.created_at,
                    "objection_submitted",
                    say(_("Objection to the result of the inspection of %(day)s"), day=day),
                    objection.reason[:REASON_SHOWN],
                    url,
                    objection.pk,
                )
            )
        if objection.status == Objection.Status.UPHELD:
            conclusion = objection.corrected_conclusion
            # Those who see only the published result see the day of the correction, as of the result.
            public_only = url is None and objection.pk not in shown
            found.append(
                Entry(
                    day_start(timezone.localdate(objection.decided_at))
                    if public_only
                    else objection.decided_at,
                    "objection_upheld",
                    say(_("Result of the inspection of %(day)s corrected after objection"), day=day),
                    joined(
                        say(
                            _("conclusion now: %(conclusion)s"),
                            conclusion=conclusion_label(conclusion),
                        )
                        if conclusion
                        else "",
                        objection.correction,
                    ),
                    url,
                    objection.pk,
                    all_day=public_only,
                    moment=objection.decided_at,
                )
            )
        elif objection.status == Objection.Status.REJECTED:
            found.append(
                Entry(
                    objection.decided_at,
                    "objection_rejected",
                    say(_("Objection to the result of the inspection of %(day)s rejected"), day=day),
                    say(_("Reason: %(reason)s"), reason=objection.decision_note),
                    url,
                    objection.pk,
                )
            )
    return found
