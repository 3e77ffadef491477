from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core import uscc
from core.models import AuditEvent, Enterprise
from history.lives import LivesFileError, lives_import
from history.models import HistoricalFinding, HistoricalInspection, SourceRecord

pytestmark = pytest.mark.django_db

SF = Path("/work/shared/data/sf")
BUSINESSES = (
    '"business_id","name","address","city"\n'
    '10,"Tiramisu Kitchen","033 Belden Pl","San Francisco"\n'
    '17,"Café Niños","2200 Oakdale Ave","S.F."\n'
)
INSPECTIONS = (
    '"business_id","Score","date","type"\n'
    '10,94,"20140729","Routine - Unscheduled"\n'
    '10,,"20140807","Reinspection/Followup"\n'
    '17,88,"20150101","Routine - Unscheduled"\n'
)
VIOLATIONS = (
    '"business_id","date","ViolationTypeID","risk_category","description"\n'
    '10,"20140729",103154,"Low Risk","Unclean floors"\n'
    '10,"20140729",103119,"Moderate Risk","Inadequate food safety knowledge"\n'
    '17,"20150101",103103,"High Risk","High risk food holding temperature"\n'
)


def write(
    folder: Path, *, businesses=BUSINESSES, inspections=INSPECTIONS, violations=VIOLATIONS, latin1=False
):
    folder.mkdir(parents=True, exist_ok=True)
    name = "businesses_plus.csv" if latin1 else "businesses.csv"
    (folder / name).write_bytes(businesses.encode("latin-1" if latin1 else "utf-8"))
    (folder / "inspections.csv").write_text(inspections, encoding="utf-8")
    (folder / "violations.csv").write_text(violations, encoding="utf-8")
    return folder


def errors_of(report):
    return {(e.file, e.line, e.column, e.reason) for e in report.errors}


@pytest.mark.parametrize("latin1", [False, True], ids=["utf-8", "latin-1"])
def test_it_imports_a_lives_folder_in_either_encoding(tmp_path, latin1):
    report = lives_import(directory=write(tmp_path / "lives", latin1=latin1))

    assert report.errors == []
    assert report.counts["enterprises_created"] == 2
    cafe = SourceRecord.objects.get(source="lives", source_id="17").enterprise
    assert cafe.name == "Café Niños" and cafe.address == "2200 Oakdale Ave"
    assert cafe.district.code == "110105" and cafe.scene.code == "catering"
    assert HistoricalInspection.objects.count() == 3
    routine = HistoricalInspection.objects.get(enterprise__source_record__source_id="10", score=94)
    assert routine.kind == "Routine - Unscheduled" and str(routine.inspected_on) == "2014-07-29"
    assert routine.findings.count() == 2
    assert HistoricalInspection.objects.get(kind="Reinspection/Followup").score is None


def test_it_builds_valid_distinct_usccs_from_the_business_ids(tmp_path):
    lives_import(directory=write(tmp_path / "lives"))

    codes = list(Enterprise.objects.values_list("uscc", flat=True))
    assert len(set(codes)) == 2
    assert all(uscc.is_valid(code) and code[8:10] == "LE" and code[2:8] == "110105" for code in codes)


def test_it_maps_risk_categories_to_severities(tmp_path):
    lives_import(directory=write(tmp_path / "lives"))

    severities = dict(HistoricalFinding.objects.values_list("violation_type", "severity"))
    assert severities == {"103154": "minor", "103119": "major", "103103": "critical"}


def test_running_it_twice_changes_nothing(tmp_path):
    folder = write(tmp_path / "lives")
    lives_import(directory=folder)
    before = (
        Enterprise.objects.count(),
        HistoricalInspection.objects.count(),
        HistoricalFinding.objects.count(),
    )

    report = lives_import(directory=folder)

    after = (
        Enterprise.objects.count(),
        HistoricalInspection.objects.count(),
        HistoricalFinding.objects.count(),
    )
    assert before == after == (2, 3, 3)
    assert report.counts["enterprises_created"] == report.counts["inspections_created"] == 0
    assert report.counts["findings_created"] == 0 and report.counts["findings_of_existing_inspections"] == 3
    assert AuditEvent.objects.filter(action="history.import_lives").count() == 2


