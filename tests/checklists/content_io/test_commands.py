"""The import_content, export_content and load_content management commands, the command-line
face of checklists/content_io."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists import content_io
from checklists.content_io import content_export, content_import
from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause, VersionStatus
from core.models import AuditEvent
from tests.factories import CSV_TEXT, VALID, mutate

pytestmark = pytest.mark.django_db


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of ``text`` that contains ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Manual, ManualChapter, ManualClause, Checklist, ChecklistItem, AuditEvent)
    )


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
