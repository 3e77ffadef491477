"""The exchange files: import_attributes and import_signals for one source, and import_lives,
which reads attributes.csv and signals.csv after the businesses and creates the sources they name.
A file with bad rows is refused whole, every problem listed by line and column; running a command
again changes nothing."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from history.lives import lives_import
from history.models import DataSource, EnterpriseAttribute, Signal, SourceBatch, SourceRecord
from history.sources.files import infer_attribute_schema, read_exchange
from tests.factories import make_uscc
from tests.history.helpers import make_source, written

pytestmark = pytest.mark.django_db

CHICAGO = Path("/work/shared/data/chicago-2014h1")
ATTRIBUTES = """business_id,name,value,valid_from,source
{uscc},risk_class,high,20240101,licence_register
{uscc},tobacco,0,20240101,licence_register
{uscc},tobacco,1,20240101,licence_register
{uscc},licence_first_issued,20010119,20010119,licence_register
"""
SIGNALS = """signal_id,source,kind,occurred_on,latitude,longitude,business_id,value,description
A-1,licence_register,street_complaint,20240102,41.8,-87.6,,,Garbage in alley
A-2,licence_register,garbage_complaint,20240103,,,{uscc},,
A-2,licence_register,garbage_complaint,20240103,,,{uscc},,
A-3,licence_register,temperature_excursion,20240104,,,{stranger},7.5,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_attributes_takes_a_file_and_a_rerun_changes_nothing(tmp_path, register, shop, capsys):
    path = write(tmp_path, "attributes.csv", ATTRIBUTES.format(uscc=shop.uscc))

    call_command("import_attributes", str(path), "--source", register.code)

    stored = dict(EnterpriseAttribute.objects.filter(enterprise=shop).values_list("name", "value"))
    # The later row of the same business, name and day counts (the exchange format's rule).
    assert stored == {"risk_class": "high", "tobacco": "1", "licence_first_issued": "2001-01-19"}
    batch = SourceBatch.objects.get()
    assert (batch.channel, batch.credential, batch.rows, batch.created) == ("file", None, 3, 3)
    assert "0 rows repeated and 1 changed" in capsys.readouterr().out
    before = written()

    call_command("import_attributes", str(path), "--source", register.code)

    assert written() == before


def test_import_signals_keeps_unmatched_keys_and_reports_them(tmp_path, register, shop, capsys):
    stranger = make_uscc(777)
    path = write(tmp_path, "signals.csv", SIGNALS.format(uscc=shop.uscc, stranger=stranger))

    call_command("import_signals", str(path), "--source", register.code)

    assert Signal.objects.count() == 3
    assert Signal.objects.get(source_ref="A-2").enterprise == shop
    assert Signal.objects.get(source_ref="A-3").enterprise is None
    assert SourceBatch.objects.get().unmatched == [stranger]
    out = capsys.readouterr().out
    assert "1 with a business key no enterprise has" in out and "1 rows repeated and 0 changed" in out


def test_a_file_with_bad_rows_is_refused_whole_with_every_problem(
    tmp_path, register, other_source, shop, capsys
):
    text = ATTRIBUTES.format(uscc=shop.uscc) + (
        f"{make_uscc(31337)},risk_class,high,20240101,licence_register\n"  # line 6: unknown business
        f"{shop.uscc},alcohol,1,20240101,licence_register\n"  # line 7: the other source's name
        f"{shop.uscc},risk_class,low,2024-13-01,licence_register\n"  # line 8
        f"{shop.uscc},risk_class,low,20240102,kitchen_cameras\n"  # line 9: another source's row
    )
    path = write(tmp_path, "attributes.csv", text)
    before = written()

    with pytest.raises(CommandError, match="4 problems; nothing was imported"):
        call_command("import_attributes", str(path), "--source", register.code)

    assert written() == before
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}, line 6, column business_id: no enterprise has this business key [unknown_business]",
        f"{path}, line 7, column name: not an attribute this source may send [unknown_name]",
        f"{path}, line 8, column valid_from: must be a date, YYYY-MM-DD [bad_date]",
        f"{path}, line 9, column source: a row of source kitchen_cameras, not licence_register"
        " [wrong_source]",
    ]


def test_a_refused_file_lists_a_capped_number_of_problems_with_the_count(tmp_path, register, shop, capsys):
    rows = "".join(f"{shop.uscc},risk_class,extreme,{day:%Y%m%d},\n" for day in _days(60))
    path = write(tmp_path, "attributes.csv", "business_id,name,value,valid_from,source\n" + rows)

    with pytest.raises(CommandError, match="60 problems"):
        call_command("import_attributes", str(path), "--source", register.code)

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 51
    assert err[-1] == "… and 10 more problems (60 in all)"


def _days(n: int):
    from datetime import date, timedelta

    return [date(2020, 1, 1) + timedelta(days=i) for i in range(n)]


def test_a_duplicate_signal_id_in_a_file_with_another_content_counts_as_changed(tmp_path, register, capsys):
    text = (
        SIGNALS.splitlines()[0]
        + "\nB-1,,street_complaint,20240102,1,1,,,\nB-1,,street_complaint,20240102,1,1,,,now described\n"
    )
    path = write(tmp_path, "signals.csv", text)

    call_command("import_signals", str(path), "--source", register.code)

    assert Signal.objects.get().description == "now described"
    assert "0 rows repeated and 1 changed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("business_id,name,value\n1,a,b\n", "missing columns valid_from")],
)
def test_a_file_that_cannot_be_read_is_refused(tmp_path, register, text, message):
    path = write(tmp_path, "attributes.csv", text)
    with pytest.raises(CommandError, match=message):
        call_command("import_attributes", str(path), "--source", register.code)


