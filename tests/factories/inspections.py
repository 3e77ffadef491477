"""Builders for the inspection loop: a team of Chaoyang inspectors, a task, and the steps that make
an inspection ready to submit (the fixtures built on them are in tests/conftest.py; the e2e test
and bench/submit_inspection.py call the builders directly).

The content is tests/factories/checklists.make_checklist's: items mar-1 (minor), mar-2 (major),
mar-3 (critical), ... for market regulation in the catering scene.
"""

import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from core.errors import DomainError
from core.models import AuditEvent, Enterprise, Inspector, Photo
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
    Result,
    Signature,
)
from tests.factories.core import InspectorFactory, UserFactory
from tests.factories.images import png_bytes

# The default findings of the submitted fixtures: one major and one minor item not compliant,
# so the order is due in RECTIFY_DAYS["major"] days.
FAILING = {"mar-1": Result.NON_COMPLIANT, "mar-2": Result.NON_COMPLIANT}


def make_team(n: int = 2, districts: Sequence[str] = ("110105",), prefix: str = "team") -> list[Inspector]:
    """``n`` market-regulation inspectors working in ``districts`` (Chaoyang by default)."""
    return [
        InspectorFactory(
            user=UserFactory(username=f"{prefix}{uuid.uuid4().hex[:8]}", first_name=f"Inspector {i + 1}"),
            districts=list(districts),
        )
        for i in range(n)
    ]


def make_task(
    *,
    enterprise: Enterprise,
    team: Sequence[Inspector],
    actor,
    due_from: date | None = None,
    due_to: date | None = None,
    **kwargs,
) -> InspectionTask:
    today = timezone.localdate()
    return workflow.task_create(
        actor=actor,
        enterprise=enterprise,
        inspectors=team,
        due_from=due_from or today,
        due_to=due_to or today + timedelta(days=7),
        **kwargs,
    )


def items_of(inspection: Inspection) -> dict:
    """The inspection's applicable items by code."""
    return {item.code: item for item in workflow.inspection_items(inspection)}


def answer_all(inspection: Inspection, actor, results: dict[str, str] | None = None) -> None:
    """Answer every applicable item compliant, except the codes ``results`` names."""
    results = results or {}
    for item in workflow.inspection_items(inspection):
        workflow.inspection_answer(
            inspection=inspection,
            actor=actor,
            item_id=item.pk,
            result=results.get(item.code, Result.COMPLIANT),
            note=f"seen: {item.code}",
        )


def sign_all(
    inspection: Inspection, actor, team: Sequence[Inspector], *, representative: bool = True
) -> None:
    """Both inspectors sign; the representative signs, or (``representative=False``) refuses."""
    for inspector in team:
        workflow.inspection_sign(
            inspection=inspection,
            actor=actor,
            role=Signature.Role.INSPECTOR,
            image=png_bytes(),
            inspector=inspector,
        )
    if representative:
        workflow.inspection_sign(
            inspection=inspection,
            actor=actor,
            role=Signature.Role.REPRESENTATIVE,
            image=png_bytes(color="blue"),
        )
    else:
        workflow.inspection_record_refusal(inspection=inspection, actor=actor, note="declined to sign")


def make_ready(
    inspection: Inspection, actor, team: Sequence[Inspector], results: dict[str, str] | None = None
):
    """Answered and signed: everything a submit needs."""
    answer_all(inspection, actor, results)
    sign_all(inspection, actor, team)
    return inspection


def submit(inspection: Inspection, actor, conclusion: str | None = None, submission_id=None, **kwargs):
    """Submit with a fresh submission id; the conclusion follows the findings unless given."""
    if conclusion is None:
        failing = inspection.answers.filter(result=Result.NON_COMPLIANT).exists()
        conclusion = Inspection.Conclusion.RECTIFY if failing else Inspection.Conclusion.PASS
    return workflow.inspection_submit(
        inspection=inspection,
        actor=actor,
        submission_id=submission_id or uuid.uuid4(),
        conclusion=conclusion,
        **kwargs,
    )


def rectify(order: RectificationOrder, actor, **extra):
    """The business answers every finding of the order with a text (and any ``extra`` entry fields)."""
    entries = {
        finding.pk: {"text": f"fixed {finding.item.code}", **extra} for finding in order.findings.all()
    }
    return workflow.rectification_submit(order=order, actor=actor, note="all done", entries=entries)


# --- checking refusals: a refused call leaves no row and no file behind --------------------------------

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


def loop_state() -> dict:
    """Every row of the loop's tables, and every stored file: small enough to compare whole."""
    rows = {model._meta.label: list(model.objects.order_by("pk").values()) for model in LOOP_MODELS}
    media = Path(settings.MEDIA_ROOT)
    rows["files"] = sorted(str(p) for p in media.rglob("*") if p.is_file()) if media.exists() else []
    return rows


@contextmanager
def refused(code: str, status: int | None = None):
    """The call inside is refused with ``code`` (and ``status``) and leaves no trace."""
    before = loop_state()
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code == code, excinfo.value.message
    if status is not None:
        assert excinfo.value.status == status
    assert loop_state() == before


def events(action: str, target=None):
    qs = AuditEvent.objects.filter(action=action)
    if target is not None:
        qs = qs.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
    return qs


# --- inspection_start ---------------------------------------------------------------------------------
