"""Records changed behind the platform's back after they were submitted, and who catches it:
verify_audit recomputes every inspection, order, rectification and document with the functions
their services hashed them with (supervision/inspections/integrity.py, documents.documents_check)
and names what and where; /v/<public_id> checks the record behind a document the same way.

Each tampering is a plain UPDATE, as anyone who can write to the database could send it."""

import hashlib
import io
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.audit import content_digest, part_digests
from core.models import AuditEvent
from supervision.inspections import integrity
from supervision.inspections import services as workflow
from supervision.inspections.documents import document_for, document_verify
from supervision.models import (
    Document,
    Inspection,
    InspectionAnswer,
    Rectification,
    RectificationEntry,
    RectificationOrder,
    Result,
)
from tests.factories import FAILING, EnterpriseFactory, make_ready, make_task, rectify, submit
from tests.factories.audit import rechain
from tests.factories.inspections import events

pytestmark = pytest.mark.django_db


def verify(*args) -> str:
    """verify_audit's output; CommandError carrying its report if anything does not hold."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from None
    return out.getvalue()


def failure(*args) -> str:
    with pytest.raises(CommandError) as error:
        verify(*args)
    return str(error.value)


@pytest.fixture
def rectified(order, business_user):
    rectify(order, business_user)
    order.refresh_from_db()
    return order


@pytest.fixture
def record(submitted_inspection):
    return document_for(inspection=submitted_inspection, kind=Document.Kind.INSPECTION_RECORD)


def page(public_id) -> str:
    return Client(headers={"Accept-Language": "en"}).get(f"/v/{public_id}").content.decode()


# --- what holds --------------------------------------------------------------------------------------


def test_the_whole_loop_verifies(rectified, lead, business_user, record):
    returned = workflow.order_verify(order=rectified, actor=lead, accepted=False, note="the sink still leaks")
    rectify(returned, business_user)
    workflow.order_verify(order=rectified, actor=lead, accepted=True)
    out = verify()
    assert out.startswith("audit chain ok")
    assert "records ok: 1 inspections, 1 orders, 2 rectifications, 1 documents" in out
    assert document_verify(public_id=record.public_id).valid


def test_checking_costs_the_same_queries_for_one_record_or_many(submitted_inspection, regulator_user, team):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            list(integrity.inspections_check(chunk_size=500, files=True, tally=Counter()))
            list(integrity.orders_check(chunk_size=500, files=True, tally=Counter()))
        return len(captured)

    one = queries()
    for _ in range(3):
        task = make_task(enterprise=EnterpriseFactory(), team=team, actor=regulator_user)
        inspection = workflow.inspection_start(task=task, actor=team[0].user)
        submit(make_ready(inspection, team[0].user, team, FAILING), team[0].user)
    assert queries() == one


# --- inspections ------------------------------------------------------------------------------------------


def test_an_answer_changed_after_submit_is_named(submitted_inspection):
    stored = submitted_inspection.content_hash
    InspectionAnswer.objects.filter(inspection=submitted_inspection, item__code="mar-1").update(
        result=Result.COMPLIANT
    )
    message = failure()
    assert (
        f"inspection {submitted_inspection.pk}: answers changed after submit: stored hash {stored[:12]}.., "
        in (message)
    )
    assert "records do not hold" in message


def test_an_answer_and_its_stored_hash_changed_together_are_caught_by_the_submit_event(submitted_inspection):
    recorded = submitted_inspection.content_hash
    InspectionAnswer.objects.filter(inspection=submitted_inspection, item__code="mar-1").update(
        note="nothing to see"
    )
    forged = content_digest(workflow.inspection_content(Inspection.objects.get(pk=submitted_inspection.pk)))
    Inspection.objects.filter(pk=submitted_inspection.pk).update(content_hash=forged)
    submit_event = events("inspection.submit", submitted_inspection).get()
    assert (
        f"inspection {submitted_inspection.pk}: answers changed after submit, and its stored hash with it: "
        f"event #{submit_event.seq} recorded {recorded[:12]}.., stored and recomputed {forged[:12]}.."
    ) in failure()


def test_the_note_changed_after_submit_is_named(submitted_inspection):
    Inspection.objects.filter(pk=submitted_inspection.pk).update(note="all fine")
    assert f"inspection {submitted_inspection.pk}: the inspector's note changed after submit" in failure()


def test_a_submitter_changed_after_submit_is_named(submitted_inspection, team):
    other = next(
        inspector.user for inspector in team if inspector.user_id != submitted_inspection.submitted_by_id
    )
    submit_event = events("inspection.submit", submitted_inspection).get()
    Inspection.objects.filter(pk=submitted_inspection.pk).update(submitted_by=other)
    assert (
        f"inspection {submitted_inspection.pk}: submitted_by changed after submit: stored user {other.pk}, "
        f"event #{submit_event.seq} was by user {submit_event.actor_id}"
    ) in failure()


def test_the_verification_page_says_the_record_behind_a_document_changed(record, submitted_inspection):
    assert "Valid: this document was issued by the platform and is unchanged." in page(record.public_id)
    InspectionAnswer.objects.filter(inspection=submitted_inspection, item__code="mar-2").update(
        result=Result.COMPLIANT
    )
    content = page(record.public_id)
    assert "Warning: this document could not be verified." in content
    assert "the inspection behind this document was changed after it was submitted." in content
    verification = document_verify(public_id=record.public_id)
    assert (verification.file_ok, verification.audit_ok) == (True, True)
    assert (verification.record_ok, verification.record_problem) == (False, "changed")


def test_the_verification_page_says_the_submit_event_was_edited(record, submitted_inspection):
    submit_event = events("inspection.submit", submitted_inspection).get()
    rechain(submit_event.seq, data={**submit_event.data, "findings": 0})
    content = page(record.public_id)
    assert "Warning: this document could not be verified." in content
    assert "the submit record of the inspection behind this document was edited" in content


def test_a_deadline_typed_in_local_time_verifies(ready, lead):
    local = timezone.make_aware(
        datetime.combine(timezone.localdate() + timedelta(days=20), datetime.min.time())
    )
    submit(ready, lead, Inspection.Conclusion.RECTIFY, rectify_deadline=local.replace(tzinfo=None))
    assert "records ok: 1 inspections, 1 orders" in verify()


def test_a_record_hashed_before_deadlines_were_hashed_in_utc_still_verifies(submitted_inspection):
    """Records submitted by the earlier code hashed a deadline as it was given (local time); their
    stored and recorded hash are recomputed that way too."""
    inspection = Inspection.objects.get(pk=submitted_inspection.pk)
    content = workflow.inspection_content(inspection)
    content["rectify_deadline"] = timezone.localtime(inspection.rectify_deadline).isoformat()
    legacy = content_digest(content)
    Inspection.objects.filter(pk=inspection.pk).update(content_hash=legacy)
    submit_event = events("inspection.submit", inspection).get()
    data = {**submit_event.data, "content_hash": legacy, "parts": part_digests(content)}
    rechain(submit_event.seq, data=data, with_key=True)  # as the earlier code wrote it
    assert "records ok: 1 inspections" in verify()


def test_a_submitted_record_without_its_event_is_a_warning_and_fails_strict(ready, lead):
    # Inserted behind the platform's back (or loaded in bulk, like the demo's past): a hash that
    # matches its content, and no event in the chain.
    inspection = Inspection.objects.get(pk=ready.pk)
    Inspection.objects.filter(pk=inspection.pk).update(
        status=Inspection.Status.SUBMITTED,
        conclusion=Inspection.Conclusion.REFER,
        submitted_by=lead,
        submitted_at=timezone.now(),
    )
    inspection.refresh_from_db()
    Inspection.objects.filter(pk=inspection.pk).update(
        content_hash=content_digest(workflow.inspection_content(inspection))
    )
    out = verify()
    assert "warning: 1 submitted records have no event in the audit chain" in out
    assert f"inspection {inspection.pk}: submitted, but no inspection.submit event in the audit chain" in out
    assert f"inspection {inspection.pk}: submitted, but no inspection.submit event" in failure("--strict")


def test_a_submitted_record_set_back_to_draft_is_named(submitted_inspection):
    Inspection.objects.filter(pk=submitted_inspection.pk).update(status=Inspection.Status.DRAFT)
    submit_event = events("inspection.submit", submitted_inspection).get()
    assert (
        f"inspection {submitted_inspection.pk}: the audit chain records its submit "
        f"(event #{submit_event.seq}), but it is no longer a submitted record"
    ) in failure()


# --- orders and rectifications ------------------------------------------------------------------------


def test_a_rectification_edited_after_submit_is_named(rectified):
    rectification = Rectification.objects.get(order=rectified)
    RectificationEntry.objects.filter(rectification=rectification).update(text="replaced everything")
    event = events("order.rectification_submit", rectified).get()
    assert (
        f"rectification {rectification.pk} (order {rectified.number}): entries (what was done, photos) "
        f"changed after submit: event #{event.seq} recorded {event.data['content_hash'][:12]}.., recomputed "
    ) in failure()


def test_a_rectification_accepted_behind_the_chain_is_named(rectified):
    rectification = Rectification.objects.get(order=rectified)
    Rectification.objects.filter(pk=rectification.pk).update(status=Rectification.Status.ACCEPTED)
    RectificationOrder.objects.filter(pk=rectified.pk).update(status=RectificationOrder.Status.CLOSED)
    message = failure()
    assert (
        f"rectification {rectification.pk} (order {rectified.number}): marked accepted, "
        "but no order.verify event reviewed it"
    ) in message
    assert (
        f"order {rectified.pk} ({rectified.number}): status changed after its last event: stored closed, "
        "the audit chain says submitted"
    ) in message


def test_a_review_rewritten_after_the_fact_is_named(rectified, lead):
    workflow.order_verify(order=rectified, actor=lead, accepted=False, note="the sink still leaks")
    rectification = Rectification.objects.get(order=rectified)
    Rectification.objects.filter(pk=rectification.pk).update(
        status=Rectification.Status.ACCEPTED, review_note=""
    )
    assert (
        f"rectification {rectification.pk} (order {rectified.number}): changed after review "
    ) in failure()


def test_an_order_deadline_moved_after_issue_is_named(order):
    RectificationOrder.objects.filter(pk=order.pk).update(deadline=order.deadline + timedelta(days=30))
    issue = events("order.issue", order).get()
    assert (
        f"order {order.pk} ({order.number}): changed after issue (event #{issue.seq}): deadline: "
        in failure()
    )


# --- documents --------------------------------------------------------------------------------------------


def test_a_forged_document_with_updated_hashes_is_not_verified(record):
    """The forger replaces the stored PDF, updates its registered hash and the issue event's, and
    re-hashes the chain from there: all an intruder without the key can do."""
    forged = b"%PDF-1.7\n% a forged record\n%%EOF\n"
    with default_storage.open(record.file.name, "wb") as stored:
        stored.write(forged)
    forged_hash = hashlib.sha256(forged).hexdigest()
    Document.objects.filter(pk=record.pk).update(sha256=forged_hash)
    issue = AuditEvent.objects.get(action="document.issue")
    rechain(issue.seq, data={**issue.data, "sha256": forged_hash})

    content = page(record.public_id)
    assert "Warning: this document could not be verified." in content
    assert "the issue record of this document was edited." in content
    assert f"event #{issue.seq}: its content does not match its hash" in failure()


def test_a_document_file_changed_in_storage_is_named(record):
    with default_storage.open(record.file.name, "wb") as stored:
        stored.write(b"%PDF-1.7\n%%EOF\n")
    assert (
        f"document {record.public_id} (inspection_record of inspection {record.inspection_id}): its file "
        in (failure())
    )
    assert "records ok" in verify("--no-files")


def test_a_document_hash_changed_in_the_database_is_named(record):
    Document.objects.filter(pk=record.pk).update(sha256="0" * 64)
    message = failure("--no-files")
    assert (
        f"document {record.public_id} (inspection_record of inspection {record.inspection_id}): sha256 "
        in (message)
    )
    assert "changed after issue" in message
