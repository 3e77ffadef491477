"""The inspection loop's pages: today's tasks, code scanning and the route (tasks), the on-site record
(record), orders (orders). urls.py names the views through this package.

Tablet-first and complete without JavaScript; inspection.js / signature.js add autosave through the
JSON API (supervision/inspections/api/), an offline queue and signature pads; scan.js adds the
camera. Every object is fetched through the feature's permission filters first: what a user may not
see is a 404.
"""

from supervision.inspections.views.orders import (
    order_detail,
    order_escalate,
    order_list,
    order_photo,
    order_rectify,
    order_reinspect,
    order_verify,
)
from supervision.inspections.views.record import inspection_detail, inspection_evaluate, inspection_photo
from supervision.inspections.views.tablet import manifest, service_worker, tablet_app
from supervision.inspections.views.tasks import scan, task_start, today, today_route

__all__ = [
    "inspection_detail",
    "inspection_evaluate",
    "inspection_photo",
    "manifest",
    "order_detail",
    "order_escalate",
    "order_list",
    "order_photo",
    "order_rectify",
    "order_reinspect",
    "order_verify",
    "scan",
    "service_worker",
    "tablet_app",
    "task_start",
    "today",
    "today_route",
]
