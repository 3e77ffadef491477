"""Reads: plain functions that start from what the user may see (core.permissions)."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from core import uscc as uscc_rules
from core.errors import DomainError, NotFound
from core.models import District, Enterprise, Scene
from core.permissions import enterprises_visible_to


def enterprise_list(
    *,
    user,
    district: str | None = None,
    scene: str | None = None,
    q: str | None = None,
    licence_status: str | None = None,
) -> QuerySet[Enterprise]:
    """Enterprises the user may see, filtered. Unknown filter values are an error, not an empty list,
    so that a typo in a district code is never mistaken for "no enterprises there"."""
    qs = enterprises_visible_to(user).select_related("district", "scene")
    if district:
        node = District.objects.filter(code=district.strip()).first()
        if node is None:
            raise DomainError(
                _("Unknown district code %(code)s.") % {"code": district}, code="unknown_district"
            )
        qs = qs.filter(district__in=node.subtree())
    if scene:
        scene_obj = Scene.objects.filter(code=scene.strip()).first()
        if scene_obj is None:
            raise DomainError(_("Unknown scene %(code)s.") % {"code": scene}, code="unknown_scene")
        qs = qs.filter(scene=scene_obj)
    if licence_status:
        if licence_status not in Enterprise.LicenceStatus.values:
            raise DomainError(
                _("Unknown licence status %(status)s.") % {"status": licence_status},
                code="unknown_licence_status",
            )
        qs = qs.filter(licence_status=licence_status)
    if q and q.strip():
        term = q.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(uscc__startswith=term.upper()))
    return qs.order_by("uscc")


def enterprise_get(*, user, uscc: str) -> Enterprise:
    """One enterprise by code. Invisible and non-existent look the same (404), so codes cannot be probed."""
    try:
        code = uscc_rules.check(uscc)
    except uscc_rules.USCCError as exc:
        raise DomainError(
            _("Invalid unified social credit code: %(reason)s") % {"reason": exc.message},
            code="invalid_uscc",
            details={"rule": exc.code},
            status=422,
        ) from None
    enterprise = enterprise_list(user=user).filter(uscc=code).first()
    if enterprise is None:
        raise NotFound(_("No such enterprise."), code="not_found")
    return enterprise
