"""Import a LIVES folder (businesses, inspections, violations CSV feeds) as enterprises and history.

LIVES (Local Inspector Value-Entry Specification) is the open format US health
departments publish restaurant inspections in; San Francisco's archive in
/work/shared/data/sf is the reference feed.

- Files: ``businesses.csv`` or ``businesses_plus.csv`` (any ``businesses*.csv``), likewise for
  inspections and violations. Each file is UTF-8 if it decodes strictly as UTF-8, else Latin-1
  (SF's businesses_plus.csv is Latin-1; other feeds are UTF-8).
- All three headers are checked before anything is written: a missing column refuses the run.
- Rows are checked one by one; a bad row is reported (file, line, column, reason) and skipped.
- Every LIVES business becomes an Enterprise in one district and scene chosen by the caller, with a
  synthetic but valid USCC derived from the business id ("LE" marker at positions 9-10, like the
  demo data's "DM"), so the same id always gets the same code.
- The optional ``latitude``/``longitude`` columns become the enterprise's location (0/0 means
  unknown; an impossible point is reported and the business imported without one): off-site
  signals located by a point (a hotline complaint about the street) reach the businesses near it.
- Re-running is a no-op: businesses upsert by (source, business id); an inspection that already
  exists (enterprise, date, type) is skipped together with its violations, so findings are
  never duplicated.
- One transaction for the whole run, rows written with ``bulk_create`` in chunks; one
  ``history.import_lives`` audit event in that transaction.
- Then, when the folder holds them, the exchange files of other departments' data
  (``attributes.csv``, ``signals.csv``; history.sources.files), once the businesses exist so that
  their keys resolve. Each file is accepted whole or refused whole (its problems in
  ``exchange_refused``; the LIVES feeds stay imported); the sources it names are created if they
  do not exist (business key: the LIVES business id).
"""

import csv
import io
import re
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from core import uscc
from core.audit import audit_record
from core.errors import DomainError
from core.models import District, Enterprise, Scene
from core.signals import enterprises_registered
from history.models import HistoricalFinding, HistoricalInspection, Source, SourceRecord
from history.sources.files import FileImport, exchange_files_in, import_exchange_file

SOURCE = Source.LIVES
# "LE" (LivEs), not "LV": V is not in the USCC alphabet. Demo data uses "DM".
MARKER = "LE"
CHUNK_SIZE = 2000
# USCC form 9/1: registered by market regulation (9), an enterprise (1).
USCC_AUTHORITY, USCC_KIND = "9", "1"
_ID_DIGITS = 6
ID_LIMIT = len(uscc.ALPHABET) ** _ID_DIGITS  # 887,503,681 business ids fit after the marker

FEEDS = {
    "businesses": ("business_id", "name", "address"),
    "inspections": ("business_id", "Score", "date", "type"),
    "violations": ("business_id", "date", "ViolationTypeID", "risk_category", "description"),
}
SEVERITY = {
    "Low Risk": HistoricalFinding.Severity.MINOR,
    "Moderate Risk": HistoricalFinding.Severity.MAJOR,
    "High Risk": HistoricalFinding.Severity.CRITICAL,
}
NAME_MAX = Enterprise._meta.get_field("name").max_length
ADDRESS_MAX = Enterprise._meta.get_field("address").max_length
KIND_MAX = HistoricalInspection._meta.get_field("kind").max_length
TYPE_MAX = HistoricalFinding._meta.get_field("violation_type").max_length
_DATE = re.compile(r"\d{8}")


@dataclass(frozen=True)
class RowError:
    """One refused row. ``line`` is the physical line the row starts on (header = 1)."""

    file: str
    line: int
    column: str
    reason: str
    value: str = ""


@dataclass
class LivesReport:
    files: dict[str, str] = field(default_factory=dict)  # feed -> "name (encoding)"
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    exchange: list[FileImport] = field(default_factory=list)
    exchange_refused: list[tuple[str, DomainError]] = field(default_factory=list)  # (file, why)
    seconds: float = 0.0


class LivesFileError(DomainError):
    """The folder or a whole file is refused (missing file, missing columns): nothing was imported."""


def lives_uscc(business_id: int, *, division: str) -> str:
    """The synthetic USCC of LIVES business ``business_id``: one id, one code, always valid."""
    digits = []
    number = business_id
    for _ in range(_ID_DIGITS):
        number, digit = divmod(number, len(uscc.ALPHABET))
        digits.append(uscc.ALPHABET[digit])
    return uscc.build(
        authority=USCC_AUTHORITY, kind=USCC_KIND, division=division, body8=MARKER + "".join(reversed(digits))
    )


