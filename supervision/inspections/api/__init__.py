"""The inspection loop through the API, enough for a tablet client without the HTML pages:
tasks, the on-site record (autosave, photos, signatures, idempotent submit), orders,
rectifications, verification, re-inspection, escalation, evaluation, documents; and what a tablet
that worked offline sends when it is back (offline: the day pack, photos, the journal).

One router (mounted in config/api.py) over one per section; the schemas are in ``schemas``.
Operation ids and schema names keep the module they were published under
(``config/api.py``: ``published_module_names``).
"""

from ninja import Router

from supervision.inspections.api import offline, orders, record, tasks
from supervision.inspections.api.schemas import TaskOut

router = Router(tags=["inspections"])
# offline first: its /inspections/sync and /inspections/photos/{client_id} would otherwise be taken
# for /inspections/{inspection_id} (ninja's path parameters match any text).
for section in (offline, tasks, record, orders):
    router.add_router("", section.router)

__all__ = ["TaskOut", "router"]
