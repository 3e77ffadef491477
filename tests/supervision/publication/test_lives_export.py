"""Open data in the LIVES format: what goes out, what stays in, and the round trip through import_lives."""

import csv
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from history.models import HistoricalFinding, HistoricalInspection
from supervision.inspections import services as workflow
from supervision.models import InspectionTask, Result
from tests.factories import EnterpriseFactory, make_ready, make_task, submit

ROOT = Path(__file__).resolve().parents[3]


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def inspected(enterprise, team, actor, source, failing: dict[str, str]):
    task = make_task(enterprise=enterprise, team=team, actor=actor, source=source)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, failing)
    return submit(inspection, team[0].user)


@pytest.fixture
def world(db, team, regulator_user, loop_checklist, time_machine):
    """History on one enterprise, our own published, unpublished and complaint-checked results on others."""
    time_machine.move_to(timezone.make_aware(timezone.datetime(2026, 3, 2, 10, 0)), tick=False)
    imported = EnterpriseFactory(name="Tiramisu Kitchen", legal_representative="Secret Owner")
    old = HistoricalInspection.objects.create(
        enterprise=imported,
        source="lives",
        inspected_on=date(2015, 9, 3),
        kind="Routine - Unscheduled",
        score=88,
    )
    HistoricalFinding.objects.create(
        inspection=old, severity="critical", violation_type="103119", description="Inadequate hand washing"
    )
    HistoricalFinding.objects.create(
        inspection=old, severity="minor", violation_type="103154", description="Floors"
    )
    HistoricalInspection.objects.create(
        enterprise=imported, source="lives", inspected_on=date(2016, 1, 5), kind="Reinspection/Followup"
    )

    drawn = EnterpriseFactory(name="抽查餐馆", legal_representative="李四")
    inspected(drawn, team, regulator_user, InspectionTask.Source.RANDOM, {"mar-3": Result.NON_COMPLIANT})
    complained = EnterpriseFactory(name="投诉核查店")
    inspected(
        complained, team, regulator_user, InspectionTask.Source.COMPLAINT, {"mar-1": Result.NON_COMPLIANT}
    )
    time_machine.move_to(
        timezone.now() + timedelta(days=settings.PUBLICATION_DELAY_DAYS, hours=1), tick=False
    )
    fresh = EnterpriseFactory(name="刚检查的店")
    inspected(fresh, team, regulator_user, InspectionTask.Source.RISK, {})
    return {"imported": imported, "drawn": drawn, "complained": complained, "fresh": fresh}


def test_it_exports_history_and_published_results_with_the_lives_columns(world, tmp_path):
    tmp_path = tmp_path / "out"
    call_command("export_lives", str(tmp_path))
    businesses = read(tmp_path / "businesses.csv")
    inspections = read(tmp_path / "inspections.csv")
    violations = read(tmp_path / "violations.csv")

    assert list(inspections[0]) == ["business_id", "Score", "date", "type"]
    assert list(violations[0]) == ["business_id", "date", "ViolationTypeID", "risk_category", "description"]
    by_id = {row["business_id"]: row for row in businesses}
    assert {row["name"] for row in businesses} == {"Tiramisu Kitchen", "抽查餐馆"}
    drawn_id, imported_id = str(world["drawn"].pk), str(world["imported"].pk)
    assert by_id[drawn_id]["business_certificate"] == world["drawn"].uscc
    assert {(r["business_id"], r["date"], r["type"], r["Score"]) for r in inspections} == {
        (imported_id, "20150903", "Routine - Unscheduled", "88"),
        (imported_id, "20160105", "Reinspection/Followup", ""),
        (drawn_id, "20260302", "Routine - Unscheduled", ""),
    }
    ours = [r for r in violations if r["business_id"] == drawn_id]
    assert [(r["ViolationTypeID"], r["risk_category"]) for r in ours] == [("mar-3", "High Risk")]
    assert {r["risk_category"] for r in violations if r["business_id"] == imported_id} == {
        "High Risk",
        "Low Risk",
    }


def test_it_leaves_out_personal_data_unpublished_results_and_complaint_checks(world, tmp_path):
    tmp_path = tmp_path / "out"
    call_command("export_lives", str(tmp_path))
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert "Secret Owner" not in text and "李四" not in text
    assert "刚检查的店" not in text  # inside its objection window
    assert "投诉核查店" not in text  # a complaint check is published with the complaint, not alone
    assert "owner_name" not in text


def test_a_district_export_holds_only_that_district(world, tmp_path):
    from core.models import District

    world["drawn"].district = District.objects.get(code="110108")
    world["drawn"].save()
    call_command("export_lives", str(tmp_path / "out"), "--district", "110108")
    assert {row["name"] for row in read(tmp_path / "out" / "businesses.csv")} == {"抽查餐馆"}


def test_an_unknown_district_is_refused_and_nothing_is_written(db, tmp_path):
    with pytest.raises(CommandError, match="unknown district"):
        call_command("export_lives", str(tmp_path / "out"), "--district", "999999")
    assert not (tmp_path / "out").exists()


def _history_in_a_fresh_database(directory: Path, tmp_path: Path) -> dict:
    """Import the export into a brand-new SQLite database (another process) and read it back."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "import_lives", str(directory)], cwd=ROOT, env=env, check=True, capture_output=True
    )
    dump = (
        "import json; from history.models import HistoricalInspection as I, HistoricalFinding as F; "
        "print(json.dumps({"
        "'inspections': sorted([i.enterprise.uscc, str(i.inspected_on), i.kind] for i in I.objects.all()), "
        "'findings': sorted([f.inspection.enterprise.uscc, str(f.inspection.inspected_on), f.severity, "
        "f.violation_type, f.description] for f in F.objects.all())}))"
    )
    out = subprocess.run(
        [*manage, "shell", "-v", "0", "-c", dump],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_export_then_import_into_an_empty_database_gives_the_same_inspections_and_findings(world, tmp_path):
    call_command("export_lives", str(tmp_path / "open-data"))
    again = _history_in_a_fresh_database(tmp_path / "open-data", tmp_path)

    imported, drawn = world["imported"], world["drawn"]
    expected_inspections = sorted(
        [[imported.uscc, str(i.inspected_on), i.kind] for i in imported.historical_inspections.all()]
        + [[drawn.uscc, "2026-03-02", "Routine - Unscheduled"]]
    )
    expected_findings = sorted(
        [
            [imported.uscc, str(f.inspection.inspected_on), f.severity, f.violation_type, f.description]
            for f in HistoricalFinding.objects.filter(inspection__enterprise=imported)
        ]
        + [
            [drawn.uscc, "2026-03-02", f.severity, f.item.code, f.item.question]
            for f in drawn.inspections.get().findings.all()
        ]
    )
    assert again == {"inspections": expected_inspections, "findings": expected_findings}
