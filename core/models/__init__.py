"""The ground floor's models, one module per part: the register, people, the audit chain,
photos, identity codes, complaints, code batches. Django finds an app's models in
``core.models`` and the rest of the project imports them from here. A model's app is ``core``
whichever module it is written in, so its table and migrations do not depend on the module."""

# isort: off
# Django registers models as they are imported, and a new database numbers their content types in
# that order: this is the order they always had (when they were one module).
from core.models.register import (
    BilingualName,
    Department,
    District,
    Enterprise,
    EnterpriseMembership,
    Scene,
)
from core.models.people import ApiToken, Inspector, Regulator
from core.models.audit import AuditChainHead, AuditEvent
from core.models.photos import Photo
from core.models.codes import IdentityCode, ScanEvent
from core.models.complaints import Complaint
from core.models.batches import CodeBatch
from core.models.intake import ComplaintClient, ComplaintFlood
# isort: on

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "BilingualName",
    "CodeBatch",
    "Complaint",
    "ComplaintClient",
    "ComplaintFlood",
    "Department",
    "District",
    "Enterprise",
    "EnterpriseMembership",
    "IdentityCode",
    "Inspector",
    "Photo",
    "Regulator",
    "ScanEvent",
    "Scene",
]
