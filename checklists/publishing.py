"""Drafts, publication and supersession of manual and checklist versions.

Publishing is the one transition that makes content binding: it is refused for an
empty version, audited, and supersedes the version it replaces in the same
transaction (the partial unique constraints keep one published version per owner).
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from checklists.models import Checklist, Manual, VersionStatus
from core.audit import audit_record
from core.errors import DomainError


def next_version(model, **owner) -> int:
    return (model.objects.filter(**owner).aggregate(top=Max("version"))["top"] or 0) + 1


def _publish(version, *, actor, owner: dict, empty: bool, action: str):
    model = type(version)
    version = model.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        raise DomainError(_("Only a draft can be published."), code="not_draft", status=409)
    if empty:
        raise DomainError(_("An empty version cannot be published."), code="empty_version", status=422)
    previous = list(model.objects.select_for_update().filter(status=VersionStatus.PUBLISHED, **owner))
    for old in previous:
        old.status = VersionStatus.SUPERSEDED
        old.save(update_fields=["status"])
    version.status, version.published_at, version.published_by = (
        VersionStatus.PUBLISHED,
        timezone.now(),
        actor,
    )
    version.save(update_fields=["status", "published_at", "published_by"])
    audit_record(
        actor=actor,
        action=action,
        target=version,
        data={"version": version.version, "superseded": [old.version for old in previous], **_labels(owner)},
    )
    return version


def _labels(owner: dict) -> dict:
    return {key: value.code for key, value in owner.items()}


@transaction.atomic
def manual_publish(*, manual: Manual, actor) -> Manual:
    empty = not manual.clauses.exists()
    return _publish(manual, actor=actor, owner={"scene": manual.scene}, empty=empty, action="manual.publish")


@transaction.atomic
def checklist_publish(*, checklist: Checklist, actor) -> Checklist:
    empty = not checklist.items.exists()
    owner = {"scene": checklist.scene, "department": checklist.department}
    return _publish(checklist, actor=actor, owner=owner, empty=empty, action="checklist.publish")
