"""What every step of the inspection loop shares: its limits, its error, the checks of uploaded
photos (the on-site answers' and the business's rectification evidence), and the record's lock."""

from collections.abc import Callable, Sequence

from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from checklists.models import Severity
from core import permissions
from core.errors import DomainError
from core.models import Inspector
from core.photos import validate_photo_upload
from supervision.models import Inspection, InspectionTask

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


# The caller's permission filter, unbuilt: building it reads the caller's roles and districts, and a
# write by one of the task's inspectors needs none (_lock_record).
VisibleRecords = Callable[[], QuerySet[Inspection]]


def _not_assigned() -> WorkflowError:
    return _refuse(_("Only the inspectors assigned to this task may do this."), "not_assigned", 403)


def _assigned_inspector(actor, task: InspectionTask) -> Inspector:
    """The actor's inspector, if they are one of the task's; else not_assigned (403)."""
    inspector = permissions.roles_of(actor).inspector
    if inspector is None or not task.inspectors.filter(pk=inspector.pk).exists():
        raise _not_assigned()
    return inspector


def _lock_record(
    inspection: Inspection,
    actor,
    visible: VisibleRecords | None = None,
) -> Inspection:
    """The record and its task locked for a change by one of the task's inspectors, in one
    statement that also checks the assignment; anyone else is refused: "not found" (404) if the
    record is outside what ``visible()`` builds (the caller's permission filter), else not_assigned
    (403).

    The task's inspectors always see its record (permissions.inspections_visible_to), so the filter
    is built and asked only for the others: building it cost a tablet's signature a quarter of its
    Python work.

    FOR UPDATE OF the record and the task only: the joined enterprise and scene are read, not
    changed, and locking them would queue every record of a scene behind one row."""
    inspector = permissions.roles_of(actor).inspector
    if inspector is not None:
        assigned = InspectionTask.inspectors.through.objects.filter(
            inspectiontask_id=OuterRef("task_id"), inspector_id=inspector.pk
        )
        locked = (
            Inspection.objects.select_for_update(of=("self", "task"))
            .select_related("enterprise__scene", "task")
            .filter(Exists(assigned), pk=inspection.pk)
            .first()
        )
        if locked is not None:
            return locked
    get_object_or_404(Inspection.objects if visible is None else visible(), pk=inspection.pk)
    raise _not_assigned()
