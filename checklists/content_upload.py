"""A regulator uploads content (YAML, or CSV for one checklist) as new draft versions.

The file is imported inside a transaction and rolled back unless the uploader may edit every
version it created: a file naming another department's checklist changes nothing.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from checklists.content_io import ImportResult, checklist_import_csv, content_import
from core import permissions
from core.errors import DomainError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _read_upload(upload) -> bytes:
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is larger than 2 MB."), code="too_large", status=422)
    return data


def _check_rights(user, result: ImportResult) -> None:
    if result.manual is not None and not permissions.can_edit_manual(user, result.manual):
        raise DomainError(_("You may not edit this scene's manual."), code="forbidden", status=403)
    for checklist in result.checklists:
        if not permissions.can_edit_checklist(user, checklist):
            raise DomainError(
                _("You may not edit the checklist of %(department)s.") % {"department": checklist.department},
                code="forbidden",
                status=403,
            )


@transaction.atomic
def content_upload(*, user, upload) -> ImportResult:
    if not permissions.can_see_draft_content(user):
        raise DomainError(_("Only regulators edit content."), code="forbidden", status=403)
    # Bytes, never a path: the importer reads files from disk only when handed a Path.
    result = content_import(path_or_text=_read_upload(upload), name=upload.name, actor=user)
    _check_rights(user, result)
    return result


@transaction.atomic
def checklist_upload_csv(*, user, upload, scene: str, department: str, title: str, title_en: str = ""):
    if not permissions.can_see_draft_content(user):
        raise DomainError(_("Only regulators edit content."), code="forbidden", status=403)
    checklist = checklist_import_csv(
        path_or_text=_read_upload(upload),
        name=upload.name,
        scene=scene,
        department=department,
        title=title,
        title_en=title_en,
        actor=user,
    )
    if not permissions.can_edit_checklist(user, checklist):
        raise DomainError(
            _("You may not edit the checklist of %(department)s.") % {"department": checklist.department},
            code="forbidden",
            status=403,
        )
    return checklist