def test_it_updates_a_renamed_business_in_place(tmp_path):
    lives_import(directory=write(tmp_path / "one"))
    report = lives_import(
        directory=write(tmp_path / "two", businesses=BUSINESSES.replace("Tiramisu", "Tiramisù"))
    )

    assert report.counts["enterprises_updated"] == 1
    assert SourceRecord.objects.get(source_id="10").enterprise.name == "Tiramisù Kitchen"
    assert Enterprise.objects.count() == 2


def test_it_keeps_each_businesss_location(tmp_path):
    businesses = (
        '"business_id","name","address","latitude","longitude"\n'
        '10,"Tiramisu Kitchen","033 Belden Pl","37.7911161","-122.403816"\n'
        '17,"Café Niños","2200 Oakdale Ave","0","0"\n'
        '18,"Nowhere","1 Elm St","",""\n'
        '19,"Off the map","2 Elm St","137.1","-122.4"\n'
    )
    report = lives_import(directory=write(tmp_path / "lives", businesses=businesses))

    located = {
        r.source_id: (r.enterprise.latitude, r.enterprise.longitude) for r in SourceRecord.objects.all()
    }
    assert located["10"] == (Decimal("37.791116"), Decimal("-122.403816"))
    # 0/0 is how feeds say "unknown"; an impossible point is reported, the business still imported.
    assert located["17"] == located["18"] == located["19"] == (None, None)
    assert errors_of(report) == {("businesses.csv", 5, "latitude", "not a location; imported without one")}

    moved = businesses.replace("37.7911161", "37.8")
    lives_import(directory=write(tmp_path / "lives", businesses=moved))
    assert SourceRecord.objects.get(source_id="10").enterprise.latitude == Decimal("37.800000")


def test_it_writes_one_audit_event_with_the_counts(tmp_path):
    report = lives_import(directory=write(tmp_path / "lives"))

    event = AuditEvent.objects.get(action="history.import_lives")
    assert event.actor is None and event.data == report.counts


def test_it_reports_every_bad_row_with_its_line_and_column(tmp_path):
    businesses = BUSINESSES + '10,"Again","x","y"\nabc,"No id","x","y"\n'
    inspections = INSPECTIONS + (
        '99,90,"20140101","Routine - Unscheduled"\n'  # line 5: unknown business
        '10,90,"2014-01-01","Routine - Unscheduled"\n'  # line 6: bad date
        '10,101,"20140102","Routine - Unscheduled"\n'  # line 7: bad score
        '10,x,"20140103","Routine - Unscheduled"\n'  # line 8: bad score
        '10,94,"20140729","Routine - Unscheduled"\n'  # line 9: duplicate of line 2
        '10,90,"20140230","Routine - Unscheduled"\n'  # line 10: no such day
    )
    violations = VIOLATIONS + (
        '99,"20140729",1,"Low Risk","x"\n'  # line 5: unknown business
        '10,"201407",1,"Low Risk","x"\n'  # line 6: bad date
        '10,"20140729",1,"N/A","x"\n'  # line 7: unknown risk category
        '17,"20990101",1,"Low Risk","x"\n'  # line 8: no inspection that day
    )
    report = lives_import(
        directory=write(
            tmp_path / "lives", businesses=businesses, inspections=inspections, violations=violations
        )
    )

    assert errors_of(report) == {
        ("businesses.csv", 4, "business_id", "duplicate of line 2"),
        ("businesses.csv", 5, "business_id", "must be a whole number below 887503681"),
        ("inspections.csv", 5, "business_id", "unknown business id"),
        ("inspections.csv", 6, "date", "not a date in the form YYYYMMDD"),
        ("inspections.csv", 7, "Score", "not a whole number from 0 to 100"),
        ("inspections.csv", 8, "Score", "not a whole number from 0 to 100"),
        ("inspections.csv", 9, "date", "duplicate of the inspection on line 2"),
        ("inspections.csv", 10, "date", "not a date in the form YYYYMMDD"),
        ("violations.csv", 5, "business_id", "unknown business id"),
        ("violations.csv", 6, "date", "not a date in the form YYYYMMDD"),
        ("violations.csv", 7, "risk_category", "not one of Low Risk, Moderate Risk, High Risk"),
        ("violations.csv", 8, "date", "no inspection of this business on this date"),
    }
    # Good rows still go in; no inspection is invented for the orphan violation.
    assert (Enterprise.objects.count(), HistoricalInspection.objects.count()) == (2, 3)
    assert HistoricalFinding.objects.count() == 3
    assert report.counts["rejected"] == 12


