"""The business's rating of an inspection (supervision/inspections/services/evaluation.py)."""

import pytest

from supervision.inspections import services as workflow
from tests.factories.inspections import events, refused

pytestmark = pytest.mark.django_db


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
