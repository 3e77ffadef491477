import io
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists import content_io
from checklists.content_io import (
    ContentError,
    checklist_export_csv,
    checklist_import_csv,
    content_export,
    content_import,
    content_validate,
)
from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause, VersionStatus
from checklists.publishing import checklist_publish, manual_publish
from checklists.selectors import manual_current, scene_checklist
from core.models import AuditEvent, Scene

pytestmark = pytest.mark.django_db

VALID = """\
scene: catering
manual:
  title: 餐饮服务经营者合规手册
  title_en: Compliance manual for catering businesses
  summary: 本手册依据食品安全法编写。
  chapters:
    - title: 许可与公示
      title_en: Licence and public notices
      clauses:
        - code: licence-displayed
          text: 在经营场所显著位置悬挂食品经营许可证正本。
          text_en: Display the original food business licence prominently.
          law: 中华人民共和国食品安全法
          article: 第三十五条
    - title: 从业人员
      clauses:
        - code: staff-health
          text: |
            从业人员每年进行健康检查，
            取得健康证明后方可上岗。
          law: 中华人民共和国食品安全法
          article: 第四十五条
        - code: staff-training
          text: 每年对从业人员进行食品安全培训。
          law: 中华人民共和国食品安全法
          article: 第四十四条
checklists:
  - department: market_regulation
    title: 餐饮服务食品安全监督检查单
    title_en: Food safety inspection checklist for catering
    items:
      - code: cat-mr-licence
        question: 是否在显著位置公示有效的食品经营许可证？
        question_en: Is a valid food business licence displayed prominently?
        law: 中华人民共和国食品安全法
        article: 第三十五条
        severity: major
        method: look
        clause: licence-displayed
        required_action: 立即公示有效许可证。
        required_action_en: Display the valid licence at once.
      - code: cat-mr-health
        question: 从业人员是否持有有效健康证明？
        law: 中华人民共和国食品安全法
        article: 第四十五条第一款
        severity: critical
        method: document
        clause: staff-health
      - code: cat-mr-delivery
        question: 网络订餐是否使用食品安全封签？
        law: 网络餐饮服务食品安全监督管理办法
        article: 第十六条
        severity: minor
        method: ask
        applies_if: online_delivery
  - department: fire_rescue
    title: 餐饮场所消防安全检查单
    items:
      - code: cat-fr-gas-alarm
        question: 燃气使用场所是否安装可燃气体探测报警装置？
        law: 中华人民共和国消防法
        article: 第十六条
        severity: critical
        method: look
        applies_if: uses_gas
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of ``text`` that contains ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def mutate(*replacements: tuple[str, str], text: str = VALID) -> str:
    for old, new in replacements:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


def issues_of(text: str, name: str = "catering.yaml") -> list[content_io.ContentIssue]:
    with pytest.raises(ContentError) as excinfo:
        content_import(path_or_text=text, name=name)
    return excinfo.value.issues


def only_issue(text: str):
    issues = issues_of(text)
    assert len(issues) == 1, [str(issue) for issue in issues]
    return issues[0]


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


def manual_rows(manual: Manual) -> tuple:
    chapters = [(c.position, c.title, c.title_en) for c in manual.chapters.order_by("position")]
    clauses = [
        (c.chapter.position, c.position, c.code, c.text, c.text_en, c.law, c.article)
        for c in manual.clauses.select_related("chapter").order_by("chapter__position", "position")
    ]
    return (manual.title, manual.title_en, manual.summary, manual.summary_en, chapters, clauses)


def content_rows(result) -> tuple:
    manual = manual_rows(result.manual) if result.manual else None
    checklists = sorted((c.department.code, c.title, c.title_en, item_rows(c)) for c in result.checklists)
    return manual, checklists


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


# --- validation: each rule, with its line and field --------------------------------------------------

ERRORS = [
    pytest.param(
        [("        severity: major", "        serverity: major")],
        "serverity: major",
        "checklists[0].items[0].serverity",
        'unknown key "serverity" (did you mean "severity"?)',
        id="unknown-key",
    ),
    pytest.param(
        [("        article: 第四十五条第一款\n", "")],
        "- code: cat-mr-health",
        "checklists[0].items[1].article",
        "is required",
        id="missing-key-names-the-mapping-line",
    ),
    pytest.param(
        [("    title: 餐饮场所消防安全检查单", '    title: ""')],
        'title: ""',
        "checklists[1].title",
        "must not be empty",
        id="empty-value",
    ),
    pytest.param(
        [("          article: 第四十四条", "          article: 44")],
        "article: 44",
        "manual.chapters[1].clauses[1].article",
        "must be text, not a number (put it in quotes)",
        id="not-a-string",
    ),
    pytest.param(
        [("    title_en: Food safety", "    title_en:\n      - Food safety")],
        "- Food safety",
        "checklists[0].title_en",
        "must be text, not a list",
        id="a-list-where-text-belongs",
    ),
    pytest.param(
        [("- code: cat-mr-delivery", "- code: Cat_MR_Delivery")],
        "Cat_MR_Delivery",
        "checklists[0].items[2].code",
        '"Cat_MR_Delivery" is not a valid code: use lower-case letters, digits and hyphens',
        id="malformed-code",
    ),
    pytest.param(
        [("- code: cat-mr-delivery", "- code: cat-mr-licence")],
        ("cat-mr-licence", 2),
        "checklists[0].items[2].code",
        'duplicate code "cat-mr-licence" (first used at line 32)',
        id="duplicate-item-code",
    ),
    pytest.param(
        [("- code: staff-training", "- code: licence-displayed")],
        ("code: licence-displayed", 2),
        "manual.chapters[1].clauses[1].code",
        'duplicate code "licence-displayed" (first used at line 10)',
        id="duplicate-clause-code-across-chapters",
    ),
    pytest.param(
        [("scene: catering", "scene: bakery")],
        "scene: bakery",
        "scene",
        'unknown scene "bakery"',
        id="unknown-scene",
    ),
    pytest.param(
        [("department: fire_rescue", "department: fire_brigade")],
        "fire_brigade",
        "checklists[1].department",
        'unknown department "fire_brigade"',
        id="unknown-department",
    ),
    pytest.param(
        [("department: fire_rescue", "department: health")],
        "department: health",
        "checklists[1].department",
        'department "health" does not supervise scene "catering" '
        "(its departments: ecology_environment, fire_rescue, market_regulation)",
        id="department-not-supervising",
    ),
    pytest.param(
        [("department: fire_rescue", "department: market_regulation")],
        ("department: market_regulation", 2),
        "checklists[1].department",
        'department "market_regulation" already has a checklist in this file (line 28)',
        id="department-twice",
    ),
    pytest.param(
        [("severity: minor", "severity: low")],
        "severity: low",
        "checklists[0].items[2].severity",
        '"low" is not one of minor, major, critical',
        id="severity",
    ),
    pytest.param(
        [("method: ask", "method: smell")],
        "method: smell",
        "checklists[0].items[2].method",
        '"smell" is not one of look, ask, document, measure',
        id="method",
    ),
    pytest.param(
        [("applies_if: uses_gas", "applies_if: gas")],
        "applies_if: gas",
        "checklists[1].items[0].applies_if",
        'unknown feature "gas"',
        id="applies-if",
    ),
    pytest.param(
        [("clause: staff-health", "clause: staff-hygiene")],
        "clause: staff-hygiene",
        "checklists[0].items[1].clause",
        'no clause "staff-hygiene" in this file\'s manual',
        id="clause-link",
    ),
    pytest.param(
        [("          article: 第三十五条", "          article: " + "第" * 101)],
        "article: 第第",
        "manual.chapters[0].clauses[0].article",
        "is 101 characters long, at most 100 are allowed",
        id="too-long",
    ),
    pytest.param(
        [
            (
                "    items:\n      - code: cat-fr-gas-alarm",
                "    items: []\n    other:\n      - code: cat-fr-gas-alarm",
            )
        ],
        "items: []",
        "checklists[1].items",
        "must list at least one entry",
        id="empty-items",
    ),
    pytest.param(
        [("  chapters:", "  chapters: []\n  old_chapters:")],
        "chapters: []",
        "manual.chapters",
        "must list at least one entry",
        id="empty-chapters",
    ),
    pytest.param(
        [("      title_en: Licence and public notices\n      clauses:", "      clauses:\n      old:")],
        ("      clauses:", 1),
        "manual.chapters[0].clauses",
        "must list at least one entry",
        id="empty-clauses",
    ),
    pytest.param(
        [("        question: 网络订餐", "        question: 网络订餐\n        question: 外卖")],
        "question: 外卖",
        "checklists[0].items[2].question",
        "duplicate key (first at line 50)",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("replacements", "where", "field", "message"), ERRORS)
def test_it_reports_each_problem_with_its_line_and_field(replacements, where, field, message):
    text = mutate(*replacements)
    needle, occurrence = where if isinstance(where, tuple) else (where, 1)

    issues = issues_of(text)

    expected = (line_of(text, needle, occurrence), field)
    matching = [issue for issue in issues if (issue.line, issue.field) == expected]
    assert matching, [str(issue) for issue in issues]
    assert matching[0].message.startswith(message)
    assert matching[0].file == "catering.yaml"
    if field not in ("checklists[1].items", "manual.chapters", "manual.chapters[0].clauses"):
        assert len(issues) == 1, [str(issue) for issue in issues]


def test_line_numbers_are_those_of_the_source():
    # The "known line numbers" of VALID, spelt out once so a shifted fixture cannot hide a bug.
    issue = only_issue(mutate(("severity: critical", "severity: fatal")))
    assert (issue.line, issue.field) == (46, "checklists[0].items[1].severity")
    assert (
        str(issue)
        == 'catering.yaml:46: checklists[0].items[1].severity: "fatal" is not one of minor, major, critical'
    )


def test_it_collects_every_error_at_once_in_line_order():
    text = mutate(
        ("severity: minor", "severity: low"),
        ("scene: catering", "scene: catering\nextra: 1"),
        ("          law: 中华人民共和国食品安全法\n          article: 第四十四条\n", ""),
        ("method: look\n        applies_if", "method: sniff\n        applies_if"),
    )

    error = issues_of(text)

    assert [(issue.line, issue.field) for issue in error] == [
        (2, "extra"),
        (line_of(text, "- code: staff-training"), "manual.chapters[1].clauses[1].law"),
        (line_of(text, "- code: staff-training"), "manual.chapters[1].clauses[1].article"),
        (line_of(text, "severity: low"), "checklists[0].items[2].severity"),
        (line_of(text, "method: sniff"), "checklists[1].items[0].method"),
    ]


def test_the_error_carries_a_code_a_status_and_the_issues_as_details():
    with pytest.raises(ContentError) as excinfo:
        content_import(path_or_text=mutate(("method: ask", "method: smell")), name="c.yaml")

    error = excinfo.value
    assert (error.code, error.status) == ("invalid_content", 422)
    line = line_of(VALID, "method: ask")
    assert error.details == [
        {
            "file": "c.yaml",
            "line": line,
            "field": "checklists[0].items[2].method",
            "message": '"smell" is not one of look, ask, document, measure',
        }
    ]
    assert (
        str(error)
        == f'c.yaml:{line}: checklists[0].items[2].method: "smell" is not one of look, ask, document, measure'
    )


def test_it_reports_malformed_yaml_with_its_line():
    text = mutate(("        method: look\n        clause", "        method: look: now\n        clause"))

    issue = only_issue(text)

    assert issue.line == line_of(text, "method: look: now")
    assert issue.field == ""
    assert issue.message.startswith("invalid YAML: ")


def test_it_reports_a_bad_indent_with_its_line():
    text = mutate(("        law: 网络餐饮", "       law: 网络餐饮"))

    issue = only_issue(text)

    assert issue.line == line_of(text, "       law: 网络餐饮")
    assert issue.message.startswith("invalid YAML: ")


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("", 1, "", "the file is empty"),
        ("# only a comment\n", 1, "", "the file is empty"),
        ("- catering\n", 1, "", "must be a mapping of keys to values, not a list"),
        ("scene: catering\n", 1, "", "nothing to import"),
        ("scene: catering\nmanual: x\n", 2, "manual", "must be a mapping of keys to values, not text"),
        ("scene: catering\nchecklists:\n", 2, "checklists", "must list at least one entry"),
        ("manual:\n  title: x\n", 1, "scene", "is required"),
    ],
)
def test_it_reports_files_of_the_wrong_shape(text, line, field, message):
    issues = issues_of(text)

    assert (issues[0].line, issues[0].field) == (line, field)
    assert issues[0].message.startswith(message)


def test_a_clause_link_without_a_manual_needs_a_published_one():
    checklist_only = "scene: catering\n" + VALID[VALID.index("checklists:") :]

    issues = issues_of(checklist_only)

    assert [(issue.field, issue.message) for issue in issues] == [
        (
            f"checklists[0].items[{index}].clause",
            'no manual to link to: this file has none and scene "catering" has no published manual',
        )
        for index in (0, 1)
    ]
    content_import(path_or_text=VALID, publish=True)
    text = mutate(("clause: staff-health", "clause: staff-hygiene"), text=checklist_only)
    issue = only_issue(text)
    assert issue.message == 'no clause "staff-hygiene" in the current manual of scene "catering" (version 1)'


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


# --- CSV -----------------------------------------------------------------------------------------

CSV_TEXT = """\
question,code,severity,method,law,article,clause,applies_if
是否公示许可证？,cat-mr-licence,major,look,中华人民共和国食品安全法,第三十五条,,
"是否有健康证明？
（抽查三人）",cat-mr-health,critical,document,中华人民共和国食品安全法,第四十五条,staff-health,
是否使用封签？,cat-mr-seal,minor,ask,网络餐饮服务食品安全监督管理办法,第十六条,,online_delivery
"""


def import_csv(text, **kwargs):
    arguments = {"scene": "catering", "department": "market_regulation", "title": "检查单", "name": "mr.csv"}
    return checklist_import_csv(path_or_text=text, **{**arguments, **kwargs})


def csv_issues(text, **kwargs):
    with pytest.raises(ContentError) as excinfo:
        import_csv(text, **kwargs)
    return [(issue.line, issue.field, issue.message) for issue in excinfo.value.issues]


def test_it_imports_a_checklist_from_csv(admin_user, tmp_path):
    content_import(path_or_text=VALID, publish=True)
    path = tmp_path / "mr.csv"
    path.write_bytes(("\ufeff" + CSV_TEXT).encode())

    checklist = import_csv(path, title_en="Checklist", actor=admin_user, name=None)

    assert (checklist.version, checklist.status, checklist.title, checklist.title_en) == (
        2,
        VersionStatus.DRAFT,
        "检查单",
        "Checklist",
    )
    assert [row[:3] + row[6:10] for row in item_rows(checklist)] == [
        (1, "cat-mr-licence", "是否公示许可证？", "major", "look", "", ""),
        (2, "cat-mr-health", "是否有健康证明？\n（抽查三人）", "critical", "document", "staff-health", ""),
        (3, "cat-mr-seal", "是否使用封签？", "minor", "ask", "", "online_delivery"),
    ]
    event = AuditEvent.objects.get(action="content.import", data__format="csv")
    assert event.data["checklists"] == {"market_regulation": 2}


def test_csv_errors_name_the_physical_line_and_the_column():
    content_import(path_or_text=VALID, publish=True)
    text = CSV_TEXT.replace("cat-mr-seal,minor", "cat-mr-licence,low").replace("staff-health", "staff-x")

    assert csv_issues(text) == [
        (3, "clause", 'no clause "staff-x" in the current manual of scene "catering" (version 1)'),
        (5, "severity", '"low" is not one of minor, major, critical'),
        (5, "code", 'duplicate code "cat-mr-licence" (first used at line 2)'),
    ]


def test_csv_header_problems_are_reported_on_line_1():
    text = "code,question,severty,method,law,article,question\nx,q,major,look,l,a,q\n"

    issues = csv_issues(text)

    assert issues == [
        (1, "severty", 'unknown column "severty" (did you mean "severity"?); the columns are '
         "code,question,question_en,law,article,severity,method,clause,applies_if,required_action,required_action_en"),
        (1, "question", "the column appears twice"),
        (1, "severity", "required column is missing"),
    ]  # fmt: skip


def test_csv_rows_with_empty_or_extra_cells_are_refused():
    text = "code,question,severity,method,law,article\nc-1,,major,look,l,a\n\nc-2,q,major,look,l,a,surplus\n"

    assert csv_issues(text) == [
        (2, "question", "must not be empty"),
        (4, "", "the row has 7 cells, the header 6"),
    ]


def test_csv_arguments_are_checked_too():
    issues = csv_issues(CSV_TEXT.replace(",staff-health,", ",,"), department="health", title=" ")

    assert issues == [
        (
            None,
            "department",
            'department "health" does not supervise scene "catering" '
            "(its departments: ecology_environment, fire_rescue, market_regulation)",
        ),
        (None, "title", "must not be empty"),
    ]


def test_a_csv_with_only_a_header_is_refused():
    assert csv_issues("code,question,severity,method,law,article\n") == [
        (1, "", "the file has no items, only a header")
    ]


# --- export and round trips ----------------------------------------------------------------------------


def test_export_then_import_gives_identical_content():
    original = content_import(path_or_text=VALID, publish=True)

    exported = content_export(scene="catering")
    again = content_import(path_or_text=exported, name="exported.yaml")

    assert again.manual.version == 2
    assert content_rows(again) == content_rows(original)
    checklists = yaml.safe_load(exported)["checklists"]
    assert [c["department"] for c in checklists] == ["fire_rescue", "market_regulation"]
    assert checklists[1]["items"][1]["clause"] == "staff-health"


def test_export_writes_the_format_of_the_shipped_files():
    content_import(path_or_text=VALID, publish=True)

    exported = content_export(scene="catering")

    assert exported.startswith("# catering, current versions: manual v1 (published), ")
    assert "  chapters:\n    - title: 许可与公示\n" in exported  # lists indented, Chinese as is
    assert (
        "          text: |-\n            从业人员每年进行健康检查，\n            取得健康证明后方可上岗。\n"
        in exported
    )
    assert "summary_en" not in exported  # empty optional fields are left out
    assert content_validate(path_or_text=exported) == []


def test_export_current_or_latest():
    content_import(path_or_text=VALID, publish=True)
    content_import(path_or_text=mutate(("title: 餐饮服务经营者合规手册", "title: 新版手册")))

    assert yaml.safe_load(content_export(scene="catering"))["manual"]["title"] == "餐饮服务经营者合规手册"
    latest = content_export(scene="catering", which="latest")
    assert "manual v2 (draft)" in latest.splitlines()[0]
    assert yaml.safe_load(latest)["manual"]["title"] == "新版手册"


def test_export_of_a_scene_without_content_is_refused():
    with pytest.raises(content_io.NotFound) as excinfo:
        content_export(scene="hotel")

    assert excinfo.value.code == "no_content"


def test_csv_export_then_import_gives_identical_items():
    original = content_import(path_or_text=VALID, publish=True)
    checklist = next(c for c in original.checklists if c.department.code == "market_regulation")

    again = import_csv(checklist_export_csv(checklist=checklist))

    assert item_rows(again) == item_rows(checklist)


# --- commands --------------------------------------------------------------------------------------


def run(command, *args):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def run_failing(command, *args):
    stderr = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(command, *args, stdout=io.StringIO(), stderr=stderr)
    return str(excinfo.value), stderr.getvalue()


def write(tmp_path, name, text) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_content_prints_the_versions_it_created(tmp_path):
    path = write(tmp_path, "catering.yaml", VALID)

    stdout, _ = run("import_content", str(path), "--publish")

    assert stdout == (
        f"{path}: catering manual v1 (published), catering/market_regulation checklist v1 (published), "
        "catering/fire_rescue checklist v1 (published)\n"
    )


def test_import_content_prints_every_error_and_writes_no_file(tmp_path):
    good = write(tmp_path, "good.yaml", VALID)
    bad = write(
        tmp_path, "bad.yaml", mutate(("method: ask", "method: smell"), ("severity: minor", "severity: low"))
    )
    before = counts()

    message, stderr = run_failing("import_content", str(good), str(bad))

    assert message == "nothing imported: 1 of 2 files have errors"
    assert stderr.splitlines() == [
        f"{bad}:{line_of(VALID, 'severity: minor')}: checklists[0].items[2].severity: "
        '"low" is not one of minor, major, critical',
        f"{bad}:{line_of(VALID, 'method: ask')}: checklists[0].items[2].method: "
        '"smell" is not one of look, ask, document, measure',
    ]
    assert counts() == before


def test_import_content_check_writes_nothing(tmp_path):
    path = write(tmp_path, "catering.yaml", VALID)
    before = counts()

    stdout, _ = run("import_content", str(path), "--check")

    assert stdout == "1 files checked, no errors\n"
    assert counts() == before


def test_import_content_imports_a_csv_checklist(tmp_path):
    path = write(tmp_path, "mr.csv", CSV_TEXT.replace("staff-health", ""))

    stdout, _ = run(
        "import_content", str(path), "--csv", "--scene", "catering", "--department", "market_regulation",
        "--title", "检查单",
    )  # fmt: skip

    assert stdout == f"{path}: catering/market_regulation checklist v1 (draft)\n"
    assert ChecklistItem.objects.count() == 3


def test_import_content_csv_needs_its_options(tmp_path):
    message, _ = run_failing("import_content", "x.csv", "--csv", "--scene", "catering")

    assert message == "--csv needs --department, --title"


def test_export_content_writes_yaml_or_csv(tmp_path):
    content_import(path_or_text=VALID, publish=True)

    yaml_out, _ = run("export_content", "catering")
    csv_out, _ = run("export_content", "catering", "--format", "csv", "--department", "fire_rescue")

    assert yaml_out == content_export(scene="catering")
    assert csv_out.splitlines()[0] == ",".join(content_io.CSV_COLUMNS)
    assert csv_out.splitlines()[1].startswith("cat-fr-gas-alarm,燃气使用场所")
    message, _ = run_failing("export_content", "catering", "--format", "csv", "--department", "health")
    assert message == 'scene "catering" has no current checklist of department "health"'
    message, _ = run_failing("export_content", "bakery")
    assert message.startswith('unknown scene "bakery"')


def test_load_content_loads_new_scenes_once(tmp_path):
    write(tmp_path, "catering.yaml", VALID)
    write(tmp_path, "hotel.yaml", HOTEL)

    stdout, _ = run("load_content", "--dir", str(tmp_path))

    assert stdout.splitlines() == [
        "catering: published manual v1 (3 clauses), market_regulation v1, fire_rescue v1 (4 items)",
        "hotel: published public_security v1 (1 items)",
    ]
    before = counts()
    stdout, _ = run("load_content", "--dir", str(tmp_path))
    assert stdout.splitlines() == [
        "catering: skipped, the scene has content already",
        "hotel: skipped, the scene has content already",
    ]
    assert counts() == before


def test_load_content_leaves_a_scene_with_a_draft_alone(tmp_path):
    content_import(path_or_text=VALID)  # a draft only
    write(tmp_path, "catering.yaml", VALID)

    stdout, _ = run("load_content", "--dir", str(tmp_path))

    assert stdout == "catering: skipped, the scene has content already\n"
    assert Manual.objects.get().status == VersionStatus.DRAFT


def test_load_content_fails_loudly_on_a_bad_file_and_loads_the_good_ones(tmp_path):
    write(tmp_path, "catering.yaml", mutate(("method: ask", "method: smell")))
    write(tmp_path, "hotel.yaml", HOTEL)

    message, stderr = run_failing("load_content", "--dir", str(tmp_path))

    assert message.startswith("content files with errors, not loaded: ")
    assert message.endswith("catering.yaml")
    assert "checklists[0].items[2].method" in stderr
    assert not Manual.objects.exists()
    assert Checklist.objects.get().scene.code == "hotel"


HOTEL = """\
scene: hotel
checklists:
  - department: public_security
    title: 旅馆业治安检查单
    items:
      - code: hotel-ps-registration
        question: 是否如实登记旅客身份信息？
        law: 旅馆业治安管理办法
        article: 第六条
        severity: major
        method: document
