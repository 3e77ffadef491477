"""The answer autosave's statements, pinned on the database the suite runs on (issue 17).

PUT /api/v1/inspections/<id>/answers/<item> is the request a tablet sends most: one per item and
one per pause in typing. Counted as in production, in real transactions (no test transaction, so
no SAVEPOINT of the test's own), every statement Django sends, BEGIN and COMMIT included:

PostgreSQL, 2 statements:
    1. the bearer token with its user (core.tokens.token_authenticate, core.prepared; its last_used_at
       is written at most every five minutes, core.tokens.LAST_USED_RESOLUTION);
    2. the answer in one statement (services.answers._answer_at_once): the record and its task
       locked where the actor is assigned, the record a draft, the task not cancelled and the item
       in the pinned checklist versions; the answer inserted or updated; its history event
       (AnswerEvent) added; the record's updated_at stamped. In autocommit: no BEGIN/COMMIT.

SQLite takes the general path (services.answers.inspection_answer), 11 statements: the token,
the caller's roles (3), BEGIN, the record and its task where the caller is assigned (the
permission filter is asked only of others, services._common._lock_record), the item with its
stored answer, the INSERT or UPDATE of the answer, the INSERT of its event, the UPDATE of the
record's updated_at, COMMIT; a changed answer also reads its photos for the response (12).

The counts are exact: a statement added (or saved) fails here. The refusals, which take the
general path on either database, keep their codes (tests/supervision/inspections/
test_answer_queries.py); so do answers with photos and a tablet's older answers (test_offline.py).
"""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from checklists.models import ChecklistItem
from core import reference
from core.models import ApiToken, Department, District, Inspector, Scene
from core.tokens import secret_digest, token_authenticate
from supervision.inspections import services as workflow
from supervision.models import AnswerEvent, Inspection, InspectionAnswer, Result
from tests.factories import EnterpriseFactory, api_token, items_of, jpeg, make_task, tablet_client

JSON = "application/json"
POSTGRES = connection.vendor == "postgresql"
STATEMENTS = 2 if POSTGRES else 11
CHANGE_STATEMENTS = 2 if POSTGRES else 12


@pytest.fixture
def reference_data(transactional_db):
    """The flush after a transactional test empties every table, the districts and scenes the
    migrations load included: put them back (an upsert), as test_concurrency.py does."""
    reference.load(District, Department, Scene)


def tablet_for(user) -> tuple[Client, str]:
    token = api_token(user)
    return tablet_client(token), token


@pytest.fixture
def tablet(reference_data, lead, inspection):
    """The lead's tablet, its token already used once (the first use records last_used_at)."""
    tablet, _ = tablet_for(lead)
    assert tablet.get(f"/api/v1/inspections/{inspection.pk}").status_code == 200
    return tablet


def answer_url(inspection, item) -> str:
    return f"/api/v1/inspections/{inspection.pk}/answers/{item.pk}"


@pytest.mark.django_db(transaction=True)
def test_a_new_answer_costs_a_pinned_number_of_statements(
    tablet, inspection, lead, django_assert_num_queries
):
    item = items_of(inspection)["mar-1"]
    before = Inspection.objects.get(pk=inspection.pk).updated_at

    with django_assert_num_queries(STATEMENTS):
        response = tablet.put(
            answer_url(inspection, item), {"result": "compliant", "note": " ok "}, content_type=JSON
        )

    assert response.status_code == 200, response.content
    assert response.json() == {"item_id": item.pk, "result": "compliant", "note": "ok", "photos": []}
    answer = InspectionAnswer.objects.get(inspection=inspection, item=item)
    assert (answer.result, answer.note, answer.updated_by) == (Result.COMPLIANT, "ok", lead)
    event = AnswerEvent.objects.get(inspection=inspection, item=item)
    assert (event.result, event.note, event.actor, event.source, event.applied, event.photos) == (
        Result.COMPLIANT,
        "ok",
        lead,
        AnswerEvent.Source.ONLINE,
        True,
        [],
    )
    assert event.client_id is None and event.device_at == answer.answered_at
    assert Inspection.objects.get(pk=inspection.pk).updated_at > before


