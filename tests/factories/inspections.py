"""Builders and fixtures for the inspection loop: a team of two Chaoyang inspectors, a task, a
started inspection, and the steps that make it ready to submit.

Test modules load the fixtures with ``pytest_plugins = ["tests.supervision.loop_helpers"]`` and
call the plain builders directly (the e2e test and bench/submit_inspection.py do too).

The content is tests/checklists/helpers.make_checklist's: items mar-1 (minor), mar-2 (major),
mar-3 (critical), ... for market regulation in the catering scene.

PYTEST_DONT_REWRITE: test modules import the builders before pytest loads this module as a
plugin, too late to rewrite it; it holds no asserts, so nothing is lost.
"""

import io
import uuid
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from core.models import Enterprise, Inspector
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionTask, RectificationOrder, Result, Signature
from tests.checklists.helpers import make_checklist
from tests.factories import InspectorFactory, UserFactory

# --- bytes ------------------------------------------------------------------------------------------


def png_bytes(size=(60, 24), color="black") -> bytes:
    """A tiny drawing, the size of a signature pad stroke."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(40, 30), color="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg(name="photo.jpg", color="red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(color=color), content_type="image/jpeg")


def fake_jpeg(name="photo.jpg") -> SimpleUploadedFile:
    """Named and typed like a photo; the content is not one."""
    return SimpleUploadedFile(name, b"this is not an image at all", content_type="image/jpeg")


# --- builders ---------------------------------------------------------------------------------------


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


# --- fixtures ---------------------------------------------------------------------------------------
# Names differ from tests/supervision/conftest.py's (draft, submitted, checklists): a conftest
# fixture would shadow a plugin's of the same name.

# The default findings of the submitted fixtures: one major and one minor item not compliant,
# so the order is due in RECTIFY_DAYS["major"] days.
FAILING = {"mar-1": Result.NON_COMPLIANT, "mar-2": Result.NON_COMPLIANT}


@pytest.fixture
def loop_checklist(db):
    """Catering / market regulation v1 with three items (minor, major, critical)."""
    return make_checklist("catering", "market_regulation", items=3)


@pytest.fixture
def team(db) -> list[Inspector]:
    return make_team()


@pytest.fixture
def task(enterprise, team, regulator_user, loop_checklist) -> InspectionTask:
    return make_task(enterprise=enterprise, team=team, actor=regulator_user)


@pytest.fixture
def lead(team):
    """The user of the first inspector of the team: the one holding the tablet."""
    return team[0].user


@pytest.fixture
def inspection(task, lead) -> Inspection:
    """Started, nothing answered."""
    return workflow.inspection_start(task=task, actor=lead)


@pytest.fixture
def ready(inspection, lead, team) -> Inspection:
    """Answered (mar-1 and mar-2 not compliant) and signed by all, not yet submitted."""
    return make_ready(inspection, lead, team, FAILING)


@pytest.fixture
def submitted_inspection(ready, lead) -> Inspection:
    """Submitted with conclusion rectify: two findings, one order."""
    return submit(ready, lead, Inspection.Conclusion.RECTIFY)


@pytest.fixture
def order(submitted_inspection) -> RectificationOrder:
    return RectificationOrder.objects.get(inspection=submitted_inspection)


def rectify(order: RectificationOrder, actor, **extra):
    """The business answers every finding of the order with a text (and any ``extra`` entry fields)."""
    entries = {
        finding.pk: {"text": f"fixed {finding.item.code}", **extra} for finding in order.findings.all()
    }
    return workflow.rectification_submit(order=order, actor=actor, note="all done", entries=entries)
