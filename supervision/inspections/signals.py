"""What the inspection loop tells the features that observe it (connected in their apps.py).

Every signal here is sent inside the transaction of the change it reports, so a receiver's writes
commit or roll back with it (supervision.notifications writes its outbox this way: an order issued
and its notifications commit together or not at all).

``inspection_submitted``: an on-site record was submitted (sender Inspection; ``inspection``,
``actor``, ``findings`` = how many findings it made; the order it issued, if any, exists already).
supervision.complaints settles the complaint a complaint-sourced task checked; supervision.
notifications tells the business of the order and the complainant that their report was checked.

``task_assigned``: a task was planned (sender InspectionTask; ``task``, ``actor``), a re-inspection
of an order included (``task.origin_order``). ``task_cancelled``: a task was called off (``task``
with its ``cancel_reason``, ``actor``). ``task_moved``: a planned task's window or team changed
(``task``, ``actor``; planning.joint when it merges tasks into a joint one).

``rectification_submitted``: the business answered an order (sender RectificationOrder; ``order``,
``rectification``, ``actor``). ``rectification_decided``: an inspector accepted it (the order is
closed) or rejected it with the reason (``order``, ``rectification``, ``accepted``, ``actor``).
``order_escalated``: an overdue order became a case (``order``, ``actor``).
"""

from django.dispatch import Signal

inspection_submitted = Signal()
task_assigned = Signal()
task_cancelled = Signal()
task_moved = Signal()
rectification_submitted = Signal()
rectification_decided = Signal()
order_escalated = Signal()