@pytest.mark.django_db(transaction=True)
def test_changing_an_answer_costs_the_same_and_keeps_what_is_not_sent(
    tablet, inspection, team, django_assert_num_queries
):
    item = items_of(inspection)["mar-2"]
    workflow.inspection_answer(
        inspection=inspection, actor=team[1].user, item_id=item.pk, result="non_compliant", note="dirty"
    )
    workflow.inspection_answer(inspection=inspection, actor=team[1].user, item_id=item.pk, photos=[jpeg()])
    before = InspectionAnswer.objects.get(inspection=inspection, item=item)
    sha256 = before.photos.get().sha256

    with django_assert_num_queries(CHANGE_STATEMENTS):
        response = tablet.put(answer_url(inspection, item), {"note": "cleaned up"}, content_type=JSON)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "item_id": item.pk,
        "result": "non_compliant",
        "note": "cleaned up",
        "photos": [sha256],
    }
    after = InspectionAnswer.objects.get(pk=before.pk)
    assert (after.result, after.note, after.updated_by) == (Result.NON_COMPLIANT, "cleaned up", team[0].user)
    assert after.updated_at > before.updated_at and after.answered_at > before.answered_at
    assert after.photos.count() == 1
    # The history event records the answer as it stands, the result it kept included.
    latest = AnswerEvent.objects.filter(inspection=inspection, item=item).latest("device_at")
    assert (latest.result, latest.note, latest.actor, latest.applied) == (
        Result.NON_COMPLIANT,
        "cleaned up",
        team[0].user,
        True,
    )
    assert AnswerEvent.objects.filter(inspection=inspection, item=item).count() == 3


@pytest.mark.django_db(transaction=True)
def test_an_item_for_some_enterprises_is_answered_in_as_few_statements_where_it_applies(
    reference_data, loop_checklist, team, lead, regulator_user, django_assert_num_queries
):
    ChecklistItem.objects.filter(checklist=loop_checklist, code="mar-3").update(applies_if="online_delivery")
    enterprise = EnterpriseFactory(features=["online_delivery"])
    inspection = workflow.inspection_start(
        task=make_task(enterprise=enterprise, team=team, actor=regulator_user), actor=lead
    )
    tablet, _ = tablet_for(lead)
    assert tablet.get(f"/api/v1/inspections/{inspection.pk}").status_code == 200
    item = items_of(inspection)["mar-3"]

    with django_assert_num_queries(STATEMENTS):
        response = tablet.put(answer_url(inspection, item), {"result": "compliant"}, content_type=JSON)

    assert response.status_code == 200, response.content
    assert InspectionAnswer.objects.filter(inspection=inspection, item=item).exists()


@pytest.mark.django_db(transaction=True)
def test_two_tablets_answering_one_item_at_once_leave_one_answer_the_latest(reference_data, inspection, team):
    """Both lock the record; the second merges with the answer the first stored (ON CONFLICT sees
    it although the second's statement began before it was committed): one answer, two events,
    and the answer is the event latest by the inspectors' own time."""
    item = items_of(inspection)["mar-1"]
    users = [member.user.pk for member in team]
    barrier = threading.Barrier(len(users))
    outcomes: list = [None] * len(users)

    def run(index: int) -> None:
        try:
            actor = get_user_model().objects.get(pk=users[index])
            barrier.wait(timeout=10)
            outcomes[index] = workflow.inspection_answer(
                inspection=Inspection(pk=inspection.pk),
                actor=actor,
                item_id=item.pk,
                result=["compliant", "non_compliant"][index],
                note=f"tablet {index}",
            )
        except Exception as exc:  # reported to the test, which asserts on it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(outcome, InspectionAnswer) for outcome in outcomes), outcomes
    answer = InspectionAnswer.objects.get(inspection=inspection, item=item)
    events = list(AnswerEvent.objects.filter(inspection=inspection, item=item).order_by("device_at"))
    assert len(events) == 2
    latest = events[-1]
    assert latest.applied and (answer.result, answer.note, answer.answered_at) == (
        latest.result,
        latest.note,
        latest.device_at,
    )


# --- what the one statement leaves to the general path ------------------------------------------------


