"""Bulk import of enterprises from a CSV file: the onboarding path for a registry
export, shared by the ``import_enterprises`` command and (later) a web upload.

The file is read twice and never held in memory: a first pass only checks that
every byte decodes (so an encoding problem refuses the whole file before anything
is written), the second streams rows, validates them and writes them in chunks
with ``bulk_create``. What stays in memory is one chunk, the reference codes and
one dict entry per distinct valid USCC (to name the first line of an in-file duplicate,
roughly 150 bytes a row).

Transactions and the audit event:

- Default mode commits chunk by chunk, so a failure late in a large file keeps
  the rows already committed, and never leaves a half-written row or chunk.
- ``strict`` mode writes everything in one transaction and rolls it back if any
  row was rejected.
- Every run that gets past the file-level checks writes exactly one
  ``enterprise.import`` event, in the transaction that commits its last rows.
  When nothing is committed (no acceptable row, or a strict run that was
  rolled back) the event is written alone, so refused runs are on record too.
  A file refused outright (``ImportFileError``) writes no event: nothing was read.
"""

import codecs
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import uscc as uscc_rule
from core.audit import audit_record
from core.errors import DomainError
from core.models import District, Enterprise, Scene
from core.signals import enterprises_registered

COLUMNS = ("uscc", "name", "address", "district_code", "scene_code")
CHUNK_SIZE = 2000
# A report lists the first MAX_ERRORS refusals and counts the rest (``errors_not_listed``): a file of
# a million bad rows kept a million errors in memory and printed them all. The count of rejected
# rows stays exact.
MAX_ERRORS = 100
# A refused value is quoted by its start (a cell may hold 128 KB).
MAX_VALUE = 200
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")
NAME_MAX = Enterprise._meta.get_field("name").max_length
ADDRESS_MAX = Enterprise._meta.get_field("address").max_length


@dataclass(frozen=True)
class RowError:
    """One reason one row was refused. ``line`` is the physical line the row starts on (header = 1)."""

    line: int
    column: str
    reason: str
    value: str = ""


@dataclass
class ImportReport:
    file_name: str
    encoding: str
    strict: bool
    imported: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_not_listed: int = 0

    def refuse(self, *errors: RowError) -> None:
        """Note a row's refusals: listed while fewer than MAX_ERRORS are, counted after."""
        for error in errors:
            if len(self.errors) < MAX_ERRORS:
                value = error.value if len(error.value) <= MAX_VALUE else error.value[: MAX_VALUE - 1] + "…"
                self.errors.append(RowError(error.line, error.column, error.reason, value))
            else:
                self.errors_not_listed += 1

    @property
    def failed(self) -> bool:
        """Rows were refused and none was imported: callers exit non-zero / show an error."""
        return self.rejected > 0 and self.imported == 0


class ImportFileError(DomainError):
    """The whole file is refused (encoding, header): nothing was imported."""


class _StrictRollback(Exception):
    pass


@dataclass
class _Candidate:
    line: int
    enterprise: Enterprise


def import_enterprises(
    *,
    path_or_stream: str | os.PathLike | BinaryIO,
    encoding: str | None = None,
    strict: bool = False,
    actor=None,
) -> ImportReport:
    """Import the rows of a CSV file (columns ``COLUMNS``, any order, extra columns ignored).

    ``path_or_stream`` is a path or a binary file object (an upload); ``encoding``
    overrides detection of UTF-8 (with or without BOM) and GB18030/GBK.
    Raises ImportFileError when the file as a whole is refused.
    """
    with _open_binary(path_or_stream) as binary:
        encoding = _resolve_encoding(binary, encoding)
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        try:
            rows = _rows(csv.reader(text))
            header = _header(next(rows, None))
            report = ImportReport(file_name=_file_name(path_or_stream), encoding=encoding, strict=strict)
            if strict:
                _import_strict(rows, header, report, actor)
            else:
                _import_chunked(rows, header, report, actor)
        finally:
            # Leave a caller's stream open: closing the wrapper would close it.
            text.detach()
    return report


# --- reading -------------------------------------------------------------------


@contextmanager
def _open_binary(path_or_stream) -> Iterator[BinaryIO]:
    if isinstance(path_or_stream, str | os.PathLike):
        with open(path_or_stream, "rb") as binary:
            yield binary
        return
    if path_or_stream.seekable():
        path_or_stream.seek(0)
        yield path_or_stream
        return
    # Two passes need a seekable file; a pipe is spooled to disk once it is large.
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        shutil.copyfileobj(path_or_stream, spool)
        spool.seek(0)
        yield spool


def _file_name(path_or_stream) -> str:
    name = (
        path_or_stream
        if isinstance(path_or_stream, str | os.PathLike)
        else getattr(path_or_stream, "name", "")
    )
    # An upload's name is the client's; a file opened from a descriptor has an int name.
    return Path(name).name if isinstance(name, str | os.PathLike) else ""


