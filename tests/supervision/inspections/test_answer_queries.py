"""The answer request (PUT /api/v1/inspections/<id>/answers/<item>): a tablet sends one per
checklist item, so its query count is pinned here, and the checks folded into fewer queries
(permission filter, assignment, row lock, immutability after submit) still refuse what they did.

The counts hold on SQLite and PostgreSQL and include the test transaction's SAVEPOINT and
RELEASE around the write (2 queries a production request does not make):

    token, 3 x roles, SAVEPOINT, record + task locked where the caller is assigned (the
    permission filter is asked only of others, to tell "not found" from "not assigned"),
    item in the snapshot + its stored answer, INSERT or UPDATE of the answer, INSERT of the
    answer's history event (AnswerEvent: every answer is kept, docs/OFFLINE.md),
    UPDATE of the record's updated_at, RELEASE; an update also reads the answer's photos.
"""

import pytest

from supervision.inspections import services as workflow
from supervision.models import InspectionAnswer, Result
from tests.factories import items_of, jpeg, make_ready, make_team, submit, tablet_for

pytestmark = pytest.mark.django_db

JSON = "application/json"
NEW_ANSWER_QUERIES = 11
CHANGED_ANSWER_QUERIES = 12


def answer_url(inspection, item) -> str:
    return f"/api/v1/inspections/{inspection.pk}/answers/{item.pk}"


@pytest.fixture
def far_inspector_user(db):
    """An inspector of another district (Haidian)."""
    return make_team(1, districts=["110108"], prefix="far")[0].user


@pytest.fixture
def tablet(lead, inspection):
    """The lead's tablet, its token already used once (the first use also records last_used_at)."""
    tablet = tablet_for(lead)
    assert tablet.get(f"/api/v1/inspections/{inspection.pk}").status_code == 200
    return tablet


def test_a_new_answer_costs_a_fixed_number_of_queries(
    tablet, inspection, lead, django_assert_max_num_queries
):
    item = items_of(inspection)["mar-1"]
    with django_assert_max_num_queries(NEW_ANSWER_QUERIES):
        response = tablet.put(
            answer_url(inspection, item), {"result": "compliant", "note": " ok "}, content_type=JSON
        )

    assert response.status_code == 200, response.content
    assert response.json() == {"item_id": item.pk, "result": "compliant", "note": "ok", "photos": []}
    answer = InspectionAnswer.objects.get(inspection=inspection, item=item)
    assert (answer.result, answer.note, answer.updated_by) == (Result.COMPLIANT, "ok", lead)


def test_changing_an_answer_costs_a_fixed_number_of_queries_and_keeps_what_is_not_sent(
    tablet, inspection, team, django_assert_max_num_queries
):
    item = items_of(inspection)["mar-2"]
    workflow.inspection_answer(
        inspection=inspection, actor=team[1].user, item_id=item.pk, result="non_compliant", note="dirty"
    )
    workflow.inspection_answer(inspection=inspection, actor=team[1].user, item_id=item.pk, photos=[jpeg()])
    before = InspectionAnswer.objects.get(inspection=inspection, item=item)

    with django_assert_max_num_queries(CHANGED_ANSWER_QUERIES):
        response = tablet.put(answer_url(inspection, item), {"note": "cleaned up"}, content_type=JSON)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["result"], body["note"], len(body["photos"])) == ("non_compliant", "cleaned up", 1)
    after = InspectionAnswer.objects.get(pk=before.pk)
    assert (after.result, after.note, after.updated_by) == (Result.NON_COMPLIANT, "cleaned up", team[0].user)
    assert after.updated_at > before.updated_at
    assert InspectionAnswer.objects.filter(inspection=inspection).count() == 1


def test_a_first_answer_still_needs_a_result(tablet, inspection):
    item = items_of(inspection)["mar-1"]
    response = tablet.put(answer_url(inspection, item), {"note": "only a note"}, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_result")
    assert not InspectionAnswer.objects.exists()


def test_an_item_outside_the_snapshot_is_still_refused(tablet, inspection):
    url = f"/api/v1/inspections/{inspection.pk}/answers/987654321"
    response = tablet.put(url, {"result": "compliant"}, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (422, "item_not_in_snapshot")


def test_after_submit_the_record_takes_no_answer_and_outsiders_still_see_nothing(
    tablet, inspection, lead, team, regulator_user, outsider, far_inspector_user
):
    make_ready(inspection, lead, team)
    submit(inspection, lead)
    item = items_of(inspection)["mar-1"]
    url, body = answer_url(inspection, item), {"result": "non_compliant"}

    response = tablet.put(url, body, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (409, "already_submitted")
    # The regulator sees the submitted record (in scope) but is not assigned: 403, not 404.
    response = tablet_for(regulator_user).put(url, body, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (403, "not_assigned")
    for user in (outsider, far_inspector_user):
        response = tablet_for(user).put(url, body, content_type=JSON)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert InspectionAnswer.objects.get(inspection=inspection, item=item).result == Result.COMPLIANT


def test_a_cancelled_task_freezes_its_draft(tablet, inspection, regulator_user):
    workflow.task_cancel(task=inspection.task, actor=regulator_user, reason="wrong address")
    item = items_of(inspection)["mar-1"]
    response = tablet.put(answer_url(inspection, item), {"result": "compliant"}, content_type=JSON)
    assert (response.status_code, response.json()["code"]) == (409, "task_cancelled")
