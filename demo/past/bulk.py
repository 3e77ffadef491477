"""Bulk writes of the past: with the moments the stories give, and counted."""

from collections.abc import Iterable
from contextlib import contextmanager

from django.db import models

from core.models import Complaint, EnterpriseMembership
from history.models import HistoricalInspection
from supervision.models import (
    CreditEvent,
    Evaluation,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationOrder,
    SelfIdentifiedIssue,
    SelfInspection,
    SelfInspectionAnswer,
    Signature,
)

BATCH = 2_000
STAMPED = (
    InspectionTask,
    Inspection,
    InspectionAnswer,
    Signature,
    RectificationOrder,
    Rectification,
    Evaluation,
    SelfInspection,
    SelfInspectionAnswer,
    SelfIdentifiedIssue,
    Complaint,
    CreditEvent,
    HistoricalInspection,
    EnterpriseMembership,
)


@contextmanager
def dates_as_given(stamped: Iterable[type[models.Model]] = STAMPED):
    """bulk_create keeps the moments the stories give: auto_now and auto_now_add would stamp every
    row with now. Only around seed_demo's own writes (it runs alone); restored on the way out."""
    fields = [
        f
        for model in stamped
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class Bulk:
    """``bulk(Model, rows)`` creates the rows (their primary keys set) and counts them by model."""

    def __init__(self):
        self.counts: dict[str, int] = {}

    def __call__(self, model: type[models.Model], rows: list) -> list:
        model.objects.bulk_create(rows, batch_size=BATCH)
        label = model._meta.label_lower
        self.counts[label] = self.counts.get(label, 0) + len(rows)
        return rows
