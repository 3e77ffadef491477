"""What every step of the inspection loop shares: its limits, its error, and the checks of
uploaded photos (the on-site answers' and the business's rectification evidence)."""

from collections.abc import Sequence

from django.utils.translation import gettext as _

from checklists.models import Severity
from core.errors import DomainError
from core.photos import validate_photo_upload

MIN_INSPECTORS = 2
MAX_PHOTOS_PER_ANSWER = 5
NOTE_MAX = 2000
SIGNATURE_MAX_BYTES = 512 * 1024
SEVERITY_ORDER = [Severity.CRITICAL, Severity.MAJOR, Severity.MINOR]


class WorkflowError(DomainError):
    """An illegal move. ``code`` says which rule refused it."""


def _refuse(message: str, code: str, status: int = 409, details=None) -> WorkflowError:
    return WorkflowError(message, code=code, status=status, details=details)


def _forbidden() -> WorkflowError:
    return _refuse(_("You may not do this."), "forbidden", 403)


def _check_photos(uploads: Sequence, already: int = 0) -> None:
    if already + len(uploads) > MAX_PHOTOS_PER_ANSWER:
        raise _refuse(
            _("At most %(n)d photos per item.") % {"n": MAX_PHOTOS_PER_ANSWER}, "too_many_photos", 422
        )
    for upload in uploads:
        validate_photo_upload(upload)
