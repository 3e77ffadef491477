"""What a content file may not be, however it is uploaded: nested deeper than the format (PyYAML ran
out of stack: 500), a checklist of more than CHECKLIST_MAX_ITEMS items (60,000 were accepted), and
what its refusal may not be: every one of 50,000 problems listed (a 24 to 50 MB answer)."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from checklists.content_io import ContentError, checklist_import_csv, content_import, content_validate
from checklists.content_io.rules import MAX_ISSUES
from checklists.models import Checklist
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

HEAD = """\
scene: catering
checklists:
  - department: market_regulation
    title: 检查单
    items:
"""
ITEM = """\
      - code: item-{n}
        question: 是否公示许可证？
        law: 中华人民共和国食品安全法
        article: 第三十五条
        severity: {severity}
        method: look
"""
CSV_HEAD = "code,question,law,article,severity,method"


def yaml_items(count: int, *, severity: str = "major") -> str:
    return HEAD + "".join(ITEM.format(n=n, severity=severity) for n in range(count))


def csv_items(count: int, *, header: str = CSV_HEAD) -> str:
    rows = (f"item-{n},是否公示许可证？,中华人民共和国食品安全法,第三十五条,major,look" for n in range(count))
    return "\n".join([header, *rows]) + "\n"


def import_csv(text: str):
    return checklist_import_csv(
        path_or_text=text, scene="catering", department="market_regulation", title="检查单", name="mr.csv"
    )


def refusal(call) -> ContentError:
    with pytest.raises(ContentError) as raised:
        call()
    assert raised.value.code == "invalid_content"
    assert not Checklist.objects.exists()
    assert not AuditEvent.objects.filter(action="content.import").exists()
    return raised.value


@pytest.fixture
def uploader(regulator_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(regulator_user)
    return client


def upload_yaml(client, text: str):
    return client.post("/api/v1/content", {"file": SimpleUploadedFile("deep.yaml", text.encode())})


# --- nesting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nested",
    [
        "  - " + "[" * 5_000 + "]" * 5_000,
        "".join(f"{' ' * level}a:\n" for level in range(1_000)) + " " * 1_000 + "b",
    ],
    ids=["flow lists", "block mappings"],
)
def test_a_file_nested_deeper_than_the_format_is_refused_with_its_line(uploader, nested):
    text = "scene: catering\nchecklists:\n" + nested
    response = upload_yaml(uploader, text)
    assert response.status_code == 422, response.content[:300]
    assert response.json()["code"] == "invalid_content"
    (issue,) = response.json()["details"]
    assert issue["message"] == "the file nests lists and mappings more than 20 levels deep"
    assert 3 <= issue["line"] <= 3 + 20
    assert [str(issue) for issue in content_validate(path_or_text=text, name="deep.yaml")] == [
        f"deep.yaml:{issue['line']}: the file nests lists and mappings more than 20 levels deep"
    ]


# --- how many problems are listed ------------------------------------------------------------------------


def test_a_file_with_thousands_of_problems_lists_the_first_hundred_and_counts_the_rest(uploader):
    text = yaml_items(300, severity="huge")
    response = upload_yaml(uploader, text)
    assert response.status_code == 422
    assert len(response.content) < 64 * 1024, len(response.content)
    details = response.json()["details"]
    assert len(details) == MAX_ISSUES + 1
    assert all(issue["field"].endswith(".severity") for issue in details[:MAX_ISSUES])
    assert details[-1]["message"] == "… and 200 more problems, not listed; fix these and check the file again"
    assert details[-1]["line"] is None
    assert response.json()["message"].count("\n") == MAX_ISSUES


def test_fifty_thousand_unknown_csv_columns_are_counted_not_listed(uploader):
    header = CSV_HEAD + "," + ",".join(f"extra{n}" for n in range(50_000))
    text = csv_items(3, header=header)
    started = time.monotonic()
    response = uploader.post(
        "/api/v1/content/checklist.csv",
        {
            "scene": "catering",
            "department": "market_regulation",
            "title": "检查单",
            "file": SimpleUploadedFile("mr.csv", text.encode(), content_type="text/csv"),
        },
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.content[:300]
    assert len(response.content) < 64 * 1024, len(response.content)
    details = response.json()["details"]
    assert len(details) == MAX_ISSUES + 1
    assert details[0]["message"].startswith('unknown column "extra0"')
    assert details[-1]["message"].startswith("… and 49900 more problems")
    assert elapsed < 10, elapsed
    assert not Checklist.objects.exists()


def test_a_huge_value_or_key_is_quoted_by_its_start():
    text = yaml_items(1).replace("department: market_regulation", "department: " + "y" * 1_000_000)
    text = text.replace("        method: look", "        method: look\n        " + "x" * 1_000 + ": 1")
    issues = refusal(lambda: content_import(path_or_text=text)).issues
    department, key = sorted(issues, key=lambda issue: issue.line)
    assert department.message.startswith('unknown department "yyy') and department.message.endswith("…")
    assert key.field.startswith("checklists[0].items[0].xxx") and key.field.endswith("…")
    assert key.message.startswith('unknown key "xxx') and key.message.endswith("…")
    assert all(len(text) <= 300 for issue in issues for text in (issue.field, issue.message))


# --- how many items a checklist has ----------------------------------------------------------------------


def test_a_checklist_of_more_than_the_maximum_items_is_refused_at_the_first_item_too_many(settings):
    settings.CHECKLIST_MAX_ITEMS = 5
    text = yaml_items(6)
    (issue,) = refusal(lambda: content_import(path_or_text=text, name="big.yaml")).issues
    sixth_item = text.splitlines().index("      - code: item-5") + 1
    assert (issue.line, issue.field) == (sixth_item, "checklists[0].items")
    assert issue.message == "the checklist has 6 items; at most 5 are allowed"
    assert content_import(path_or_text=yaml_items(5)).items == 5


def test_a_csv_checklist_is_capped_alike(settings):
    settings.CHECKLIST_MAX_ITEMS = 5
    (issue,) = refusal(lambda: import_csv(csv_items(6))).issues
    assert (issue.line, issue.message) == (7, "the checklist has 6 items; at most 5 are allowed")
    assert import_csv(csv_items(5)).items.count() == 5


def test_the_default_maximum_is_two_thousand_items(settings):
    assert settings.CHECKLIST_MAX_ITEMS == 2_000
    (issue,) = refusal(lambda: import_csv(csv_items(2_001))).issues
    assert issue.message == "the checklist has 2001 items; at most 2000 are allowed"
    assert import_csv(csv_items(2_000)).items.count() == 2_000
