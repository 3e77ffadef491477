"""The self-inspection tests' world: catering's published manual and two checklists (market
regulation and fire rescue, tests.factories.MARKET_ITEMS and FIRE_ITEMS), a draft, a submitted one."""

import pytest

from checklists.models import Manual, ManualChapter, ManualClause
from checklists.publishing import manual_publish
from core.models import Scene
from supervision.models import Result, SelfIdentifiedIssue
from supervision.self_inspection import services as service
from tests.factories import FIRE_ITEMS, MARKET_ITEMS, UserFactory, publish_checklist


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", is_superuser=True)


@pytest.fixture
def manual(editor):
    manual = Manual.objects.create(
        scene=Scene.objects.get(code="catering"), version=1, title="餐饮服务合规手册"
    )
    chapter = ManualChapter.objects.create(manual=manual, position=1, title="卫生")
    ManualClause.objects.create(
        manual=manual,
        chapter=chapter,
        position=1,
        code="hygiene-1",
        text="从业人员应当保持个人卫生。",
        text_en="Staff keep themselves clean.",
        law="中华人民共和国食品安全法",
        article="第三十三条",
    )
    return manual_publish(manual=manual, actor=editor)


@pytest.fixture
def checklists(editor, manual):
    """The current catering checklists: market regulation v1 and fire rescue v1."""
    return [
        publish_checklist(department="market_regulation", items=MARKET_ITEMS, actor=editor),
        publish_checklist(department="fire_rescue", items=FIRE_ITEMS, actor=editor),
    ]


@pytest.fixture
def draft(checklists, enterprise, business_user):
    self_inspection, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    return self_inspection


@pytest.fixture
def answer_all(business_user):
    """Answer every applicable item; ``results`` maps item codes to a result other than compliant."""

    def answer_all(self_inspection, results=None, user=None):
        results = results or {}
        for row in service.self_inspection_sheet(self_inspection=self_inspection).rows:
            service.self_inspection_answer(
                self_inspection=self_inspection,
                user=user or business_user,
                item_id=row.item.pk,
                result=results.get(row.item.code, Result.COMPLIANT),
                note=f"note on {row.item.code}",
            )

    return answer_all


@pytest.fixture
def submitted(draft, business_user, answer_all):
    """A submitted self-inspection with one non-compliant answer (so one open issue)."""
    answer_all(draft, {"licence-displayed": Result.NON_COMPLIANT, "extinguisher": Result.NOT_APPLICABLE})
    return service.self_inspection_submit(self_inspection=draft, user=business_user)


@pytest.fixture
def issue(submitted):
    return SelfIdentifiedIssue.objects.get()