def _resolve_encoding(binary: BinaryIO, encoding: str | None) -> str:
    """Return the codec to read with, after checking that the whole file decodes with it."""
    if encoding:
        try:
            # TextIOWrapper, not codecs.lookup: it also refuses codecs that are not text encodings (base64).
            name = io.TextIOWrapper(io.BytesIO(), encoding=encoding).encoding
            name = codecs.lookup(name).name
        except LookupError:
            raise ImportFileError(
                _("unknown encoding %(encoding)r") % {"encoding": encoding}, code="unknown_encoding"
            ) from None
        bad_line = _first_undecodable_line(binary, name)
        if bad_line:
            raise ImportFileError(
                _("line %(line)d cannot be decoded as %(encoding)s") % {"line": bad_line, "encoding": name},
                code="undecodable",
            )
        return name
    bad_lines = []
    for candidate in AUTO_ENCODINGS:
        bad_line = _first_undecodable_line(binary, candidate)
        if not bad_line:
            return candidate
        bad_lines.append(bad_line)
    raise ImportFileError(
        _(
            "the file is neither UTF-8 (line %(utf8)d cannot be decoded) nor GB18030/GBK "
            "(line %(gb)d cannot be decoded); give its encoding with --encoding"
        )
        % {"utf8": bad_lines[0], "gb": bad_lines[1]},
        code="undecodable",
    )


def _first_undecodable_line(binary: BinaryIO, encoding: str) -> int | None:
    """Decode the whole file without keeping it; return the first line that fails, or None."""
    binary.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line = 0
    try:
        # Splitting on b"\n" is safe for UTF-8 and GB18030: no multi-byte character contains that byte.
        for raw in binary:
            line += 1
            decoder.decode(raw)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        # A sequence cut off at the very end is reported on the last line.
        return max(line, 1)
    finally:
        binary.seek(0)
    return None


def _rows(reader) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """Yield (line the row starts on, cells), skipping blank rows.

    An unreadable row yields its csv.Error instead of cells and does not stop the file.
    """
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        if any(cell.strip() for cell in cells):
            yield start, cells


def _header(first) -> dict[str, int]:
    """Map each required column to its index; refuse a missing or repeated one."""
    if first is None:
        raise ImportFileError(_("the file is empty: it has no header row"), code="no_header")
    _line, cells = first
    if isinstance(cells, csv.Error):
        raise ImportFileError(
            _("the header row cannot be read: %(error)s") % {"error": cells}, code="no_header"
        )
    # Names are compared trimmed and case-insensitively. A BOM is still there when
    # the caller said "utf-8" (not "utf-8-sig") for a file that has one.
    names = [cell.strip().lstrip("\ufeff").strip().lower() for cell in cells]
    repeated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    if repeated:
        raise ImportFileError(
            _("the header repeats the column(s) %(columns)s") % {"columns": ", ".join(repeated)},
            code="duplicate_columns",
        )
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise ImportFileError(
            _("the header lacks the required column(s) %(columns)s") % {"columns": ", ".join(missing)},
            code="missing_columns",
        )
    return {column: names.index(column) for column in COLUMNS}


# --- validating ----------------------------------------------------------------


class _Validator:
    """Checks what can be checked without the database, one row at a time."""

    def __init__(self, header: dict[str, int]):
        self.header = header
        self.districts = {}
        self.cities = set()
        for pk, code, level in District.objects.values_list("pk", "code", "level"):
            if level == District.Level.CITY:
                self.cities.add(code)
            else:
                self.districts[code] = pk
        self.scenes = dict(Scene.objects.values_list("code", "pk"))
        # USCC -> line of its first occurrence in this file.
        self.seen: dict[str, int] = {}

    def check(self, line: int, cells: list[str]) -> tuple[_Candidate | None, list[RowError]]:
        values = {column: cells[index] if index < len(cells) else "" for column, index in self.header.items()}
        errors = [
            RowError(line, column, _("contains a NUL character"), value.replace("\x00", "\\x00"))
            for column, value in values.items()
            if "\x00" in value
        ]
        if errors:
            # PostgreSQL cannot store NUL in text: stop here rather than fail the whole chunk later.
            return None, errors

        raw_uscc = values["uscc"]
        code = None
        try:
            code = uscc_rule.check(raw_uscc)
        except uscc_rule.USCCError as exc:
            errors.append(
                RowError(
                    line,
                    "uscc",
                    _("invalid unified social credit code: %(reason)s") % {"reason": exc.message},
                    raw_uscc,
                )
            )
        else:
            # The first occurrence owns the code even if another of its columns is bad:
            # a later row with the same code is a duplicate either way.
            first = self.seen.setdefault(code, line)
            if first != line:
                errors.append(
                    RowError(
                        line,
                        "uscc",
                        _("duplicate of line %(first)d in this file") % {"first": first},
                        raw_uscc,
                    )
                )

        name = values["name"].strip()
        if not name:
            errors.append(RowError(line, "name", _("name is empty"), values["name"]))
        elif len(name) > NAME_MAX:
            errors.append(RowError(line, "name", _too_long(len(name), NAME_MAX), values["name"]))
        address = values["address"].strip()
        if len(address) > ADDRESS_MAX:
            errors.append(RowError(line, "address", _too_long(len(address), ADDRESS_MAX), values["address"]))

        district_code = values["district_code"].strip()
        district_id = self.districts.get(district_code)
        if district_id is None:
            if district_code in self.cities:
                reason = _("%(code)r is the city; give a district or street code") % {"code": district_code}
            else:
                reason = _("unknown district code %(code)r") % {"code": district_code}
            errors.append(RowError(line, "district_code", reason, values["district_code"]))
        scene_code = values["scene_code"].strip()
        scene_id = self.scenes.get(scene_code)
        if scene_id is None:
            errors.append(
                RowError(
                    line,
                    "scene_code",
                    _("unknown scene code %(code)r") % {"code": scene_code},
                    values["scene_code"],
                )
            )

        if errors:
            return None, errors
        enterprise = Enterprise(
            uscc=code, name=name, address=address, district_id=district_id, scene_id=scene_id
        )
        return _Candidate(line, enterprise), []


