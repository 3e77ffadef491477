"""How much of a refused enterprise file core.importers reports: the first MAX_ERRORS refusals, each
value quoted by its start, and how many more there are. A file with a bad row on each of its lines
kept (and printed) one error per line."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import importers
from core.importers import import_enterprises
from core.models import AuditEvent, Enterprise
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db

HEADER = ["uscc", "name", "address", "district_code", "scene_code"]


def write_csv(tmp_path, rows):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = tmp_path / "enterprises.csv"
    path.write_bytes(buffer.getvalue().encode())
    return path


def good(n: int) -> list[str]:
    return [make_uscc(n), f"测试餐饮{n}有限公司", f"北京市朝阳区建国路{n}号", "110105", "catering"]


def bad(n: int) -> list[str]:
    return [make_uscc(n), f"测试餐饮{n}有限公司", "", "999999", "catering"]  # unknown district


@pytest.mark.parametrize("strict", [False, True])
def test_the_first_hundred_refusals_are_listed_and_the_rest_counted(tmp_path, strict):
    path = write_csv(tmp_path, [good(0), *(bad(n) for n in range(1, 251))])
    report = import_enterprises(path_or_stream=path, strict=strict)
    assert report.rejected == 250
    assert len(report.errors) == importers.MAX_ERRORS == 100
    assert report.errors_not_listed == 150
    assert [error.line for error in report.errors] == list(range(3, 103))
    assert report.imported == (0 if strict else 1)
    event = AuditEvent.objects.get(action="enterprise.import")
    assert event.data["rejected"] == 250


def test_rows_already_in_the_database_are_counted_alike(tmp_path):
    write = write_csv(tmp_path, [good(n) for n in range(150)])
    import_enterprises(path_or_stream=write)
    report = import_enterprises(path_or_stream=write)
    assert (report.imported, report.rejected) == (0, 150)
    assert (len(report.errors), report.errors_not_listed) == (100, 50)
    assert Enterprise.objects.count() == 150


def test_a_long_refused_value_is_quoted_by_its_start(tmp_path):
    path = write_csv(tmp_path, [[make_uscc(1), "甲" * 100_000, "", "110105", "catering"]])
    (error,) = import_enterprises(path_or_stream=path).errors
    assert error.column == "name" and len(error.value) == importers.MAX_VALUE
    assert error.value.endswith("…")


def test_the_command_says_how_many_errors_it_did_not_list(tmp_path):
    path = write_csv(tmp_path, [bad(n) for n in range(1, 131)])
    stderr = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_enterprises", str(path), stdout=io.StringIO(), stderr=stderr)
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 101
    assert lines[-1] == "… and 30 more errors, not listed"
