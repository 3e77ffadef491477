"""The one JSON API (core.api_root.api, mounted at /api/v1/) with every package's router on it.

Mounted here, at the top, so that core, which defines the API's authentication and error format,
imports no feature: each package keeps its router in its own api.py.
"""

from checklists.api import router as checklists_router
from core.api import router as core_router
from core.api_root import api
from core.audit_api import router as audit_router
from history.api import router as history_router
from planning.api import router as planning_router
from supervision.complaints.api import router as complaints_router
from supervision.inspections.api import router as inspections_router
from supervision.landing.api import router as landing_router
from supervision.notifications.api import router as notifications_router
from supervision.publication.api import router as publication_router
from supervision.risk.api import router as risk_router
from supervision.self_inspection.api import router as self_inspection_router

for router in (
    core_router,
    audit_router,
    landing_router,
    checklists_router,
    self_inspection_router,
    inspections_router,
    risk_router,
    planning_router,
    complaints_router,
    notifications_router,
    publication_router,
    history_router,
):
    api.add_router("/", router)

# The modules the routers were published from before the packages moved (docs/ARCHITECTURE.md):
# operation ids and module-qualified schema names keep those names.
api.published_module_names.update(
    {
        "supervision.landing.api": "core.api",
        "supervision.self_inspection.api": "supervision.api",
        "supervision.inspections.api": "supervision.api_loop",
        "supervision.risk.api": "supervision.api_scoring",
        "supervision.complaints.api": "supervision.api_complaints",
        "supervision.publication.api": "supervision.api_publication",
    }
)

__all__ = ["api"]
