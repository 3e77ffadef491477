"""Reading the YAML format (checklists/content_io/yaml_format.py): malformed YAML, a bad indent and
files of the wrong shape, each reported with its line."""

import pytest

from checklists import content_io
from checklists.content_io import ContentError, content_import
from tests.factories import mutate

pytestmark = pytest.mark.django_db


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of ``text`` that contains ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def issues_of(text: str, name: str = "catering.yaml") -> list[content_io.ContentIssue]:
    with pytest.raises(ContentError) as excinfo:
        content_import(path_or_text=text, name=name)
    return excinfo.value.issues


def only_issue(text: str):
    issues = issues_of(text)
    assert len(issues) == 1, [str(issue) for issue in issues]
    return issues[0]


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