@pytest.mark.django_db
def test_an_older_answer_is_kept_in_the_history_only(inspection, lead, team):
    item = items_of(inspection)["mar-1"]
    now = timezone.now()
    workflow.inspection_answer(
        inspection=inspection, actor=lead, item_id=item.pk, result="non_compliant", note="late", device_at=now
    )

    older = workflow.inspection_answer(
        inspection=inspection,
        actor=team[1].user,
        item_id=item.pk,
        result="compliant",
        note="early",
        device_at=now - timedelta(minutes=5),
    )

    assert (older.result, older.note) == ("non_compliant", "late")
    answer = InspectionAnswer.objects.get(inspection=inspection, item=item)
    assert (answer.result, answer.note, answer.updated_by, answer.answered_at) == (
        "non_compliant",
        "late",
        lead,
        now,
    )
    events = AnswerEvent.objects.filter(inspection=inspection, item=item).order_by("device_at")
    assert [(e.result, e.note, e.applied) for e in events] == [
        ("compliant", "early", False),
        ("non_compliant", "late", True),
    ]


@pytest.mark.django_db
def test_a_deactivated_inspector_no_longer_answers(inspection, lead, team):
    Inspector.objects.filter(user=lead).update(active=False)
    lead.refresh_from_db()
    item = items_of(inspection)["mar-1"]
    tablet, _ = tablet_for(lead)

    response = tablet.put(answer_url(inspection, item), {"result": "compliant"}, content_type=JSON)

    # No longer an inspector: the draft is not theirs to see.
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not InspectionAnswer.objects.exists() and not AnswerEvent.objects.exists()


@pytest.mark.django_db
def test_a_note_for_an_unanswered_item_still_needs_a_result(inspection, lead):
    item = items_of(inspection)["mar-1"]
    tablet, _ = tablet_for(lead)
    response = tablet.put(answer_url(inspection, item), {"note": "only a note"}, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_result")
    assert not InspectionAnswer.objects.exists() and not AnswerEvent.objects.exists()
    assert Inspection.objects.get(pk=inspection.pk).updated_at == inspection.updated_at


@pytest.mark.django_db
def test_an_item_that_does_not_apply_is_refused_and_nothing_is_written(
    enterprise, loop_checklist, team, lead, regulator_user
):
    ChecklistItem.objects.filter(checklist=loop_checklist, code="mar-3").update(applies_if="online_delivery")
    inspection = workflow.inspection_start(
        task=make_task(enterprise=enterprise, team=team, actor=regulator_user), actor=lead
    )
    tablet, _ = tablet_for(lead)
    url = answer_url(inspection, loop_checklist.items.get(code="mar-3"))
    response = tablet.put(url, {"result": "compliant"}, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (422, "item_not_in_snapshot")
    assert not InspectionAnswer.objects.exists() and not AnswerEvent.objects.exists()


# --- the bearer token, read in one prepared statement -------------------------------------------------


def the_rule(raw: str) -> ApiToken | None:
    """Which token a bearer token stands for, as the ORM would say it."""
    return (
        ApiToken.objects.select_related("user")
        .filter(
            key_hash=secret_digest(raw),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .first()
        if raw.startswith("sp_")
        else None
    )


@pytest.mark.django_db
def test_the_bearer_lookup_answers_as_the_rule_says(lead, inspector_user):
    _, raw = tablet_for(lead)
    _, other = tablet_for(inspector_user)
    _, revoked = tablet_for(lead)
    _, expired = tablet_for(lead)
    ApiToken.objects.filter(prefix=revoked[3:11]).update(revoked_at=timezone.now())
    ApiToken.objects.filter(prefix=expired[3:11]).update(expires_at=timezone.now() - timedelta(seconds=1))
    inspector_user.is_active = False
    inspector_user.save(update_fields=["is_active"])
    unknown = "sp_" + "x" * 43

    for token in (raw, other, revoked, expired, unknown, raw[3:], ""):
        found = token_authenticate(token)  # first: it marks the token used
        expected = the_rule(token)
        assert (found is None) == (expected is None), token
        if expected is not None:
            assert found == expected and found.user == expected.user
            fields = [f.attname for f in ApiToken._meta.concrete_fields]
            assert [getattr(found, f) for f in fields] == [getattr(expected, f) for f in fields]
            user_fields = [f.attname for f in type(expected.user)._meta.concrete_fields]
            assert [getattr(found.user, f) for f in user_fields] == [
                getattr(expected.user, f) for f in user_fields
            ]
    assert ApiToken.objects.get(prefix=raw[3:11]).last_used_at is not None


@pytest.mark.django_db
def test_the_bearer_lookup_marks_the_token_used(lead):
    _, raw = tablet_for(lead)
    ApiToken.objects.update(last_used_at=None)
    assert token_authenticate(raw).user == lead
    assert ApiToken.objects.get().last_used_at is not None
