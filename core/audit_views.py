"""``/audit/checkpoints/``: the public list of the audit chain's checkpoints (core/checkpoints.py).

No login: the checkpoints are published so that people outside the platform have seen them; a
chain later rewritten or cut short disagrees with a copy someone kept. A checkpoint shows event
numbers, hashes and times, nothing about any record or person.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.checkpoints import CheckpointListing
from core.pages import paginate

PAGE_SIZE = 50


def _groups(digest: str) -> str:
    # Groups of eight: the line can wrap on a phone (no inline styles under CSP).
    return " ".join(digest[i : i + 8] for i in range(0, len(digest), 8))


@require_GET
def checkpoint_list(request):
    page = paginate(request, CheckpointListing(), page_size=PAGE_SIZE)
    rows = [{"checkpoint": c, "head": _groups(c.head), "signature": _groups(c.signature)} for c in page.items]
    context = {"page": page, "rows": rows, "every": settings.AUDIT_CHECKPOINT_EVERY}
    return render(request, "core/audit_checkpoints.html", context)
