"""What the inspection loop tells the features that observe it (connected in their apps.py).

``inspection_submitted``: an on-site record was submitted (sender Inspection; ``inspection``,
``actor``, ``findings`` = how many findings it made). Sent inside the submit's transaction, so a
receiver's writes commit or roll back with the record. supervision.complaints settles the
complaint a complaint-sourced task checked.
"""

from django.dispatch import Signal

inspection_submitted = Signal()
