"""The inspection loop through the API, enough for a tablet client without the HTML pages:
tasks, the on-site record (autosave, photos, signatures, idempotent submit), orders,
rectifications, verification, re-inspection, escalation, evaluation, documents.

One router (mounted in config/api.py) over one per section; the schemas are in ``schemas``.
Operation ids and schema names keep the module they were published under
(``config/api.py``: ``published_module_names``).
"""

from ninja import Router

from supervision.inspections.api import orders, record, tasks
from supervision.inspections.api.schemas import TaskOut

router = Router(tags=["inspections"])
for section in (tasks, record, orders):
    router.add_router("", section.router)

__all__ = ["TaskOut", "router"]
