"""A submitted self-inspection changed behind the platform's back, and verify_audit naming it
(supervision/self_inspection/integrity.py): the content is recomputed with
services.self_inspection_content, the function the submit hashed it with."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent
from supervision.models import Result, SelfInspection, SelfInspectionAnswer
from supervision.self_inspection import services as service
from supervision.self_inspection.integrity import self_inspections_check
from tests.factories import EnterpriseFactory, MembershipFactory
from tests.factories.audit import rechain

pytestmark = pytest.mark.django_db


def verify(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from None
    return out.getvalue()


def failure() -> str:
    with pytest.raises(CommandError) as error:
        verify()
    return str(error.value)


def test_a_submitted_self_inspection_verifies(submitted):
    assert "records ok: 1 self-inspections" in verify()


def test_an_answer_changed_after_submit_is_named(submitted):
    stored = submitted.content_hash
    SelfInspectionAnswer.objects.filter(self_inspection=submitted, item__code="licence-displayed").update(
        result=Result.COMPLIANT
    )
    assert (
        f"self-inspection {submitted.pk}: answers changed after submit: stored hash {stored[:12]}.., "
        "recomputed "
    ) in failure()


def test_an_answer_changed_under_an_event_from_before_parts_were_kept_says_which_counts(submitted):
    event = AuditEvent.objects.get(action="self_inspection.submit")
    rechain(event.seq, data={k: v for k, v in event.data.items() if k != "parts"}, with_key=True)
    SelfInspectionAnswer.objects.filter(self_inspection=submitted, item__code="licence-displayed").update(
        result=Result.COMPLIANT
    )
    message = failure()
    assert f"self-inspection {submitted.pk}: " in message
    assert (
        "compliant answers (1 then, 2 now), non_compliant answers (1 then, 0 now) changed after submit"
        in message
    )


def test_a_submitter_changed_after_submit_is_named(submitted):
    other = MembershipFactory(enterprise=submitted.enterprise).user
    event = AuditEvent.objects.get(action="self_inspection.submit")
    SelfInspection.objects.filter(pk=submitted.pk).update(submitted_by=other)
    assert (
        f"self-inspection {submitted.pk}: submitted_by changed after submit: stored user {other.pk}, "
        f"event #{event.seq} was by user {event.actor_id}"
    ) in failure()


def test_a_self_inspection_set_back_to_draft_is_named(submitted):
    SelfInspection.objects.filter(pk=submitted.pk).update(status=SelfInspection.Status.DRAFT)
    assert f"self-inspection {submitted.pk}: the audit chain records its submit" in failure()


def test_checking_costs_the_same_queries_for_one_or_many(submitted, checklists, answer_all):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            findings = list(self_inspections_check(chunk_size=500, files=True, tally=Counter()))
        assert findings == []
        return len(captured)

    one = queries()
    for _ in range(2):
        membership = MembershipFactory(enterprise=EnterpriseFactory())
        member = membership.user
        draft, _ = service.self_inspection_start(enterprise=membership.enterprise, user=member)
        answer_all(draft, user=member)
        service.self_inspection_submit(self_inspection=draft, user=member)
    assert queries() == one
