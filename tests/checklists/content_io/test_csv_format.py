"""One checklist as CSV (checklists/content_io/csv_format.py): importing it, and its errors named by
physical line and column."""

import pytest

from checklists.content_io import ContentError, checklist_import_csv, content_import
from checklists.models import Checklist, VersionStatus
from core.models import AuditEvent
from tests.factories import CSV_TEXT, VALID

pytestmark = pytest.mark.django_db


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