def _too_long(length: int, limit: int) -> str:
    return _("too long: %(length)d characters, at most %(limit)d") % {"length": length, "limit": limit}


def _already_imported(line: int, code: str) -> RowError:
    return RowError(line, "uscc", _("already in the database"), code)


def _existing_usccs(codes: list[str]) -> set[str]:
    return set(Enterprise.objects.filter(uscc__in=codes).values_list("uscc", flat=True))


def _chunks(rows, validator: _Validator, report: ImportReport) -> Iterator[list[_Candidate]]:
    """Validate rows as they stream by, recording errors; yield the acceptable ones in chunks."""
    chunk: list[_Candidate] = []
    for line, cells in rows:
        if isinstance(cells, csv.Error):
            report.rejected += 1
            report.refuse(RowError(line, "", _("unreadable CSV row: %(error)s") % {"error": cells}))
            continue
        candidate, errors = validator.check(line, cells)
        if errors:
            report.rejected += 1
            report.refuse(*errors)
            continue
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
        chunk.append(candidate)
    # Always yield the last (possibly empty) chunk: the final transaction writes it with the audit event.
    yield chunk


# --- writing -------------------------------------------------------------------


def _write_chunk(chunk: list[_Candidate], report: ImportReport, *, write: bool = True) -> None:
    """Refuse the rows already in the database, then insert the rest. Call inside a transaction."""
    taken = _existing_usccs([candidate.enterprise.uscc for candidate in chunk])
    while True:
        fresh = []
        for candidate in chunk:
            if candidate.enterprise.uscc in taken:
                report.rejected += 1
                report.refuse(_already_imported(candidate.line, candidate.enterprise.uscc))
            else:
                fresh.append(candidate)
        if not write or not fresh:
            return
        try:
            with transaction.atomic():
                Enterprise.objects.bulk_create([candidate.enterprise for candidate in fresh])
        except IntegrityError:
            # Another writer inserted some of these codes since we looked (PostgreSQL, READ
            # COMMITTED): look again and refuse those rows. Re-raise anything else.
            taken = _existing_usccs([candidate.enterprise.uscc for candidate in fresh])
            if not taken:
                raise
            chunk = fresh
            continue
        enterprises_registered.send(
            sender=Enterprise, usccs=[candidate.enterprise.uscc for candidate in fresh]
        )
        report.imported += len(fresh)
        return


def _audit(report: ImportReport, actor) -> None:
    audit_record(
        actor=actor,
        action="enterprise.import",
        data={
            "file": report.file_name,
            "encoding": report.encoding,
            "strict": report.strict,
            "imported": report.imported,
            "rejected": report.rejected,
        },
    )


def _import_chunked(rows, header, report: ImportReport, actor) -> None:
    validator = _Validator(header)
    chunks = _chunks(rows, validator, report)
    chunk = next(chunks)
    for following in chunks:
        with transaction.atomic():
            _write_chunk(chunk, report)
        chunk = following
    with transaction.atomic():
        _write_chunk(chunk, report)
        _audit(report, actor)


def _import_strict(rows, header, report: ImportReport, actor) -> None:
    validator = _Validator(header)
    try:
        with transaction.atomic():
            for chunk in _chunks(rows, validator, report):
                # After the first refusal nothing will be kept: only keep checking, to report every bad row.
                _write_chunk(chunk, report, write=not report.rejected)
            if report.rejected:
                raise _StrictRollback
            _audit(report, actor)
    except _StrictRollback:
        report.imported = 0
        _audit(report, actor)