def test_an_unknown_source_is_refused(tmp_path, db):
    with pytest.raises(CommandError, match="no data source has the code 'nope'"):
        call_command("import_signals", str(tmp_path / "x.csv"), "--source", "nope")


def test_an_inactive_source_takes_no_file(tmp_path, shop):
    source = make_source("closed_register", active=False)
    path = write(
        tmp_path, "attributes.csv", ATTRIBUTES.format(uscc=shop.uscc).replace("licence_register", "")
    )
    with pytest.raises(CommandError, match="not active"):
        call_command("import_attributes", str(path), "--source", source.code)


# --- import_lives: a small cut of the Chicago folder --------------------------------------------------


def chicago_subset(folder: Path, *, businesses: int = 40) -> set[str]:
    """The first businesses of the Chicago folder with their inspections, violations, attributes and
    the first hotline complaints: the real files' shapes, a few hundred rows."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (CHICAGO / "businesses.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "businesses.csv").write_text("".join(lines[: businesses + 1]), encoding="utf-8")
    ids = {line.split(",", 1)[0] for line in lines[1 : businesses + 1]}
    for name in ("inspections.csv", "violations.csv", "attributes.csv"):
        lines = (CHICAGO / name).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines[1:] if line.split(",", 1)[0] in ids]
        (folder / name).write_text(lines[0] + "".join(kept), encoding="utf-8")
    with (CHICAGO / "signals.csv").open(encoding="utf-8") as signals:
        (folder / "signals.csv").write_text("".join(next(signals) for _ in range(301)), encoding="utf-8")
    return ids


def test_import_lives_reads_the_exchange_files_after_the_businesses(tmp_path):
    folder = tmp_path / "chicago"
    ids = chicago_subset(folder)
    expected = read_exchange(folder / "attributes.csv", "attributes")

    report = lives_import(directory=folder)

    assert report.exchange_refused == []
    assert {source.code: (source.kind, source.business_key) for source in DataSource.objects.all()} == {
        "business_licences": ("register", "lives"),
        "health_department_register": ("register", "lives"),
        "311_hotline": ("hotline", "lives"),
    }
    licences = DataSource.objects.get(code="business_licences")
    assert licences.attribute_schema["tobacco"] == {"type": "flag"}
    assert licences.attribute_schema["licence_first_issued"] == {"type": "date"}
    register = DataSource.objects.get(code="health_department_register")
    assert register.attribute_schema["risk_class"] == {"type": "choice", "choices": ["high", "low", "medium"]}
    hotline = DataSource.objects.get(code="311_hotline")
    assert hotline.signal_schema == {
        "sanitation_complaint": {"value": "none", "keyed": False, "located": True}
    }
    assert EnterpriseAttribute.objects.count() == sum(len(rows) for rows in expected.rows.values())
    assert set(
        SourceRecord.objects.filter(enterprise__attributes__isnull=False).values_list("source_id", flat=True)
    ) <= {str(int(i)) for i in ids}
    assert Signal.objects.count() == 300
    assert not Signal.objects.filter(enterprise__isnull=False).exists()
    assert AuditEvent.objects.filter(action="source.create").count() == 3
    before = written()

    again = lives_import(directory=folder)

    # The LIVES import audits every run (history.import_lives); the exchange files wrote nothing.
    assert written() == before | {"audit": before["audit"] + 1}
    assert AuditEvent.objects.latest("seq").action == "history.import_lives"
    assert {imported.file: imported.total("unchanged") for imported in again.exchange} == {
        "attributes.csv": EnterpriseAttribute.objects.count(),
        "signals.csv": 300,
    }


def test_import_lives_refuses_a_bad_exchange_file_whole_and_keeps_the_feeds(tmp_path, capsys):
    folder = tmp_path / "chicago"
    chicago_subset(folder, businesses=5)
    with (folder / "signals.csv").open("a", encoding="utf-8") as signals:
        signals.write("X-1,311_hotline,sanitation_complaint,20140230,41.8,-87.6,,,\n")
        signals.write("X-2,311_hotline,sanitation_complaint,20140301,141.8,-87.6,,,\n")

    with pytest.raises(CommandError, match=r"the LIVES feeds were imported, but not: signals.csv"):
        call_command("import_lives", str(folder))

    assert SourceRecord.objects.count() == 5
    assert EnterpriseAttribute.objects.exists()
    assert not Signal.objects.exists()
    assert not DataSource.objects.filter(code="311_hotline").exists()  # created with the file, undone with it
    err = capsys.readouterr().err
    assert (
        "signals.csv, line 302, column occurred_on: must be an ISO 8601 date and time, or a date [bad_date]"
        in err
    )
    assert "signals.csv, line 303, column latitude: must be a number from -90 to 90 [bad_coordinates]" in err


def test_schema_inference_picks_flags_dates_numbers_choices_and_text():
    rows = [
        {"name": "flag", "value": "0"},
        {"name": "flag", "value": "1"},
        {"name": "day", "value": "20240101"},
        {"name": "count", "value": "12"},
        {"name": "count", "value": "3.5"},
        {"name": "class", "value": "high"},
        {"name": "class", "value": "low"},
        *({"name": "free", "value": f"text {n}"} for n in range(25)),
    ]
    assert infer_attribute_schema(rows) == {
        "class": {"type": "choice", "choices": ["high", "low"]},
        "count": {"type": "number"},
        "day": {"type": "date"},
        "flag": {"type": "flag"},
        "free": {"type": "text", "max_length": 500},
    }