def _find_file(directory: Path, feed: str) -> Path:
    # Exact names first, so a folder holding both businesses.csv and a stray businesses_old.csv works.
    for name in (f"{feed}.csv", f"{feed}_plus.csv"):
        if (directory / name).is_file():
            return directory / name
    candidates = sorted(p for p in directory.glob(f"{feed}*.csv") if p.is_file())
    if not candidates:
        raise LivesFileError(f"{directory}: no {feed}.csv or {feed}_plus.csv", code="missing_file")
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise LivesFileError(f"{directory}: more than one {feed} file ({names})", code="ambiguous_file")
    return candidates[0]


def _decode(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        # Latin-1 decodes any byte string, so it is the fallback, never a guess that can fail.
        return raw.decode("latin-1"), "latin-1"


@dataclass
class _Feed:
    name: str
    encoding: str
    rows: list[tuple[int, dict[str, str]]]  # (line, row)


def _read(path: Path, required: tuple[str, ...]) -> _Feed:
    text, encoding = _decode(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise LivesFileError(f"{path.name}: the file is empty", code="empty_file")
    header = [column.strip() for column in header]
    missing = [column for column in required if column not in header]
    if missing:
        raise LivesFileError(
            f"{path.name}, line 1: missing columns {', '.join(missing)}", code="missing_columns"
        )
    rows = []
    line = reader.line_num + 1
    for values in reader:
        if any(value.strip() for value in values):
            row = {column: (values[i] if i < len(values) else "") for i, column in enumerate(header)}
            rows.append((line, row))
        line = reader.line_num + 1
    return _Feed(name=path.name, encoding=encoding, rows=rows)


def _parse_date(value: str) -> date | None:
    value = value.strip()
    if not _DATE.fullmatch(value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _chunks(items: list, size: int = CHUNK_SIZE):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lives_import(
    *, directory: str | Path, district_code: str = "110105", scene_code: str = "catering"
) -> LivesReport:
    """Import one LIVES folder. Raises LivesFileError (nothing written) for folder- or file-level problems."""
    started = time.perf_counter()
    directory = Path(directory)
    if not directory.is_dir():
        raise LivesFileError(f"{directory}: not a folder", code="missing_folder")
    try:
        district = District.objects.get(code=district_code)
    except District.DoesNotExist:
        raise LivesFileError(f"unknown district {district_code}", code="unknown_district") from None
    try:
        scene = Scene.objects.get(code=scene_code)
    except Scene.DoesNotExist:
        raise LivesFileError(f"unknown scene {scene_code}", code="unknown_scene") from None

    # All three files are read and their headers checked before anything is written.
    feeds = {feed: _read(_find_file(directory, feed), required) for feed, required in FEEDS.items()}
    report = LivesReport(files={feed: f"{f.name} ({f.encoding})" for feed, f in feeds.items()})
    with transaction.atomic():
        enterprise_ids = _import_businesses(feeds["businesses"], district, scene, report)
        inspections = _import_inspections(feeds["inspections"], enterprise_ids, report)
        _import_violations(feeds["violations"], enterprise_ids, inspections, report)
        report.counts["rejected"] = len(report.errors)
        audit_record(actor=None, action="history.import_lives", data=report.counts)
    for path, content in exchange_files_in(directory):
        try:
            report.exchange.append(import_exchange_file(path=path, content=content, create_sources=True))
        except DomainError as exc:
            report.exchange_refused.append((path.name, exc))
    report.seconds = time.perf_counter() - started
    return report


def _import_businesses(feed: _Feed, district: District, scene: Scene, report: LivesReport) -> dict[str, int]:
    """Upsert the businesses; return every known LIVES business id -> enterprise id."""

    def reject(line, column, reason, value=""):
        report.errors.append(RowError(feed.name, line, column, reason, value))

    division = district.code[:6]
    accepted: dict[str, tuple] = {}  # source id -> (uscc, name, address, latitude, longitude)
    first_line: dict[str, int] = {}
    for line, row in feed.rows:
        raw_id = row["business_id"].strip()
        if not raw_id.isdigit() or int(raw_id) >= ID_LIMIT:
            reject(line, "business_id", f"must be a whole number below {ID_LIMIT}", raw_id)
            continue
        source_id = str(int(raw_id))
        if source_id in first_line:
            reject(line, "business_id", f"duplicate of line {first_line[source_id]}", raw_id)
            continue
        name, address = row["name"].strip(), row["address"].strip()
        if not name:
            reject(line, "name", "is required")
            continue
        if len(name) > NAME_MAX:
            reject(line, "name", f"longer than {NAME_MAX} characters", name)
            continue
        if len(address) > ADDRESS_MAX:
            reject(line, "address", f"longer than {ADDRESS_MAX} characters", address)
            continue
        first_line[source_id] = line
        latitude, longitude = _location(row)
        if latitude is _BAD:
            reject(line, "latitude", "not a location; imported without one", f"{row.get('latitude')}")
            latitude = longitude = None
        # Our own open-data export carries the real USCC; other feeds get a synthetic one.
        certificate = uscc.normalize(row.get("business_certificate") or "")
        code = certificate if uscc.is_valid(certificate) else lives_uscc(int(source_id), division=division)
        accepted[source_id] = (code, name, address, latitude, longitude)

    known = dict(SourceRecord.objects.filter(source=SOURCE).values_list("source_id", "enterprise_id"))
    existing_by_uscc: dict[str, Enterprise] = {}
    wanted_usccs = [accepted[s][0] for s in accepted]
    for chunk in _chunks(wanted_usccs, 900):
        existing_by_uscc.update((e.uscc, e) for e in Enterprise.objects.filter(uscc__in=chunk))

    created, changed, unchanged, relinked = [], [], 0, []
    for source_id, (code, name, address, latitude, longitude) in accepted.items():
        enterprise = existing_by_uscc.get(code)
        if enterprise is None:
            created.append(
                (
                    source_id,
                    Enterprise(
                        uscc=code,
                        name=name,
                        address=address,
                        latitude=latitude,
                        longitude=longitude,
                        district=district,
                        scene=scene,
                    ),
                )
            )
            continue
        if source_id not in known:
            # The enterprise survived but its source record did not: link it again rather than fail.
            relinked.append(SourceRecord(source=SOURCE, source_id=source_id, enterprise=enterprise))
        fields = (name, address, latitude, longitude)
        if (enterprise.name, enterprise.address, enterprise.latitude, enterprise.longitude) != fields:
            enterprise.name, enterprise.address, enterprise.latitude, enterprise.longitude = fields
            changed.append(enterprise)
        else:
            unchanged += 1

    for chunk in _chunks(created):
        Enterprise.objects.bulk_create([enterprise for _, enterprise in chunk])
    records = [SourceRecord(source=SOURCE, source_id=s, enterprise=e) for s, e in created] + relinked
    for chunk in _chunks(records):
        SourceRecord.objects.bulk_create(chunk)
    if created:
        # Signals that named these businesses before they were imported now count for them.
        enterprises_registered.send(sender=Enterprise, usccs=[e.uscc for _, e in created])
    for chunk in _chunks(changed):
        Enterprise.objects.bulk_update(chunk, ["name", "address", "latitude", "longitude", "updated_at"])

    report.counts.update(
        businesses_read=len(feed.rows),
        enterprises_created=len(created),
        enterprises_updated=len(changed),
        enterprises_unchanged=unchanged,
    )
    known.update((s, e.pk) for s, e in created)
    known.update((r.source_id, r.enterprise_id) for r in relinked)
    return known


_BAD = object()
COORDINATE = Decimal("0.000001")


def _location(row) -> tuple:
    """The business's point from the optional latitude and longitude columns, as the register stores
    it (6 decimals); (None, None) when absent, (_BAD, _BAD) when not a point on Earth. Feeds write
    0/0 for "unknown": that is no location, not the Gulf of Guinea."""
    raw = ((row.get("latitude") or "").strip(), (row.get("longitude") or "").strip())
    if not all(raw):
        return None, None
    try:
        latitude, longitude = (Decimal(value) for value in raw)
    except InvalidOperation:
        return _BAD, _BAD
    if not (latitude.is_finite() and longitude.is_finite()):
        return _BAD, _BAD
    if latitude == 0 and longitude == 0:
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return _BAD, _BAD
    return latitude.quantize(COORDINATE), longitude.quantize(COORDINATE)


def _business(row, line, feed: _Feed, enterprise_ids: dict[str, int], report: LivesReport) -> int | None:
    raw_id = row["business_id"].strip()
    source_id = str(int(raw_id)) if raw_id.isdigit() else raw_id
    enterprise_id = enterprise_ids.get(source_id)
    if enterprise_id is None:
        report.errors.append(RowError(feed.name, line, "business_id", "unknown business id", raw_id))
    return enterprise_id


@dataclass
class _Inspection:
    line: int
    instance: HistoricalInspection
    new: bool


def _import_inspections(
    feed: _Feed, enterprise_ids: dict[str, int], report: LivesReport
) -> dict[tuple[int, date], list[_Inspection]]:
    """Create the new inspections; return (enterprise id, date) -> this file's inspections, file order."""

    def reject(line, column, reason, value=""):
        report.errors.append(RowError(feed.name, line, column, reason, value))

    existing = {
        (enterprise_id, inspected_on, kind): pk
        for enterprise_id, inspected_on, kind, pk in HistoricalInspection.objects.filter(
            enterprise__source_record__source=SOURCE
        ).values_list("enterprise_id", "inspected_on", "kind", "pk")
    }
    seen: dict[tuple, int] = {}
    by_day: dict[tuple[int, date], list[_Inspection]] = {}
    new = []
    for line, row in feed.rows:
        enterprise_id = _business(row, line, feed, enterprise_ids, report)
        if enterprise_id is None:
            continue
        inspected_on = _parse_date(row["date"])
        if inspected_on is None:
            reject(line, "date", "not a date in the form YYYYMMDD", row["date"])
            continue
        kind = row["type"].strip()
        if not kind:
            reject(line, "type", "is required")
            continue
        if len(kind) > KIND_MAX:
            reject(line, "type", f"longer than {KIND_MAX} characters", kind)
            continue
        raw_score = row["Score"].strip()
        score = None
        if raw_score:
            if not raw_score.isdigit() or int(raw_score) > 100:
                reject(line, "Score", "not a whole number from 0 to 100", raw_score)
                continue
            score = int(raw_score)
        key = (enterprise_id, inspected_on, kind)
        if key in seen:
            reject(line, "date", f"duplicate of the inspection on line {seen[key]}", row["date"])
            continue
        seen[key] = line
        instance = HistoricalInspection(
            enterprise_id=enterprise_id, source=SOURCE, inspected_on=inspected_on, kind=kind, score=score
        )
        is_new = key not in existing
        if is_new:
            new.append(instance)
        else:
            instance.pk = existing[key]
        by_day.setdefault((enterprise_id, inspected_on), []).append(_Inspection(line, instance, is_new))

    for chunk in _chunks(new):
        HistoricalInspection.objects.bulk_create(chunk)
    report.counts.update(
        inspections_read=len(feed.rows),
        inspections_created=len(new),
        inspections_existing=len(seen) - len(new),
    )
    return by_day


def _import_violations(
    feed: _Feed,
    enterprise_ids: dict[str, int],
    inspections: dict[tuple[int, date], list[_Inspection]],
    report: LivesReport,
) -> None:
    def reject(line, column, reason, value=""):
        report.errors.append(RowError(feed.name, line, column, reason, value))

    findings, skipped = [], 0
    for line, row in feed.rows:
        enterprise_id = _business(row, line, feed, enterprise_ids, report)
        if enterprise_id is None:
            continue
        inspected_on = _parse_date(row["date"])
        if inspected_on is None:
            reject(line, "date", "not a date in the form YYYYMMDD", row["date"])
            continue
        severity = SEVERITY.get(row["risk_category"].strip())
        if severity is None:
            reject(
                line, "risk_category", "not one of Low Risk, Moderate Risk, High Risk", row["risk_category"]
            )
            continue
        violation_type = row["ViolationTypeID"].strip()
        if len(violation_type) > TYPE_MAX:
            reject(line, "ViolationTypeID", f"longer than {TYPE_MAX} characters", violation_type)
            continue
        candidates = inspections.get((enterprise_id, inspected_on))
        if not candidates:
            reject(line, "date", "no inspection of this business on this date", row["date"])
            continue
        # LIVES violations name no inspection. When a business had several on one day (SF: ~1,000
        # days), violations are written at the scored one, which is the inspection proper; the
        # others are follow-ups or site visits. Otherwise the first in the file.
        inspection = next((c for c in candidates if c.instance.score is not None), candidates[0])
        if not inspection.new:
            skipped += 1
            continue
        findings.append(
            HistoricalFinding(
                inspection=inspection.instance,
                severity=severity,
                violation_type=violation_type,
                description=row["description"].strip(),
            )
        )
    for chunk in _chunks(findings):
        HistoricalFinding.objects.bulk_create(chunk)
    report.counts.update(
        violations_read=len(feed.rows),
        findings_created=len(findings),
        findings_of_existing_inspections=skipped,
    )
