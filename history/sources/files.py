"""The exchange files of other departments' data: ``attributes.csv`` (business_id, name, value,
valid_from YYYYMMDD, source) and ``signals.csv`` (signal_id, source, kind, occurred_on YYYYMMDD,
latitude, longitude, business_id, value, description), as described in ../shared/data/README.md
(section chicago-2014h1).

A file goes through the same checks as an API batch (history.sources.ingest.file_ingest): refused
whole, with every problem listed by line and column, or accepted whole. Two rules are the files'
own:
- a file is an export read top to bottom, so a later row with the same identity (an attribute's
  business, name and valid_from: it holds "until the next row for the same business and name"; a
  signal's signal_id) replaces an earlier one: counted as ``repeated`` when it says the same,
  ``superseded`` when it does not, and reported. An API batch, a set, refuses such pairs as
  duplicates. (Chicago's files hold both: 2,957 attributes given twice on one day with another
  value, 309 hotline complaints exported twice and 6 re-exported with a description.)
- ``import_lives`` creates the sources a file names that do not exist yet, with a schema inferred
  from the file (``infer_attribute_schema``, ``infer_signal_schema``) and a kind guessed from the
  code (``guess_kind``).
"""

import csv
import io
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import DomainError
from history.models import DataSource, SourceBatch
from history.sources.ingest import FileResult, IngestError, file_ingest
from history.sources.registry import source_create
from history.sources.schema import VALUE_MAX, parse_date, parse_number

Content = SourceBatch.Content
FILE_CHUNK_ROWS = 20_000  # rows per SourceBatch of a file, unless the source allows more
CHOICE_LIMIT = 20  # an attribute with at most this many distinct values is a choice
ERRORS_SHOWN = 50  # what a command prints of a refused file; the count says how many there are
COLUMNS = {
    Content.ATTRIBUTES: {
        "business_id": "business_key",
        "name": "name",
        "value": "value",
        "valid_from": "valid_from",
    },
    Content.SIGNALS: {
        "signal_id": "signal_id",
        "kind": "kind",
        "occurred_on": "occurred_at",
        "latitude": "latitude",
        "longitude": "longitude",
        "business_id": "business_key",
        "value": "value",
        "description": "description",
    },
}
FILE_NAMES = {Content.ATTRIBUTES: "attributes.csv", Content.SIGNALS: "signals.csv"}
_KIND_WORDS = (
    (DataSource.Kind.HOTLINE, ("hotline", "311", "12345", "complaint")),
    (DataSource.Kind.CAMERA, ("camera", "cctv", "video")),
    (DataSource.Kind.SENSOR, ("sensor", "iot", "cold_chain", "temperature")),
    (DataSource.Kind.BUREAU, ("bureau", "penalt", "court", "tax")),
    (DataSource.Kind.REGISTER, ("register", "registry", "licen")),
)


class ExchangeFileError(DomainError):
    """A file that cannot be read at all (missing columns, empty): nothing was imported."""

    status = 422


@dataclass
class ExchangeFile:
    path: Path
    content: str
    # source code ("" where the file has no source column) -> [(line, row in the API's field names)]
    rows: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    repeated: int = 0  # rows a later identical row repeated
    superseded: int = 0  # rows a later row of the same identity changed


@dataclass
class FileImport:
    file: str
    content: str
    sources: dict[str, FileResult] = field(default_factory=dict)
    created_sources: list[str] = field(default_factory=list)
    repeated: int = 0
    superseded: int = 0
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(getattr(result, name) for result in self.sources.values())

    def folded(self) -> str:
        """What the file's later rows replaced (for a command's output); "" for nothing."""
        if not (self.repeated or self.superseded):
            return ""
        return (
            f"{self.file}: {self.repeated} rows repeated and {self.superseded} changed by a later row with "
            "the same identity (the later row counts)"
        )


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # decodes anything: the fallback never fails (as history.lives)


