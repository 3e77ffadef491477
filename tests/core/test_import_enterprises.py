import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import importers
from core.audit import verify_chain
from core.importers import ImportFileError, import_enterprises
from core.models import AuditEvent, Enterprise
from tests.factories import EnterpriseFactory, make_uscc

pytestmark = pytest.mark.django_db


HEADER = ["uscc", "name", "address", "district_code", "scene_code"]


def row(n: int, name: str | None = None, **overrides) -> list[str]:
    values = {
        "uscc": make_uscc(n),
        "name": f"测试餐饮{n}有限公司" if name is None else name,
        "address": f"北京市朝阳区建国路{n}号",
        "district_code": "110105",
        "scene_code": "catering",
    }
    values.update(overrides)
    return [values[column] for column in HEADER]


def write_csv(tmp_path, rows, *, header=HEADER, encoding="utf-8", name="enterprises.csv"):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run(path, *args):
    """Run the command; return (stdout, stderr). CommandError propagates."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_enterprises", str(path), *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def run_failing(path, *args):
    """Run the command expecting a non-zero exit; return (message, stderr)."""
    stderr = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_enterprises", str(path), *args, stdout=io.StringIO(), stderr=stderr)
    return str(excinfo.value), stderr.getvalue()


def import_file(path, **kwargs):
    return import_enterprises(path_or_stream=path, **kwargs)


def only_error(report):
    assert report.imported == 1, report.errors
    assert report.rejected == 1
    assert len(report.errors) == 1
    return report.errors[0]


# --- happy path ----------------------------------------------------------------


def test_it_imports_valid_rows(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, district_code="110105001", scene_code="medical")])

    stdout, stderr = run(path)

    assert stdout.strip() == "imported 2 enterprises, rejected 0 rows"
    assert stderr == ""
    second = Enterprise.objects.get(uscc=make_uscc(2))
    assert (second.name, second.address) == ("测试餐饮2有限公司", "北京市朝阳区建国路2号")
    assert (second.district.code, second.scene.code) == ("110105001", "medical")


def test_it_normalizes_the_uscc_and_trims_values(tmp_path):
    code = make_uscc(1, division="110108")
    path = write_csv(
        tmp_path,
        [[f"  {code.lower()} ", " 海淀书店 ", "  中关村大街1号 ", " 110108 ", " catering "]],
    )

    report = import_file(path)

    assert report.imported == 1, report.errors
    enterprise = Enterprise.objects.get()
    assert (enterprise.uscc, enterprise.name, enterprise.address) == (code, "海淀书店", "中关村大街1号")


def test_it_ignores_extra_columns_and_accepts_any_column_order(tmp_path):
    header = [" Scene_Code ", "remark", "name", "district_code", "uscc", "legal_person", "address"]
    path = write_csv(
        tmp_path, [["catering", "ignored", "乙公司", "110101", make_uscc(7), "李四", ""]], header=header
    )

    report = import_file(path)

    assert (report.imported, report.errors) == (1, [])
    enterprise = Enterprise.objects.get()
    assert (enterprise.uscc, enterprise.name, enterprise.address, enterprise.legal_representative) == (
        make_uscc(7),
        "乙公司",
        "",
        "",
    )


def test_it_reads_a_binary_stream_as_an_upload_would_pass_it(tmp_path):
    path = write_csv(tmp_path, [row(1)], encoding="gbk")

    with open(path, "rb") as upload:
        report = import_enterprises(path_or_stream=upload)
        assert not upload.closed

    assert (report.imported, report.encoding, report.file_name) == (1, "gb18030", "enterprises.csv")


class Pipe(io.BytesIO):
    def seekable(self):
        return False


def test_it_reads_a_stream_it_cannot_seek(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2)], encoding="utf-8-sig")

    report = import_enterprises(path_or_stream=Pipe(path.read_bytes()))

    assert (report.imported, report.encoding, report.file_name) == (2, "utf-8-sig", "")


def test_it_imports_a_header_only_file_as_zero_rows(tmp_path):
    path = write_csv(tmp_path, [])

    stdout, _ = run(path)

    assert stdout.strip() == "imported 0 enterprises, rejected 0 rows"


def test_it_skips_blank_lines_and_counts_physical_lines(tmp_path):
    path = tmp_path / "lines.csv"
    content = (
        "uscc,name,address,district_code,scene_code\n"
        f'{make_uscc(1)},甲公司,"多行\n地址",110105,catering\n'
        "\n"
        f"{make_uscc(2)},乙公司,,999999,catering\n"
    )
    path.write_text(content, encoding="utf-8")

    report = import_file(path)

    assert Enterprise.objects.get().address == "多行\n地址"
    error = only_error(report)
    assert (error.line, error.column) == (5, "district_code")


# --- row rejections ------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_uscc", "rule"),
    [
        ("91110105", "must be 18 characters long, got 8"),
        ("91110105MA01234I5X", "character 16 ('I') is not allowed"),
        (make_uscc(1)[:17] + ("0" if make_uscc(1)[17] != "0" else "1"), "check character is"),
        ("", "must be 18 characters long, got 0"),
    ],
    ids=["length", "alphabet", "check_character", "empty"],
)
def test_it_rejects_an_invalid_uscc_naming_the_rule(tmp_path, bad_uscc, rule):
    path = write_csv(tmp_path, [row(2), row(3, uscc=bad_uscc)])

    error = only_error(import_file(path))

    assert (error.line, error.column, error.value) == (3, "uscc", bad_uscc)
    assert error.reason.startswith("invalid unified social credit code: ")
    assert rule in error.reason


def test_it_rejects_an_unknown_district_code(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, district_code="999999")])

    error = only_error(import_file(path))

    assert (error.line, error.column, error.reason) == (3, "district_code", "unknown district code '999999'")


def test_it_rejects_the_city_code_as_a_district(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, district_code="110000")])

    error = only_error(import_file(path))

    assert (error.column, error.reason) == (
        "district_code",
        "'110000' is the city; give a district or street code",
    )


def test_it_rejects_an_unknown_scene_code(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, scene_code="casino")])

    error = only_error(import_file(path))

    assert (error.line, error.column, error.reason) == (3, "scene_code", "unknown scene code 'casino'")


def test_it_rejects_an_empty_name(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, name="   ")])

    error = only_error(import_file(path))

    assert (error.line, error.column, error.reason) == (3, "name", "name is empty")


@pytest.mark.parametrize(("column", "limit"), [("name", 200), ("address", 300)])
def test_it_rejects_a_value_too_long_for_the_field(tmp_path, column, limit):
    path = write_csv(tmp_path, [row(1, **{column: "长" * limit}), row(2, **{column: "长" * (limit + 1)})])

    error = only_error(import_file(path))

    assert (error.line, error.column) == (3, column)
    assert error.reason == f"too long: {limit + 1} characters, at most {limit}"


def test_it_rejects_a_nul_character(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, name="甲\x00公司")])

    error = only_error(import_file(path))

    assert (error.line, error.column, error.reason) == (3, "name", "contains a NUL character")


def test_it_reports_every_bad_column_of_a_row(tmp_path):
    path = write_csv(tmp_path, [row(1, uscc="x", name="", district_code="1", scene_code="2")])

    report = import_file(path)

    assert (report.imported, report.rejected) == (0, 1)
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "uscc"),
        (2, "name"),
        (2, "district_code"),
        (2, "scene_code"),
    ]


def test_it_rejects_an_unreadable_csv_row_and_goes_on(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, address="长" * 200_000), row(3)])

    report = import_file(path)

    assert report.imported == 2
    [error] = report.errors
    assert (error.line, error.column) == (3, "")
    assert error.reason.startswith("unreadable CSV row: ")


def test_it_rejects_a_duplicate_within_the_file_naming_the_first_line(tmp_path):
    code = make_uscc(1)
    path = write_csv(tmp_path, [row(1), row(2), row(3, uscc=code.lower())])

    report = import_file(path)

    assert report.imported == 2
    assert report.errors == [importers.RowError(4, "uscc", "duplicate of line 2 in this file", code.lower())]


def test_it_counts_a_rejected_first_occurrence_as_the_first(tmp_path):
    path = write_csv(tmp_path, [row(1, name=""), row(1)])

    report = import_file(path)

    assert (report.imported, report.rejected) == (0, 2)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (2, "name", "name is empty"),
        (3, "uscc", "duplicate of line 2 in this file"),
    ]


def test_it_rejects_a_uscc_already_in_the_database(tmp_path):
    existing = EnterpriseFactory(uscc=make_uscc(5))
    path = write_csv(tmp_path, [row(4), row(5, name="新名字")])

    error = only_error(import_file(path))

    assert (error.line, error.column, error.reason) == (3, "uscc", "already in the database")
    existing.refresh_from_db()
    assert existing.name != "新名字"


def test_it_finds_duplicates_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "CHUNK_SIZE", 3)
    EnterpriseFactory(uscc=make_uscc(6))
    path = write_csv(tmp_path, [row(n) for n in range(1, 9)] + [row(2)])

    report = import_file(path)

    assert (report.imported, report.rejected) == (7, 2)
    assert [(e.line, e.reason) for e in report.errors] == [
        (10, "duplicate of line 3 in this file"),
        (7, "already in the database"),
    ]
    assert Enterprise.objects.count() == 8


def test_it_reports_a_row_inserted_meanwhile_as_already_in_the_database(tmp_path, monkeypatch):
    """Another process inserts a code between our check and our insert: the chunk retries without it."""
    path = write_csv(tmp_path, [row(1), row(2), row(3)])
    EnterpriseFactory(uscc=make_uscc(2))
    real_existing = importers._existing_usccs
    calls = []

    def stale_first_look(codes):
        calls.append(codes)
        return set() if len(calls) == 1 else real_existing(codes)

    monkeypatch.setattr(importers, "_existing_usccs", stale_first_look)

    report = import_file(path)

    assert (report.imported, report.rejected) == (2, 1)
    assert report.errors == [importers.RowError(3, "uscc", "already in the database", make_uscc(2))]
    assert Enterprise.objects.count() == 3


# --- encodings -----------------------------------------------------------------

NAMES = ["北京烤鸭店（朝阳）有限公司", "鼎泰丰·餐饮管理有限公司", "喆啡酒店"]


@pytest.mark.parametrize(
    ("encoding", "detected", "extra_name"),
    [
        ("utf-8", "utf-8-sig", "𠮷野家餐饮有限公司"),
        ("utf-8-sig", "utf-8-sig", "𠮷野家餐饮有限公司"),
        ("gb18030", "gb18030", "𠮷野家餐饮有限公司"),
        ("gbk", "gb18030", "银座餐饮有限公司"),
    ],
)
def test_it_detects_the_encoding_and_keeps_chinese_names_exact(tmp_path, encoding, detected, extra_name):
    names = [*NAMES, extra_name]
    path = write_csv(
        tmp_path, [row(n, name=name) for n, name in enumerate(names, start=1)], encoding=encoding
    )

    report = import_file(path)

    assert (report.imported, report.errors, report.encoding) == (4, [], detected)
    assert list(Enterprise.objects.order_by("uscc").values_list("name", flat=True)) == names


def test_it_uses_the_encoding_given_instead_of_detecting(tmp_path):
    # Big5 bytes happen to decode as GB18030 too, into the wrong characters.
    path = write_csv(tmp_path, [row(1, name="臺灣鼎泰豐", address="臺北市信義路")], encoding="big5")

    run(path, "--encoding", "big5")

    assert Enterprise.objects.get().name == "臺灣鼎泰豐"


def test_it_strips_a_bom_when_utf_8_is_given(tmp_path):
    path = write_csv(tmp_path, [row(1)], encoding="utf-8-sig")

    stdout, _ = run(path, "--encoding", "UTF8")

    assert "imported 1 enterprises" in stdout


def test_it_refuses_an_unknown_encoding_name(tmp_path):
    path = write_csv(tmp_path, [row(1)])

    for name in ("klingon", "base64"):
        message, _ = run_failing(path, "--encoding", name)
        assert message == f"nothing imported: unknown encoding '{name}'"
    assert Enterprise.objects.count() == 0


def test_it_refuses_a_file_it_cannot_decode_naming_the_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\n" + ",".join(row(1)).encode() + b"\n\xff\xfe\xff,x\n")

    message, _ = run_failing(path)

    assert "line 3" in message
    assert "neither UTF-8" in message
    assert Enterprise.objects.count() == 0


def test_it_refuses_a_file_that_does_not_decode_with_the_encoding_given(tmp_path):
    path = write_csv(tmp_path, [row(1, name="ACME", address=""), row(2, name="甲公司")], encoding="gbk")

    message, _ = run_failing(path, "--encoding", "utf-8")

    assert message == "nothing imported: line 3 cannot be decoded as utf-8"
    assert Enterprise.objects.count() == 0


# --- file-level refusals -------------------------------------------------------


def test_it_refuses_a_file_missing_required_columns(tmp_path):
    path = write_csv(tmp_path, [["x", "y", "z"]], header=["uscc", "name", "district"])

    message, _ = run_failing(path)

    assert (
        message
        == "nothing imported: the header lacks the required column(s) address, district_code, scene_code"
    )
    assert Enterprise.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_header_repeating_a_column(tmp_path):
    path = write_csv(tmp_path, [], header=[*HEADER, "Name"])

    with pytest.raises(ImportFileError) as excinfo:
        import_file(path)

    assert excinfo.value.code == "duplicate_columns"


def test_it_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    message, _ = run_failing(path)

    assert message == "nothing imported: the file is empty: it has no header row"


def test_it_refuses_a_missing_file(tmp_path):
    message, _ = run_failing(tmp_path / "nope.csv")

    assert message.startswith("nothing imported: ")


# --- modes and exit codes ------------------------------------------------------


def test_it_imports_the_good_rows_and_reports_the_bad_ones_by_default(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, scene_code="casino"), row(3)])

    stdout, stderr = run(path)

    assert stdout.strip() == "imported 2 enterprises, rejected 1 rows"
    assert stderr.strip() == "line 3, column scene_code: unknown scene code 'casino'"
    assert Enterprise.objects.count() == 2


def test_it_exits_non_zero_when_no_row_could_be_imported(tmp_path):
    path = write_csv(tmp_path, [row(1, name=""), row(2, uscc="bad")])

    message, stderr = run_failing(path)

    assert message == "imported 0 enterprises, rejected 2 rows"
    assert stderr.splitlines() == [
        "line 2, column name: name is empty",
        "line 3, column uscc: invalid unified social credit code: must be 18 characters long, got 3",
    ]


def test_it_imports_nothing_in_strict_mode_when_a_row_is_bad(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "CHUNK_SIZE", 2)
    EnterpriseFactory(uscc=make_uscc(99))
    before = Enterprise.objects.count()
    path = write_csv(tmp_path, [row(n) for n in range(1, 6)] + [row(6, district_code="0"), row(99)])

    message, stderr = run_failing(path, "--strict")

    assert message == "imported 0 enterprises, rejected 2 rows (strict mode: nothing imported)"
    assert stderr.splitlines() == [
        "line 7, column district_code: unknown district code '0'",
        "line 8, column uscc: already in the database",
    ]
    assert Enterprise.objects.count() == before


def test_it_imports_everything_in_strict_mode_when_every_row_is_good(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2)])

    stdout, _ = run(path, "--strict")

    assert stdout.strip() == "imported 2 enterprises, rejected 0 rows"
    assert Enterprise.objects.count() == 2


def test_it_imports_nothing_the_second_time(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2), row(3)])
    run(path)

    message, stderr = run_failing(path)

    assert message == "imported 0 enterprises, rejected 3 rows"
    assert stderr.splitlines() == [f"line {line}, column uscc: already in the database" for line in (2, 3, 4)]
    assert Enterprise.objects.count() == 3


# --- audit ---------------------------------------------------------------------


def test_it_writes_one_audit_event_per_run(tmp_path, admin_user, monkeypatch):
    monkeypatch.setattr(importers, "CHUNK_SIZE", 2)
    path = write_csv(tmp_path, [row(n) for n in range(1, 6)] + [row(6, scene_code="x")], name="海淀.csv")

    import_enterprises(path_or_stream=path, actor=admin_user)

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target_type) == ("enterprise.import", admin_user, "")
    assert event.data == {
        "file": "海淀.csv",
        "encoding": "utf-8-sig",
        "strict": False,
        "imported": 5,
        "rejected": 1,
    }
    assert verify_chain().ok


def test_it_audits_a_refused_strict_run(tmp_path):
    path = write_csv(tmp_path, [row(1), row(2, name="")])

    run_failing(path, "--strict")

    event = AuditEvent.objects.get()
    assert event.data["strict"] is True
    assert (event.data["imported"], event.data["rejected"]) == (0, 1)
    assert verify_chain().ok


def test_it_audits_every_run_of_the_same_file(tmp_path):
    path = write_csv(tmp_path, [row(1)])

    run(path)
    run_failing(path)

    assert [(e.data["imported"], e.data["rejected"]) for e in AuditEvent.objects.order_by("seq")] == [
        (1, 0),
        (0, 1),
    ]
    assert verify_chain().ok
