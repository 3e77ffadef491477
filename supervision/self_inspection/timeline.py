"""An enterprise's timeline (core.timeline): its submitted self-inspections and the issues it fixed
itself. The rows follow self_inspections_visible_to and self_issues_visible_to: the business's
members and officials with the enterprise in scope; never a draft."""

from datetime import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from checklists.models import ChecklistItem
from core.models import Enterprise
from core.timeline import Entry, say
from supervision.models import Result, SelfIdentifiedIssue, SelfInspection
from supervision.self_inspection.permissions import self_inspections_visible_to, self_issues_visible_to


def _question(item: ChecklistItem) -> str:
    return item.display_question


_item_question = lazy(_question, str)


def entries(*, enterprise: Enterprise, viewer, limit: int, now: datetime) -> list[Entry]:
    submitted = (
        self_inspections_visible_to(viewer)
        .filter(enterprise=enterprise, status=SelfInspection.Status.SUBMITTED)
        .only("pk", "submitted_at")
        .annotate(failing=Count("answers", filter=Q(answers__result=Result.NON_COMPLIANT)))
        .order_by("-submitted_at", "-pk")[:limit]
    )
    found = [
        Entry(
            self_inspection.submitted_at,
            "self_inspection",
            _("Self-inspection submitted"),
            say(
                ngettext_lazy("%(n)d item not compliant", "%(n)d items not compliant", "n"),
                n=self_inspection.failing,
            )
            if self_inspection.failing
            else _("every item compliant"),
            reverse("supervision:detail", args=[self_inspection.pk]),
            self_inspection.pk,
        )
        for self_inspection in submitted
    ]
    fixed = (
        self_issues_visible_to(viewer)
        .filter(enterprise=enterprise, status=SelfIdentifiedIssue.Status.FIXED)
        .select_related("answer__item")
        .order_by("-fixed_at", "-pk")[:limit]
    )
    found += [
        Entry(
            issue.fixed_at,
            "self_issue_fixed",
            _("Issue found in a self-inspection fixed"),
            _item_question(issue.answer.item),
            reverse("supervision:detail", args=[issue.answer.self_inspection_id]),
            issue.pk,
        )
        for issue in fixed
    ]
    return found