def test_line_numbers_count_physical_lines_of_quoted_multiline_fields(tmp_path):
    violations = VIOLATIONS.replace('"Unclean floors"', '"Unclean\nfloors"') + '10,"bad",1,"Low Risk","x"\n'
    report = lives_import(directory=write(tmp_path / "lives", violations=violations))

    assert errors_of(report) == {("violations.csv", 6, "date", "not a date in the form YYYYMMDD")}


@pytest.mark.parametrize("feed", ["businesses", "inspections", "violations"])
def test_it_refuses_a_file_missing_a_column_and_imports_nothing(tmp_path, feed):
    texts = {"businesses": BUSINESSES, "inspections": INSPECTIONS, "violations": VIOLATIONS}
    texts[feed] = (
        texts[feed].replace('"date"', '"day"').replace('"name"', '"title"').replace('"Score"', '"S"')
    )
    folder = write(tmp_path / "lives", **texts)

    with pytest.raises(LivesFileError) as error:
        lives_import(directory=folder)

    assert error.value.code == "missing_columns" and f"{feed}.csv, line 1" in error.value.message
    assert not Enterprise.objects.exists() and not HistoricalInspection.objects.exists()
    assert not AuditEvent.objects.filter(action="history.import_lives").exists()


def test_it_refuses_a_folder_without_a_feed(tmp_path):
    folder = write(tmp_path / "lives")
    (folder / "violations.csv").unlink()

    with pytest.raises(LivesFileError) as error:
        lives_import(directory=folder)
    assert error.value.code == "missing_file"
    assert not Enterprise.objects.exists()


def test_the_command_takes_district_and_scene_and_prints_counts(tmp_path, capsys):
    call_command(
        "import_lives", str(write(tmp_path / "lives")), "--district", "110108", "--scene", "catering"
    )

    out = capsys.readouterr().out
    assert "enterprises_created: 2" in out and "findings_created: 3" in out and "done in" in out
    assert set(Enterprise.objects.values_list("district__code", flat=True)) == {"110108"}
    assert all(code[2:8] == "110108" for code in Enterprise.objects.values_list("uscc", flat=True))


def test_the_command_fails_loudly_on_an_unknown_district(tmp_path):
    with pytest.raises(CommandError, match="unknown district"):
        call_command("import_lives", str(write(tmp_path / "lives")), "--district", "999999")


@pytest.mark.skipif(not SF.is_dir(), reason="the SF LIVES archive is not in /work/shared/data/sf")
def test_it_imports_the_real_san_francisco_archive():
    report = lives_import(directory=SF)

    # 7,644 rows: 18 repeat a business id and one has no name.
    assert report.counts["businesses_read"] == 7644
    assert Enterprise.objects.count() == report.counts["enterprises_created"] == 7625
    # 28,146 rows: 109 name unknown businesses, 160 repeat an inspection.
    assert HistoricalInspection.objects.count() == 27877
    # 40,317 rows: 130 unknown businesses, 17 "N/A" risk, 51 with no inspection that day (README).
    assert HistoricalFinding.objects.count() == 40119
    no_inspection = [e for e in report.errors if e.reason == "no inspection of this business on this date"]
    assert len(no_inspection) == 51
    assert report.counts["rejected"] == 486
    assert report.seconds < 60
