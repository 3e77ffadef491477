"""一公开, the reads: which inspection results are public and when, what the public sees of them,
and what the business sees of its own (with its objection). The objections are in services.py.

Results of drawn and routine inspections become public PUBLICATION_DELAY_DAYS after submission.
In that delay the business sees its result first (with the moment it goes public); the public
does not. Complaint checks and re-inspections are never published on their own.

What the public sees of a result (public card, public list, scan API): the enterprise's name,
district and scene, the day, the conclusion (as corrected), the number of findings by severity
and the correction. Never notes, photos, signatures, names of people or the risk score.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from checklists.models import Severity
from core.errors import DomainError
from core.models import District, Enterprise, Scene
from supervision.models import EnterpriseScore, Finding, Inspection, InspectionTask, Objection
from supervision.publication.permissions import objections_visible_to

# Drawn (random) and routine (risk plans, planned by hand, joint) visits. Complaint checks and
# re-inspections are follow-ups of something else and are published with it, not on their own.
PUBLISHED_SOURCES = (
    InspectionTask.Source.RANDOM,
    InspectionTask.Source.RISK,
    InspectionTask.Source.MANUAL,
    InspectionTask.Source.JOINT,
)
CARD_RESULTS = 5  # published results on the public card
OWN_RESULTS = 10  # the business's own latest results on its card


# --- when a result is public ----------------------------------------------------------------------------


def publication_cutoff(*, now: datetime | None = None) -> datetime:
    """Inspections submitted at or before this moment are past their objection window."""
    return (now or timezone.now()) - timedelta(days=settings.PUBLICATION_DELAY_DAYS)


def published_inspections(*, now: datetime | None = None) -> QuerySet[Inspection]:
    return Inspection.objects.filter(
        status=Inspection.Status.SUBMITTED,
        submitted_at__lte=publication_cutoff(now=now),
        task__source__in=PUBLISHED_SOURCES,
    )


def goes_public_at(inspection: Inspection) -> datetime | None:
    """When a submitted result becomes public; None for one that never is (its source, or a draft)."""
    if inspection.status != Inspection.Status.SUBMITTED or inspection.task.source not in PUBLISHED_SOURCES:
        return None
    return inspection.submitted_at + timedelta(days=settings.PUBLICATION_DELAY_DAYS)


def is_published(inspection: Inspection, *, now: datetime | None = None) -> bool:
    moment = goes_public_at(inspection)
    return moment is not None and moment <= (now or timezone.now())


# --- what the public sees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedResult:
    """One published result as anyone may see it. Nothing here names a person."""

    enterprise: str
    district: str
    scene: str
    inspected_on: date
    conclusion: str
    conclusion_label: str
    critical: int
    major: int
    minor: int
    corrected: bool
    correction: str


def _objection(inspection: Inspection) -> Objection | None:
    try:
        return inspection.objection
    except Objection.DoesNotExist:
        return None


def _finding_counts(inspections) -> dict[int, dict[str, int]]:
    """Findings by severity for a page of inspections: one grouped query over just their ids."""
    counts: dict[int, dict[str, int]] = {inspection.pk: {} for inspection in inspections}
    rows = (
        Finding.objects.filter(inspection_id__in=counts)
        .values_list("inspection_id", "severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for inspection_id, severity, n in rows:
        counts[inspection_id][severity] = n
    return counts


def public_rows(inspections) -> list[PublishedResult]:
    """The public face of a page of published inspections (select_related enterprise's district and
    scene, and objection, as ``published_list`` does)."""
    inspections = list(inspections)
    counts = _finding_counts(inspections)
    rows = []
    for inspection in inspections:
        objection = _objection(inspection)
        upheld = objection is not None and objection.status == Objection.Status.UPHELD
        conclusion = inspection.conclusion
        if upheld and objection.corrected_conclusion:
            conclusion = objection.corrected_conclusion
        found = counts[inspection.pk]
        rows.append(
            PublishedResult(
                enterprise=inspection.enterprise.name,
                district=str(inspection.enterprise.district),
                scene=str(inspection.enterprise.scene),
                inspected_on=timezone.localdate(inspection.submitted_at),
                conclusion=conclusion,
                conclusion_label=str(Inspection.Conclusion(conclusion).label),
                critical=found.get(Severity.CRITICAL, 0),
                major=found.get(Severity.MAJOR, 0),
                minor=found.get(Severity.MINOR, 0),
                corrected=upheld,
                correction=objection.correction if upheld else "",
            )
        )
    return rows


@dataclass(frozen=True)
class PublicFilters:
    district: District | None = None
    scene: Scene | None = None


def public_filters_parse(*, district: str | None, scene: str | None) -> PublicFilters:
    """Unknown codes are an error, not an empty list: a typo must not read as "nothing published"."""
    district, scene = (district or "").strip(), (scene or "").strip()
    node = scene_obj = None
    if district:
        node = District.objects.filter(code=district).first()
        if node is None:
            raise DomainError(
                _("Unknown district code %(code)s.") % {"code": district}, code="unknown_district"
            )
    if scene:
        scene_obj = Scene.objects.filter(code=scene).first()
        if scene_obj is None:
            raise DomainError(_("Unknown scene %(code)s.") % {"code": scene}, code="unknown_scene")
    return PublicFilters(district=node, scene=scene_obj)


def published_list(
    *, filters: PublicFilters = PublicFilters(), now: datetime | None = None
) -> QuerySet[Inspection]:
    """Published results, newest first; paginate it (never count it) and show it through public_rows."""
    inspections = published_inspections(now=now)
    if filters.district is not None:
        inspections = inspections.filter(enterprise__district__in=filters.district.subtree())
    if filters.scene is not None:
        inspections = inspections.filter(enterprise__scene=filters.scene)
    return inspections.select_related("enterprise__district", "enterprise__scene", "objection").order_by(
        "-submitted_at", "-pk"
    )


def published_results_for(*, enterprise: Enterprise, now: datetime | None = None) -> list[PublishedResult]:
    """The public card's latest published results of one enterprise (every scan of a code shows
    them): the enterprise is the one in hand, not joined again for each result."""
    inspections = list(
        published_inspections(now=now)
        .filter(enterprise=enterprise)
        .select_related("objection")
        .order_by("-submitted_at", "-pk")[:CARD_RESULTS]
    )
    for inspection in inspections:
        inspection.enterprise = enterprise
    return public_rows(inspections)


class PublicTier(str):
    """The tier badge of the public card: the supervision tier and the credit rating letter.

    Not the risk score, its level or its factors: those are the regulators' working estimate and,
    with the business's own breakdown, stay with them and the business. Tier and credit rating are
    decisions the public may rely on (how closely the business is supervised, whether it keeps its
    obligations), as credit-rating disclosure practice has them.

    A ``str`` whose value is the tier ("1".."4"): the scan API (core.api CardOut.tier) carries it as
    that string, and the landing templates read ``code``, ``credit`` and ``label`` from the same value.
    """

    code: int
    credit: str
    label: str

    def __new__(cls, *, tier: int, credit: str):
        badge = super().__new__(cls, str(tier))
        badge.code, badge.credit = tier, credit
        badge.label = _("Tier %(tier)d · credit %(credit)s") % {"tier": tier, "credit": credit}
        return badge


def public_tier(*, enterprise: Enterprise) -> PublicTier | None:
    # Sliced, not .first(): one score per enterprise, and no ORDER BY to build at every scan.
    score = next(
        iter(EnterpriseScore.objects.filter(enterprise=enterprise).values_list("tier", "credit")[:1]), None
    )
    return PublicTier(tier=score[0], credit=score[1]) if score else None


# --- what the business sees of its own results -----------------------------------------------------------


@dataclass(frozen=True)
class OwnResult:
    """A business's own submitted result, as soon as it is submitted."""

    inspection: Inspection
    goes_public_at: datetime | None  # None: never published on its own (complaint check, re-inspection)
    published: bool
    objection: Objection | None

    @property
    def may_object(self) -> bool:
        return self.published and self.objection is None


def own_results(*, enterprise: Enterprise, now: datetime | None = None) -> list[OwnResult]:
    """The business's latest results, with the moment each goes public and its objection."""
    now = now or timezone.now()
    inspections = (
        Inspection.objects.filter(enterprise=enterprise, status=Inspection.Status.SUBMITTED)
        .select_related("task", "objection")
        .order_by("-submitted_at", "-pk")[:OWN_RESULTS]
    )
    results = []
    for inspection in inspections:
        moment = goes_public_at(inspection)
        results.append(
            OwnResult(
                inspection=inspection,
                goes_public_at=moment,
                published=moment is not None and moment <= now,
                objection=_objection(inspection),
            )
        )
    return results


# --- objections ----------------------------------------------------------------------------------------


def objection_list(*, user, status: str = "") -> QuerySet[Objection]:
    """Objections the user sees, oldest pending first (the regulators' queue); paginate it."""
    if status and status not in Objection.Status.values:
        raise DomainError(_("Unknown status %(status)s.") % {"status": status}, code="unknown_status")
    objections = objections_visible_to(user)
    if status:
        objections = objections.filter(status=status)
    return objections.select_related("inspection", "enterprise").order_by("created_at", "pk")
