"""Pushing manuals to businesses (告知) and their acknowledgements.

Nothing is written per enterprise when a manual is published: "the manual this
enterprise should read" is the current published manual of its scene, so a city's
2.5 million businesses see a new version the moment it is published, and the
acknowledgement table only grows as people read.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from checklists.models import Manual, ManualAcknowledgement
from checklists.selectors import manual_current
from core.audit import audit_record
from core.errors import DomainError
from core.models import District, Enterprise
from core.permissions import is_member


@dataclass(frozen=True)
class ManualNotice:
    manual: Manual | None
    acknowledgement: ManualAcknowledgement | None

    @property
    def needs_acknowledgement(self) -> bool:
        return self.manual is not None and self.acknowledgement is None


def manual_notice(*, enterprise: Enterprise) -> ManualNotice:
    manual = manual_current(scene=enterprise.scene)
    if manual is None:
        return ManualNotice(None, None)
    acknowledgement = ManualAcknowledgement.objects.filter(manual=manual, enterprise=enterprise).first()
    return ManualNotice(manual, acknowledgement)


def manual_acknowledge(
    *, enterprise: Enterprise, user, manual: Manual | None = None
) -> ManualAcknowledgement:
    """A member confirms reading the current manual. Acknowledging again is a no-op, not an error:
    a double tap on a phone must not show a failure."""
    if not is_member(user, enterprise):
        raise DomainError(
            _("Only the business's own members acknowledge its manual."), code="not_member", status=403
        )
    current = manual_current(scene=enterprise.scene)
    if current is None:
        raise DomainError(_("There is no published manual for this scene."), code="no_manual", status=409)
    if manual is not None and manual.pk != current.pk:
        raise DomainError(
            _("This manual version has been superseded; read the current one."), code="superseded", status=409
        )
    existing = ManualAcknowledgement.objects.filter(manual=current, enterprise=enterprise).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            acknowledgement = ManualAcknowledgement.objects.create(
                manual=current, enterprise=enterprise, user=user
            )
            audit_record(
                actor=user,
                action="manual.acknowledge",
                target=enterprise,
                data={"manual": current.pk, "scene": enterprise.scene.code, "version": current.version},
            )
    except IntegrityError:  # a colleague acknowledged at the same moment
        return ManualAcknowledgement.objects.get(manual=current, enterprise=enterprise)
    return acknowledgement


@dataclass(frozen=True)
class RateRow:
    scene: str
    scene_name: str
    district: str
    district_name: str
    version: int
    enterprises: int
    acknowledged: int

    @property
    def rate(self) -> float:
        return self.acknowledged / self.enterprises if self.enterprises else 0.0


def acknowledgement_rates(*, enterprises) -> list[RateRow]:
    """Per scene and district: active enterprises, and how many acknowledged their scene's current manual.

    Two grouped queries over the user's enterprises, whatever their number; only scenes with a
    published manual appear.
    """
    current = {m.scene_id: m for m in Manual.objects.filter(status="published").select_related("scene")}
    if not current:
        return []
    base = enterprises.filter(Enterprise.visitable_q(), scene_id__in=current).order_by()
    totals = base.values("scene_id", "district_id").annotate(n=Count("pk"))
    read = ManualAcknowledgement.objects.filter(manual__in=current.values()).values("enterprise_id")
    acknowledged = {
        (row["scene_id"], row["district_id"]): row["n"]
        for row in base.filter(pk__in=read).values("scene_id", "district_id").annotate(n=Count("pk"))
    }
    districts = District.objects.in_bulk([row["district_id"] for row in totals])
    rows = [
        RateRow(
            scene=current[row["scene_id"]].scene.code,
            scene_name=current[row["scene_id"]].scene.display_name,
            district=districts[row["district_id"]].code,
            district_name=districts[row["district_id"]].display_name,
            version=current[row["scene_id"]].version,
            enterprises=row["n"],
            acknowledged=acknowledged.get((row["scene_id"], row["district_id"]), 0),
        )
        for row in totals
    ]
    return sorted(rows, key=lambda r: (r.scene, r.district))
