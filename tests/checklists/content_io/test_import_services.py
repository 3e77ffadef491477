"""The import services of checklists/content_io/__init__.py: a valid file becomes draft (or
published) versions with one audit event; a bad file, or a write that fails half-way, writes nothing."""

import pytest

from checklists import content_io
from checklists.content_io import ContentError, content_import
from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause, VersionStatus
from checklists.publishing import checklist_publish, manual_publish
from checklists.selectors import manual_current, scene_checklist
from core.models import AuditEvent
from tests.factories import VALID, mutate

pytestmark = pytest.mark.django_db


def issues_of(text: str, name: str = "catering.yaml") -> list[content_io.ContentIssue]:
    with pytest.raises(ContentError) as excinfo:
        content_import(path_or_text=text, name=name)
    return excinfo.value.issues


def item_rows(checklist: Checklist) -> list[tuple]:
    return [
        (
            item.position,
            item.code,
            item.question,
            item.question_en,
            item.law,
            item.article,
            item.severity,
            item.method,
            item.clause_code,
            item.applies_if,
            item.required_action,
            item.required_action_en,
        )
        for item in checklist.items.order_by("position")
    ]


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Manual, ManualChapter, ManualClause, Checklist, ChecklistItem, AuditEvent)
    )


# --- importing a valid file ------------------------------------------------------------------------


def test_it_imports_a_file_as_draft_versions(admin_user):
    result = content_import(path_or_text=VALID, name="catering.yaml", actor=admin_user)

    assert result.scene.code == "catering"
    manual = result.manual
    assert (manual.version, manual.status, manual.created_by) == (1, VersionStatus.DRAFT, admin_user)
    assert manual.title == "餐饮服务经营者合规手册"
    assert manual.summary_en == ""
    assert [c.title for c in manual.chapters.all()] == ["许可与公示", "从业人员"]
    clauses = list(manual.clauses.order_by("chapter__position", "position"))
    assert [(c.chapter.position, c.position, c.code) for c in clauses] == [
        (1, 1, "licence-displayed"),
        (2, 1, "staff-health"),
        (2, 2, "staff-training"),
    ]
    assert clauses[1].text == "从业人员每年进行健康检查，\n取得健康证明后方可上岗。"

    by_department = {c.department.code: c for c in result.checklists}
    assert set(by_department) == {"market_regulation", "fire_rescue"}
    assert all((c.version, c.status) == (1, VersionStatus.DRAFT) for c in result.checklists)
    assert item_rows(by_department["market_regulation"]) == [
        (
            1,
            "cat-mr-licence",
            "是否在显著位置公示有效的食品经营许可证？",
            "Is a valid food business licence displayed prominently?",
            "中华人民共和国食品安全法",
            "第三十五条",
            "major",
            "look",
            "licence-displayed",
            "",
            "立即公示有效许可证。",
            "Display the valid licence at once.",
        ),
        (2, "cat-mr-health", "从业人员是否持有有效健康证明？", "", "中华人民共和国食品安全法",
         "第四十五条第一款", "critical", "document", "staff-health", "", "", ""),
        (3, "cat-mr-delivery", "网络订餐是否使用食品安全封签？", "", "网络餐饮服务食品安全监督管理办法",
         "第十六条", "minor", "ask", "", "online_delivery", "", ""),
    ]  # fmt: skip
    assert (result.clauses, result.items) == (3, 4)
    assert manual_current(scene=result.scene) is None


def test_it_reads_a_path_with_a_bom(tmp_path):
    path = tmp_path / "catering.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())

    result = content_import(path_or_text=path)

    assert result.file == str(path)
    assert result.manual.title == "餐饮服务经营者合规手册"


def test_it_records_one_audit_event_per_import(admin_user):
    content_import(path_or_text=VALID, name="catering.yaml", actor=admin_user)

    event = AuditEvent.objects.get(action="content.import")
    assert event.actor == admin_user
    assert event.target_type == "core.scene"
    assert event.data == {
        "file": "catering.yaml",
        "format": "yaml",
        "scene": "catering",
        "manual": 1,
        "checklists": {"market_regulation": 1, "fire_rescue": 1},
        "publish": False,
    }
    assert not AuditEvent.objects.filter(action__endswith=".publish").exists()


def test_it_publishes_when_asked(admin_user):
    result = content_import(path_or_text=VALID, actor=admin_user, publish=True)

    assert result.manual.status == VersionStatus.PUBLISHED
    assert result.manual.published_by == admin_user
    assert all(c.status == VersionStatus.PUBLISHED for c in result.checklists)
    assert manual_current(scene=result.scene) == result.manual
    merged = scene_checklist(scene=result.scene)
    assert len(merged.items) == 4
    assert set(merged.clauses) == {"licence-displayed", "staff-health"}
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["content.import", "manual.publish", "checklist.publish", "checklist.publish"]


def test_importing_again_makes_version_2_drafts_and_publishing_it_supersedes_version_1(admin_user):
    first = content_import(path_or_text=VALID, publish=True)
    second = content_import(
        path_or_text=mutate(("title: 餐饮服务经营者合规手册", "title: 合规手册（第二版）"))
    )

    assert second.manual.version == 2
    assert {(c.department.code, c.version, c.status) for c in second.checklists} == {
        ("market_regulation", 2, VersionStatus.DRAFT),
        ("fire_rescue", 2, VersionStatus.DRAFT),
    }
    assert manual_current(scene=first.scene) == first.manual

    manual_publish(manual=second.manual, actor=admin_user)
    for checklist in second.checklists:
        checklist_publish(checklist=checklist, actor=admin_user)

    assert manual_current(scene=first.scene).title == "合规手册（第二版）"
    statuses = dict(Manual.objects.values_list("version", "status"))
    assert statuses == {1: VersionStatus.SUPERSEDED, 2: VersionStatus.PUBLISHED}
    assert set(Checklist.objects.filter(version=1).values_list("status", flat=True)) == {
        VersionStatus.SUPERSEDED
    }


def test_a_file_without_a_manual_links_to_the_current_published_manual():
    content_import(path_or_text=VALID, publish=True)
    checklist_only = VALID[VALID.index("checklists:") :]

    result = content_import(path_or_text="scene: catering\n" + checklist_only)

    assert result.manual is None
    assert [c.version for c in result.checklists] == [2, 2]


# --- a bad file writes nothing ----------------------------------------------------------------------


def test_a_bad_file_writes_nothing():
    before = counts()

    issues_of(mutate(("method: ask", "method: smell")))

    assert counts() == before


def test_a_file_that_breaks_a_constraint_while_writing_writes_nothing(monkeypatch):
    # A failure after the first rows are written (here: publishing refuses) rolls all of it back.
    content_import(path_or_text=VALID, publish=True)
    before = counts()

    def refuse(**kwargs):
        raise content_io.DomainError("refused", code="refused")

    monkeypatch.setattr(content_io, "checklist_publish", refuse)
    with pytest.raises(content_io.DomainError):
        content_import(path_or_text=VALID, publish=True)

    assert counts() == before
