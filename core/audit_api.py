"""``GET /api/v1/audit/checkpoints``: the audit chain's checkpoints, for anyone (core/checkpoints.py).

The same list as the page /audit/checkpoints/, newest first, so that outside parties can fetch
and keep them: a chain later rewritten or cut short disagrees with a copy kept elsewhere.
"""

from datetime import datetime

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from core.checkpoints import CheckpointListing
from core.pagination import NoCountPagination

router = Router(tags=["audit"])


class CheckpointOut(Schema):
    seq: int = Field(..., description="The audit event the checkpoint anchors (the chain's head then)")
    head: str = Field(..., description="That event's hash (HMAC-SHA256), hex")
    at: datetime = Field(..., description="When the checkpoint was written")
    legacy_seq: int = Field(..., description="Events up to this one were written before the chain was keyed")
    key_id: str = Field(..., description="The id of the key the checkpoint is signed with")
    signature: str = Field(..., description="HMAC-SHA256 of the fields above, hex")


@router.get("/audit/checkpoints", auth=None, response=list[CheckpointOut], url_name="audit_checkpoints")
@paginate(NoCountPagination)
def audit_checkpoints(request):
    """The checkpoints of the audit chain, newest first; no sign-in needed."""
    return CheckpointListing()
