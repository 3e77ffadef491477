"""The business's rating of an inspection (supervision/inspections/services/evaluation.py)."""

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from core.errors import DomainError
from core.models import AuditEvent, Photo
from supervision.inspections import services as workflow
from supervision.models import (
    Evaluation,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationEntry,
    RectificationOrder,
    Signature,
)

pytestmark = pytest.mark.django_db

LOOP_MODELS = [
    InspectionTask,
    InspectionTask.inspectors.through,
    Inspection,
    InspectionAnswer,
    InspectionAnswer.photos.through,
    Signature,
    Finding,
    RectificationOrder,
    Rectification,
    RectificationEntry,
    RectificationEntry.photos.through,
    Evaluation,
    Photo,
    AuditEvent,
]


def _state() -> dict:
    """Every row of the loop's tables, and every stored file: small enough to compare whole."""
    rows = {model._meta.label: list(model.objects.order_by("pk").values()) for model in LOOP_MODELS}
    media = Path(settings.MEDIA_ROOT)
    rows["files"] = sorted(str(p) for p in media.rglob("*") if p.is_file()) if media.exists() else []
    return rows


@contextmanager
def refused(code: str, status: int | None = None):
    """The call inside is refused with ``code`` (and ``status``) and leaves no trace."""
    before = _state()
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code == code, excinfo.value.message
    if status is not None:
        assert excinfo.value.status == status
    assert _state() == before


def events(action: str, target=None):
    qs = AuditEvent.objects.filter(action=action)
    if target is not None:
        qs = qs.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
    return qs


def test_the_business_rates_the_inspection_once(submitted_inspection, business_user):
    evaluation = workflow.evaluation_submit(
        inspection=submitted_inspection, actor=business_user, rating=4, comment=" polite "
    )

    assert (evaluation.rating, evaluation.comment, evaluation.created_by) == (4, "polite", business_user)
    assert events("inspection.evaluate", submitted_inspection).get().data == {"rating": 4}
    with refused("already_rated", 409):
        workflow.evaluation_submit(inspection=submitted_inspection, actor=business_user, rating=1)


@pytest.mark.parametrize("who", ["other_member", "lead", "regulator_user", "admin_user"])
def test_only_the_inspected_business_rates(request, submitted_inspection, who):
    with refused("not_member", 403):
        workflow.evaluation_submit(
            inspection=submitted_inspection, actor=request.getfixturevalue(who), rating=5
        )


def test_a_draft_cannot_be_rated(inspection, business_user):
    with refused("not_submitted", 409):
        workflow.evaluation_submit(inspection=inspection, actor=business_user, rating=5)


@pytest.mark.parametrize("rating", [0, 6, -1, "5", 4.5, None])
def test_ratings_run_from_one_to_five(submitted_inspection, business_user, rating):
    with refused("invalid_rating", 422):
        workflow.evaluation_submit(inspection=submitted_inspection, actor=business_user, rating=rating)


def test_an_evaluation_comment_has_a_limit(submitted_inspection, business_user):
    with refused("note_too_long", 422):
        workflow.evaluation_submit(
            inspection=submitted_inspection, actor=business_user, rating=3, comment="x" * 1001
        )