def read_exchange(path: str | Path, content: str) -> ExchangeFile:
    path = Path(path)
    reader = csv.reader(io.StringIO(_decode(path.read_bytes()), newline=""))
    header = [column.strip() for column in next(reader, [])]
    if not header:
        raise ExchangeFileError(_("%(file)s: the file is empty") % {"file": path.name}, code="empty_file")
    columns = COLUMNS[content]
    missing = [column for column in columns if column not in header]
    if missing:
        raise ExchangeFileError(
            _("%(file)s, line 1: missing columns %(columns)s")
            % {"file": path.name, "columns": ", ".join(missing)},
            code="missing_columns",
        )
    result = ExchangeFile(path=path, content=content)
    latest: dict[tuple, tuple[int, dict]] = {}  # (source, identity) -> the last row with it
    line = reader.line_num + 1
    for values in reader:
        if any(value.strip() for value in values):
            record = {column: (values[i] if i < len(values) else "") for i, column in enumerate(header)}
            source = record.get("source", "").strip()
            row = {name: record[column] for column, name in columns.items()}
            key = (source, *_identity(content, row))
            earlier = latest.get(key)
            if earlier is not None:
                same = {k: v.strip() for k, v in earlier[1].items()} == {k: v.strip() for k, v in row.items()}
                result.repeated += same
                result.superseded += not same
            latest[key] = (line, row)
        line = reader.line_num + 1
    rows: dict[str, list] = defaultdict(list)
    for (source, *_rest), item in latest.items():
        rows[source].append(item)
    result.rows = {source: sorted(items, key=lambda item: item[0]) for source, items in rows.items()}
    return result


def _identity(content: str, row: dict) -> tuple:
    """A row's identity in its file, spelt as history.sources.rows normalises it."""
    if content == Content.SIGNALS:
        return (row["signal_id"].strip(),)
    key = row["business_key"].strip()
    key = str(int(key)) if key.isdigit() else key.upper()
    return (key, row["name"].strip(), row["valid_from"].strip())


def guess_kind(code: str, content: str) -> str:
    for kind, words in _KIND_WORDS:
        if any(word in code for word in words):
            return kind
    return DataSource.Kind.REGISTER if content == Content.ATTRIBUTES else DataSource.Kind.BUREAU


def infer_attribute_schema(rows: list[dict]) -> dict:
    """flag where the values are only 0 and 1; date where all are dates (YYYYMMDD or YYYY-MM-DD);
    number where all are numbers; choice where there are at most CHOICE_LIMIT distinct values;
    text otherwise."""
    values: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        values[row["name"].strip()].add(row["value"].strip())
    schema = {}
    for name, seen in sorted(values.items()):
        filled = seen - {""}
        if filled and filled <= {"0", "1"}:
            schema[name] = {"type": "flag"}
        elif filled and all(parse_date(value) for value in filled):
            schema[name] = {"type": "date"}
        elif filled and all(parse_number(value) is not None for value in filled):
            schema[name] = {"type": "number"}
        elif filled and len(seen) <= CHOICE_LIMIT and "" not in seen:
            schema[name] = {"type": "choice", "choices": sorted(filled)}
        else:
            schema[name] = {"type": "text", "max_length": VALUE_MAX}
    return schema


def infer_signal_schema(rows: list[dict]) -> dict:
    """Per kind: value number where rows carry numbers, else none; keyed where some row names a
    business; located where some row gives a point (and where none does either, so the rows are
    refused for lacking one)."""
    kinds: dict[str, dict] = {}
    for row in rows:
        entry = kinds.setdefault(row["kind"].strip(), {"values": set(), "keyed": False, "located": False})
        entry["values"].add(row["value"].strip())
        entry["keyed"] |= bool(row["business_key"].strip())
        entry["located"] |= bool(row["latitude"].strip() or row["longitude"].strip())
    schema = {}
    for kind, entry in sorted(kinds.items()):
        filled = entry["values"] - {""}
        numeric = bool(filled) and all(parse_number(value) is not None for value in filled)
        schema[kind] = {
            "value": "number" if numeric else "none",
            "keyed": entry["keyed"],
            "located": entry["located"] or not entry["keyed"],
        }
    return schema


