"""The inspection and its closed loop: every state change of tasks, inspections, orders,
rectifications and evaluations happens here, audited, and refused with a coded error when
the move is illegal.

    task planned -> in progress (inspection started) -> done (inspection submitted) | cancelled
    inspection draft -> submitted (immutable; findings; an order when rectification is due)
    order issued -> submitted (the business answers) -> closed (accepted)
                                                     -> returned (rejected) -> submitted ...
          issued / returned past the deadline: overdue (computed), may be escalated to a case

Writes lock the row they change (SELECT ... FOR UPDATE) so that two tablets, or a retried
request, cannot apply the same transition twice.

One module per step: tasks (planning a visit), record (starting and submitting the on-site
record), answers (what is written into an open record), orders (rectification, verification,
re-inspection, escalation), evaluation, offline (a tablet's photos and its journal of an
inspection done offline, replayed through the same steps). Callers import this package, not its modules
(``from supervision.inspections import services as workflow``).
"""

from supervision.inspections.services._common import (
    MAX_PHOTOS_PER_ANSWER,
    MIN_INSPECTORS,
    NOTE_MAX,
    SEVERITY_ORDER,
    SIGNATURE_MAX_BYTES,
    WorkflowError,
)
from supervision.inspections.services.answers import (
    inspection_answer,
    inspection_record_refusal,
    inspection_sign,
    inspection_update,
)
from supervision.inspections.services.evaluation import evaluation_submit
from supervision.inspections.services.offline import (
    AnswerStep,
    Journal,
    RefusalStep,
    SignatureStep,
    SubmissionStep,
    SyncOutcome,
    inspection_sync,
    tablet_photo_put,
)
from supervision.inspections.services.orders import (
    order_escalate,
    order_reinspect,
    order_verify,
    rectification_submit,
)
from supervision.inspections.services.record import (
    default_deadline,
    inspection_content,
    inspection_items,
    inspection_start,
    inspection_submit,
    task_checklists,
)
from supervision.inspections.services.tasks import task_cancel, task_create

__all__ = [
    "MAX_PHOTOS_PER_ANSWER",
    "MIN_INSPECTORS",
    "NOTE_MAX",
    "SEVERITY_ORDER",
    "SIGNATURE_MAX_BYTES",
    "AnswerStep",
    "Journal",
    "RefusalStep",
    "SignatureStep",
    "SubmissionStep",
    "SyncOutcome",
    "WorkflowError",
    "default_deadline",
    "evaluation_submit",
    "inspection_answer",
    "inspection_content",
    "inspection_items",
    "inspection_record_refusal",
    "inspection_sign",
    "inspection_start",
    "inspection_submit",
    "inspection_sync",
    "inspection_update",
    "order_escalate",
    "order_reinspect",
    "order_verify",
    "rectification_submit",
    "tablet_photo_put",
    "task_cancel",
    "task_checklists",
    "task_create",
]
