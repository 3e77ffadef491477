"""The content rules (checklists/content_io/rules.py): each rule's refusal with its line and field,
every error at once, the clause links, and the error's code, status and details."""

import pytest

from checklists import content_io
from checklists.content_io import ContentError, content_import
from tests.factories import VALID, mutate

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