def _create_source(code: str, content: str, rows: list[dict]) -> DataSource:
    attributes = infer_attribute_schema(rows) if content == Content.ATTRIBUTES else {}
    signals = infer_signal_schema(rows) if content == Content.SIGNALS else {}
    label = code.replace("_", " ").replace("-", " ")
    return source_create(
        actor=None,
        code=code,
        name=label,
        name_en=label,
        kind=guess_kind(code, content),
        business_key=DataSource.BusinessKey.LIVES,
        attribute_schema=attributes,
        signal_schema=signals,
    )


def file_errors(exc: IngestError, lines: list[int], content: str) -> list[dict]:
    """The refusal's rows as the file's lines and columns."""
    column_of = {name: column for column, name in COLUMNS[content].items()}
    found = []
    for error in exc.details["errors"]:
        message = error["message"]
        if "duplicate_of" in error:
            message = _("the same as line %(line)d") % {"line": lines[error["duplicate_of"]]}
        found.append(
            {
                "line": lines[error["row"]],
                "column": column_of.get(error["field"], error["field"]),
                "code": error["code"],
                "message": message,
            }
        )
    return found


def import_exchange_file(
    *, path: str | Path, content: str, source: DataSource | None = None, create_sources: bool = False
) -> FileImport:
    """One exchange file: for ``source`` only (its rows; rows naming another source are refused),
    or for every source it names (``create_sources``: those that do not exist are created).
    Raises ExchangeFileError for an unreadable file, IngestError (details: "errors" by line and
    column, "error_count") for bad rows; nothing is written then."""
    started = time.perf_counter()
    exchange = read_exchange(path, content)
    report = FileImport(
        file=exchange.path.name, content=content, repeated=exchange.repeated, superseded=exchange.superseded
    )
    errors: list[dict] = []
    with transaction.atomic():
        for code, items in sorted(exchange.rows.items()):
            lines = [line for line, _row in items]
            if source is not None and code not in ("", source.code):
                message = _("a row of source %(other)s, not %(source)s") % {
                    "other": code,
                    "source": source.code,
                }
                errors += [
                    {"line": line, "column": "source", "code": "wrong_source", "message": message}
                    for line in lines
                ]
                continue
            target = source or DataSource.objects.filter(code=code).first()
            if target is None and create_sources and code:
                target = _create_source(code, content, [row for _line, row in items])
                report.created_sources.append(code)
            if target is None:
                message = _("no data source has the code %(code)r") % {"code": code}
                errors += [
                    {"line": line, "column": "source", "code": "unknown_source", "message": message}
                    for line in lines
                ]
                continue
            try:
                report.sources[target.code] = file_ingest(
                    source=target,
                    content=content,
                    rows=[row for _line, row in items],
                    chunk_rows=max(target.max_batch_rows, FILE_CHUNK_ROWS),
                )
            except IngestError as exc:
                if exc.code not in ("invalid_rows", "conflict"):
                    raise
                errors += file_errors(exc, lines, content)
        if errors:
            errors.sort(key=lambda error: (error["line"], error["column"]))
            raise IngestError(
                ngettext(
                    "%(file)s: %(n)d problem; nothing was imported from it.",
                    "%(file)s: %(n)d problems; nothing was imported from it.",
                    len(errors),
                )
                % {"file": exchange.path.name, "n": len(errors)},
                code="invalid_rows",
                details={"errors": errors, "error_count": len(errors)},
            )
    report.seconds = time.perf_counter() - started
    return report


def exchange_files_in(directory: str | Path) -> list[tuple[Path, str]]:
    """The exchange files a LIVES folder holds besides its feeds, in import order."""
    directory = Path(directory)
    return [
        (directory / FILE_NAMES[content], content)
        for content in (Content.ATTRIBUTES, Content.SIGNALS)
        if (directory / FILE_NAMES[content]).is_file()
    ]


def error_lines(exc: DomainError, file: str, *, limit: int = ERRORS_SHOWN) -> list[str]:
    """A refused file's problems for a command's output: the first ``limit``, then how many more."""
    errors = (exc.details or {}).get("errors", [])
    lines = [
        f"{file}, line {e['line']}, column {e['column']}: {e['message']} [{e['code']}]"
        for e in errors[:limit]
    ]
    if len(errors) > limit:
        lines.append(
            _("… and %(n)d more problems (%(total)d in all)")
            % {"n": len(errors) - limit, "total": len(errors)}
        )
    return lines
