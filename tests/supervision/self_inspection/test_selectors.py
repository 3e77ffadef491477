"""The self-inspection reads (supervision/self_inspection/selectors.py): the sheet with its pinned
versions, applicability and progress, the latest submitted one, the issues one may see."""

from contextlib import contextmanager

import pytest

from core.errors import DomainError
from supervision.self_inspection import services as service
from tests.factories import MARKET_ITEMS, item_of, publish_checklist

pytestmark = pytest.mark.django_db


@contextmanager
def refused(code: str, status: int | None = None):
    """The block raises a DomainError with this code (and status)."""
    with pytest.raises(DomainError) as info:
        yield info
    assert info.value.code == code, info.value.code
    if status is not None:
        assert info.value.status == status


# --- versions and applicability ---------------------------------------------------------------------


def test_a_draft_keeps_its_versions_when_a_new_one_is_published(draft, business_user, editor, enterprise):
    new_items = [
        *MARKET_ITEMS[:1],
        {"code": "new-rule", "question": "新规？", "severity": "minor", "method": "ask"},
    ]
    v2 = publish_checklist(department="market_regulation", items=new_items, actor=editor)
    codes = [row.item.code for row in service.self_inspection_sheet(self_inspection=draft).rows]
    assert codes == ["extinguisher", "hand-washing", "licence-displayed"]
    with refused("item_not_in_version", 422):
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=v2.items.get(code="new-rule").pk,
            result="compliant",
        )
    # Resuming keeps the old versions too; the next self-inspection starts on the new one.
    assert service.self_inspection_start(enterprise=enterprise, user=business_user) == (draft, False)


def test_an_item_applies_when_the_business_has_the_feature(checklists, enterprise, business_user):
    enterprise.features = ["online_delivery"]
    enterprise.save()
    self_inspection, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    sheet = service.self_inspection_sheet(self_inspection=self_inspection)
    assert "delivery-seal" in [row.item.code for row in sheet.rows]
    assert (sheet.progress.answered, sheet.progress.total) == (0, 4)


def test_the_sheet_groups_by_department_with_clause_and_progress(draft, business_user):
    service.self_inspection_answer(
        self_inspection=draft,
        user=business_user,
        item_id=item_of(draft, "hand-washing").pk,
        result="compliant",
    )
    sheet = service.self_inspection_sheet(self_inspection=draft)
    assert [(row.department.code, row.item.code) for row in sheet.rows] == [
        ("fire_rescue", "extinguisher"),
        ("market_regulation", "hand-washing"),
        ("market_regulation", "licence-displayed"),
    ]
    assert sheet.rows[1].clause.code == "hygiene-1"
    assert sheet.rows[1].answer.result == "compliant"
    assert (sheet.progress.answered, sheet.progress.total) == (1, 3)
    assert service.self_inspection_progress(self_inspection=draft) == sheet.progress


def test_a_submitted_sheet_shows_what_was_answered_even_if_features_change(submitted, enterprise):
    enterprise.features = ["online_delivery"]
    enterprise.save()
    sheet = service.self_inspection_sheet(self_inspection=submitted)
    assert [row.item.code for row in sheet.rows] == ["extinguisher", "hand-washing", "licence-displayed"]
    assert (sheet.progress.answered, sheet.progress.total) == (3, 3)


# --- the latest submitted one -----------------------------------------------------------------------


def test_the_latest_submitted_one_is_found_for_the_entity_card(
    submitted, enterprise, business_user, answer_all
):
    assert service.self_inspection_latest_submitted(enterprise=enterprise) == submitted
    newer, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    assert service.self_inspection_latest_submitted(enterprise=enterprise) == submitted
    answer_all(newer)
    service.self_inspection_submit(self_inspection=newer, user=business_user)
    assert service.self_inspection_latest_submitted(enterprise=enterprise) == newer


def test_no_submitted_one_yet(draft, enterprise):
    assert service.self_inspection_latest_submitted(enterprise=enterprise) is None


# --- self-identified issues -------------------------------------------------------------------------


def test_issues_follow_the_visibility_of_their_self_inspection(issue, enterprise, inspector_user, outsider):
    assert list(service.self_issues_of(user=inspector_user, enterprise=enterprise)) == [issue]
    assert list(service.self_issues_of(user=outsider, enterprise=enterprise)) == []
    assert list(service.self_issues_of(user=inspector_user, enterprise=enterprise, status="fixed")) == []
    with refused("unknown_status", 422):
        service.self_issues_of(user=inspector_user, enterprise=enterprise, status="closed")