"""


# --- the shipped content ---------------------------------------------------------------------------

SHIPPED = sorted(content_io.CONTENT_DIR.glob("*.yaml"))
RICH_SCENES = ("catering", "elderly_care", "medical")


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_file_validates(path):
    issues = content_validate(path_or_text=path, name=f"checklists/content/{path.name}")

    assert [str(issue) for issue in issues] == []
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["scene"] == path.stem


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_file_survives_an_export_round_trip(path):
    original = content_import(path_or_text=path, publish=True)

    again = content_import(path_or_text=content_export(scene=original.scene))

    assert content_rows(again) == content_rows(original)


def test_load_content_publishes_every_shipped_scene_once():
    if not SHIPPED:
        pytest.skip("no content files shipped yet")

    run("load_content")
    before = counts()
    run("load_content")

    assert counts() == before
    for path in SHIPPED:
        scene = Scene.objects.get(code=path.stem)
        shipped = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert manual_current(scene=scene) is not None, scene.code
        merged = scene_checklist(scene=scene)
        assert sorted(d.code for d in merged.departments) == sorted(
            c["department"] for c in shipped.get("checklists", [])
        )
        assert len(merged.items) == sum(len(c["items"]) for c in shipped.get("checklists", []))


@pytest.mark.parametrize("scene", RICH_SCENES)
def test_the_main_scenes_ship_at_least_25_items(scene):
    path = content_io.CONTENT_DIR / f"{scene}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")

    run("load_content")

    merged = scene_checklist(scene=Scene.objects.get(code=scene))
    assert len(merged.items) >= 25
