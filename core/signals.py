"""Signals of the ground floor, for features to observe without being imported from below.

``enterprise_changed``: a fact the risk score reads changed for one enterprise (an inspection
submitted, an order moved, a complaint received or triaged, a credit event). Sent inside the
transaction that made the change, with ``enterprise_id``; supervision.risk rescores that
enterprise once the transaction commits, so a scoring failure never undoes the change.

``enterprises_registered``: enterprises were added to the register in bulk (the enterprise
importer, the LIVES import), with ``usccs``, sent inside the transaction that created them (one
enterprise saved on its own sends Django's ``post_save``). history matches the signals that named
them before they existed (history.sources.matching).
"""

from django.dispatch import Signal

enterprise_changed = Signal()
enterprises_registered = Signal()
