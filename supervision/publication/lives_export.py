"""Open data: export published inspection results in the LIVES format the importer reads.

Three files in a folder — businesses.csv, inspections.csv, violations.csv — with LIVES's column
names (San Francisco's set is the reference: /work/shared/data/sf). What goes out:

- inspections: every imported historical inspection, and our own inspections once published
  (supervision.publication.selectors: drawn and routine visits past the objection window);
- violations: their findings; our own findings name the checklist item (code as ViolationTypeID,
  question as description) and map severity back to LIVES's risk categories;
- businesses: the enterprises those inspections are about, with the USCC in
  ``business_certificate`` so a re-import keeps the real codes. No personal data: the legal
  representative (LIVES's owner_* columns) stays out of open data.

``business_id`` is the enterprise's id in this system: stable, numeric as LIVES expects.
Written in UTF-8, streamed row by row (never the whole table in memory).
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from core.models import Enterprise
from history.lives import SEVERITY
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import Finding, InspectionTask
from supervision.publication.selectors import published_inspections

BUSINESS_COLUMNS = (
    "business_id",
    "name",
    "address",
    "city",
    "postal_code",
    "latitude",
    "longitude",
    "phone_number",
    "business_certificate",
    "application_date",
)
INSPECTION_COLUMNS = ("business_id", "Score", "date", "type")
VIOLATION_COLUMNS = ("business_id", "date", "ViolationTypeID", "risk_category", "description")
# The importer's mapping, read backwards: what goes out comes back in as the same severity.
RISK_CATEGORY = {severity: category for category, severity in SEVERITY.items()}
# Our task sources in LIVES's inspection types.
INSPECTION_TYPE = {
    InspectionTask.Source.COMPLAINT: "Complaint",
    InspectionTask.Source.REINSPECTION: "Reinspection/Followup",
}
ROUTINE = "Routine - Unscheduled"


@dataclass
class ExportReport:
    directory: Path
    counts: dict[str, int] = field(default_factory=dict)


def _day(value) -> str:
    return value.strftime("%Y%m%d")


def lives_export(directory: Path, *, district=None) -> ExportReport:
    """Write the three files into ``directory`` (created if missing); ``district`` limits to its subtree."""
    directory.mkdir(parents=True, exist_ok=True)
    scope = Q() if district is None else Q(enterprise__district__path__startswith=district.path)
    history = HistoricalInspection.objects.filter(scope)
    ours = published_inspections().filter(scope)
    report = ExportReport(directory=directory)

    with (directory / "inspections.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(INSPECTION_COLUMNS)
        n = 0
        for row in (
            history.order_by("enterprise_id", "inspected_on", "kind")
            .values_list("enterprise_id", "score", "inspected_on", "kind")
            .iterator(chunk_size=5000)
        ):
            enterprise_id, score, on, kind = row
            writer.writerow((enterprise_id, "" if score is None else score, _day(on), kind))
            n += 1
        for enterprise_id, submitted_at, source in (
            ours.order_by("enterprise_id", "submitted_at")
            .values_list("enterprise_id", "submitted_at", "task__source")
            .iterator(chunk_size=5000)
        ):
            writer.writerow(
                (
                    enterprise_id,
                    "",
                    _day(timezone.localtime(submitted_at)),
                    INSPECTION_TYPE.get(source, ROUTINE),
                )
            )
            n += 1
        report.counts["inspections"] = n

    with (directory / "violations.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(VIOLATION_COLUMNS)
        n = 0
        for enterprise_id, on, violation_type, severity, description in (
            HistoricalFinding.objects.filter(inspection__in=history)
            .order_by("inspection__enterprise_id", "inspection__inspected_on", "id")
            .values_list(
                "inspection__enterprise_id",
                "inspection__inspected_on",
                "violation_type",
                "severity",
                "description",
            )
            .iterator(chunk_size=5000)
        ):
            writer.writerow((enterprise_id, _day(on), violation_type, RISK_CATEGORY[severity], description))
            n += 1
        for enterprise_id, submitted_at, code, severity, question in (
            Finding.objects.filter(inspection__in=ours)
            .order_by("inspection__enterprise_id", "inspection__submitted_at", "id")
            .values_list(
                "inspection__enterprise_id",
                "inspection__submitted_at",
                "item__code",
                "severity",
                "item__question",
            )
            .iterator(chunk_size=5000)
        ):
            writer.writerow(
                (
                    enterprise_id,
                    _day(timezone.localtime(submitted_at)),
                    code,
                    RISK_CATEGORY[severity],
                    question,
                )
            )
            n += 1
        report.counts["violations"] = n

    enterprises = Enterprise.objects.filter(
        Q(pk__in=history.values("enterprise_id")) | Q(pk__in=ours.values("enterprise_id"))
    ).select_related("district")
    with (directory / "businesses.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(BUSINESS_COLUMNS)
        n = 0
        for enterprise in enterprises.order_by("pk").iterator(chunk_size=5000):
            writer.writerow(
                (
                    enterprise.pk,
                    enterprise.name,
                    enterprise.address,
                    enterprise.district.name,
                    "",
                    "" if enterprise.latitude is None else enterprise.latitude,
                    "" if enterprise.longitude is None else enterprise.longitude,
                    "",
                    enterprise.uscc,
                    "" if enterprise.opened_on is None else _day(enterprise.opened_on),
                )
            )
            n += 1
        report.counts["businesses"] = n
    return report
