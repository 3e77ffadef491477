"""What the complaint desk tells the features that observe it (connected in their apps.py).

Sent inside the transaction of the change they report, so a receiver's writes commit or roll back
with it (supervision.notifications tells the complainant this way).

``complaint_received``: a report from the public card was received (sender Complaint;
``complaint``). Sent by supervision.complaints.intake in the request that received it, so the
active language is the reporter's.

``complaint_triaged``: a new complaint was triaged (sender Complaint; ``complaint``, ``actor``,
``status``: dismissed, duplicate or tasked).

``complaint_flood_suspected``: reports about one enterprise reached COMPLAINT_FLOOD_PER_DAY in 24
hours and a possible flood was flagged for its regulators (sender ComplaintFlood; ``flood``, with
``enterprise``, ``received`` and ``clients``). Sent once per enterprise and day, by
supervision.complaints.floods in the request of the report that reached the threshold.
"""

from django.dispatch import Signal

complaint_received = Signal()
complaint_triaged = Signal()
complaint_flood_suspected = Signal()
