"""Self-inspection reads: what a user may see of self-inspections, their answers and their issues.

A row the user may not see is NotFound, exactly like one that does not exist, so ids cannot be
probed. The writes are in supervision.self_inspection.services.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from checklists.models import Checklist, ChecklistItem, ManualClause
from checklists.selectors import scene_checklist
from core.errors import DomainError, NotFound
from core.models import Enterprise, Photo
from supervision.models import SelfIdentifiedIssue, SelfInspection, SelfInspectionAnswer
from supervision.self_inspection.permissions import self_inspections_visible_to, self_issues_visible_to


def self_inspection_get(*, user, pk) -> SelfInspection:
    """One self-inspection the user may see; anything else is not found (ids cannot be probed)."""
    self_inspection = (
        self_inspections_visible_to(user).select_related("enterprise__scene").filter(pk=pk).first()
    )
    if self_inspection is None:
        raise NotFound(_("No such self-inspection."), code="not_found")
    return self_inspection


def self_inspections_of(*, user, enterprise: Enterprise) -> QuerySet[SelfInspection]:
    """The enterprise's self-inspections the user may see, newest first."""
    return (
        self_inspections_visible_to(user)
        .filter(enterprise=enterprise)
        .select_related("enterprise")
        .prefetch_related(Prefetch("checklists", queryset=Checklist.objects.select_related("department")))
        .order_by("-started_at", "-pk")
    )


def self_inspection_draft(*, enterprise: Enterprise) -> SelfInspection | None:
    return SelfInspection.objects.filter(enterprise=enterprise, status=SelfInspection.Status.DRAFT).first()


def self_inspection_latest_submitted(*, enterprise: Enterprise) -> SelfInspection | None:
    """For the entity card (index self_inspection_latest); the caller has checked visibility."""
    return (
        SelfInspection.objects.filter(enterprise=enterprise, status=SelfInspection.Status.SUBMITTED)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def self_issues_of(
    *, user, enterprise: Enterprise, status: str | None = None
) -> QuerySet[SelfIdentifiedIssue]:
    qs = (
        self_issues_visible_to(user)
        .filter(enterprise=enterprise)
        .select_related("answer__item__checklist__department", "answer__self_inspection")
        .prefetch_related(Prefetch("evidence", queryset=Photo.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )
    if status:
        if status not in SelfIdentifiedIssue.Status.values:
            raise DomainError(
                _("Unknown status %(status)s.") % {"status": status}, code="unknown_status", status=422
            )
        qs = qs.filter(status=status)
    return qs


def self_issue_get(*, user, pk) -> SelfIdentifiedIssue:
    issue = self_issues_visible_to(user).select_related("enterprise", "answer").filter(pk=pk).first()
    if issue is None:
        raise NotFound(_("No such issue."), code="not_found")
    return issue


def self_inspection_photo(*, self_inspection: SelfInspection, photo_id) -> Photo:
    """A photo attached to one of the self-inspection's answers or to the evidence of its issues."""
    answer_photos = SelfInspectionAnswer.photos.through.objects.filter(
        selfinspectionanswer__self_inspection=self_inspection
    ).values("photo_id")
    evidence = SelfIdentifiedIssue.evidence.through.objects.filter(
        selfidentifiedissue__answer__self_inspection=self_inspection
    ).values("photo_id")
    try:
        photo_pk = int(photo_id)
    except (TypeError, ValueError):
        photo_pk = None
    photo = (
        Photo.objects.filter(pk=photo_pk).filter(pk__in=answer_photos.union(evidence)).first()
        if photo_pk is not None
        else None
    )
    if photo is None:
        raise NotFound(_("No such photo."), code="not_found")
    return photo


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int

    @property
    def complete(self) -> bool:
        return self.answered >= self.total

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 100


@dataclass
class SheetRow:
    item: ChecklistItem
    answer: SelfInspectionAnswer | None
    clause: ManualClause | None

    @property
    def department(self):
        return self.item.checklist.department


@dataclass(frozen=True)
class Sheet:
    """A self-inspection's items (its own versions, applicable to the enterprise) with their answers."""

    rows: list[SheetRow]
    progress: Progress


def self_inspection_progress(*, self_inspection: SelfInspection) -> Progress:
    """Answered / total over the items that apply, without loading answers or photos."""
    if self_inspection.status == SelfInspection.Status.SUBMITTED:
        count = SelfInspectionAnswer.objects.filter(self_inspection=self_inspection).count()
        return Progress(count, count)
    enterprise = self_inspection.enterprise
    merged = scene_checklist(
        scene=enterprise.scene, enterprise=enterprise, checklists=self_inspection.checklists.all()
    )
    ids = [item.pk for item in merged.items]
    answered = SelfInspectionAnswer.objects.filter(self_inspection=self_inspection, item_id__in=ids).count()
    return Progress(answered, len(ids))


def self_inspection_sheet(*, self_inspection: SelfInspection) -> Sheet:
    enterprise = self_inspection.enterprise
    answers = {
        answer.item_id: answer
        for answer in SelfInspectionAnswer.objects.filter(self_inspection=self_inspection)
        .select_related("issue")
        .prefetch_related(
            Prefetch("photos", queryset=Photo.objects.order_by("pk")),
            Prefetch("issue__evidence", queryset=Photo.objects.order_by("pk")),
        )
    }
    submitted = self_inspection.status == SelfInspection.Status.SUBMITTED
    merged = scene_checklist(
        scene=enterprise.scene,
        # A submitted record is its answers: later changes to the enterprise's features do not rewrite it.
        enterprise=None if submitted else enterprise,
        checklists=self_inspection.checklists.all(),
    )
    items = [item for item in merged.items if item.pk in answers] if submitted else merged.items
    rows = [SheetRow(item, answers.get(item.pk), merged.clauses.get(item.clause_code)) for item in items]
    answered = sum(1 for row in rows if row.answer is not None)
    return Sheet(rows, Progress(answered, len(rows)))
