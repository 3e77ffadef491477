"""Manuals and checklists as files: YAML in the format of checklists/content/FORMAT.md, and CSV
for one checklist. Used by the import_content / export_content / load_content commands.

An import checks the whole file before it writes anything and reports every problem at once,
each with its file, line and field, so a content writer fixes a file in one pass. Only a clean
file is written: new draft versions (optionally published at once) in one transaction, with
one ``content.import`` audit event. Line numbers come from PyYAML's node tree (``compose``),
which keeps the position of every key and value that the plain loader throws away.
"""

import csv
import difflib
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import yaml
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from checklists.models import (
    Checklist,
    ChecklistItem,
    Manual,
    ManualChapter,
    ManualClause,
    Method,
    Severity,
)
from checklists.publishing import checklist_publish, manual_publish, next_version
from checklists.selectors import checklists_current, manual_current
from core.audit import audit_record
from core.errors import DomainError, NotFound
from core.models import Department, Scene
from core.reference import FEATURES

CONTENT_DIR = Path(__file__).resolve().parent / "content"
CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ContentIssue:
    """One problem in a content file. ``line`` is 1-based; None when the problem is not in the
    file (a CSV import's scene, department or title argument)."""

    file: str
    line: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ContentError(DomainError):
    """A content file was refused; ``issues`` (and ``details``, as dicts) list every problem."""

    def __init__(self, issues):
        self.issues = sorted(issues, key=lambda issue: issue.line or 0)
        super().__init__(
            "\n".join(str(issue) for issue in self.issues),
            code="invalid_content",
            details=[issue.as_dict() for issue in self.issues],
            status=422,
        )


class _Report:
    def __init__(self, file: str):
        self.file = file
        self.issues: list[ContentIssue] = []

    def __call__(self, line: int | None, field: str, message: str) -> None:
        self.issues.append(ContentIssue(self.file, line, field, message))

    def raise_if_any(self) -> None:
        if self.issues:
            raise ContentError(self.issues)


# ---------------------------------------------------------------------------------------------
# Field rules, shared by the YAML and the CSV reader


def _max_length(model, name: str) -> int | None:
    return model._meta.get_field(name).max_length


def _check_code(value: str) -> str | None:
    if not CODE_PATTERN.fullmatch(value):
        return _('"%(value)s" is not a valid code: use lower-case letters, digits and hyphens') % {
            "value": value
        }
    return None


def _check_choice(choices) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if value not in choices.values:
            return _('"%(value)s" is not one of %(choices)s') % {
                "value": value,
                "choices": ", ".join(choices.values),
            }
        return None

    return check


def _check_feature(value: str) -> str | None:
    if value not in FEATURES:
        return _('unknown feature "%(value)s"; the features are %(features)s') % {
            "value": value,
            "features": ", ".join(FEATURES),
        }
    return None


@dataclass(frozen=True)
class _Rule:
    required: bool = False
    max_length: int | None = None
    check: Callable[[str], str | None] | None = None
    target: str = ""  # the model field, when it is not named like the key


TITLE_FIELDS = {
    "title": _Rule(True, _max_length(Manual, "title")),
    "title_en": _Rule(False, _max_length(Manual, "title_en")),
}
MANUAL_FIELDS = {**TITLE_FIELDS, "summary": _Rule(), "summary_en": _Rule()}
CHAPTER_FIELDS = {
    "title": _Rule(True, _max_length(ManualChapter, "title")),
    "title_en": _Rule(False, _max_length(ManualChapter, "title_en")),
}
CLAUSE_FIELDS = {
    "code": _Rule(True, _max_length(ManualClause, "code"), _check_code),
    "text": _Rule(True),
    "text_en": _Rule(),
    "law": _Rule(True, _max_length(ManualClause, "law")),
    "article": _Rule(True, _max_length(ManualClause, "article")),
}
CHECKLIST_FIELDS = {
    "department": _Rule(True),
    "title": _Rule(True, _max_length(Checklist, "title")),
    "title_en": _Rule(False, _max_length(Checklist, "title_en")),
}
# In the order of FORMAT.md, which is also the order of the CSV columns.
ITEM_FIELDS = {
    "code": _Rule(True, _max_length(ChecklistItem, "code"), _check_code),
    "question": _Rule(True),
    "question_en": _Rule(),
    "law": _Rule(True, _max_length(ChecklistItem, "law")),
    "article": _Rule(True, _max_length(ChecklistItem, "article")),
    "severity": _Rule(True, _max_length(ChecklistItem, "severity"), _check_choice(Severity)),
    "method": _Rule(True, _max_length(ChecklistItem, "method"), _check_choice(Method)),
    "clause": _Rule(False, _max_length(ChecklistItem, "clause_code"), target="clause_code"),
    "applies_if": _Rule(False, _max_length(ChecklistItem, "applies_if"), _check_feature),
    "required_action": _Rule(),
    "required_action_en": _Rule(),
}
CSV_COLUMNS = tuple(ITEM_FIELDS)


class _Value(NamedTuple):
    """A text value read from a file, with where it was read."""

    text: str
    line: int | None
    field: str


def _clean(record: dict[str, _Value], rules: dict[str, _Rule], report: _Report) -> dict[str, str]:
    """Check a record's values against their rules; return them by model field name.

    A key absent from ``record`` was already reported (missing key or column) or is optional."""
    clean = {}
    for key, rule in rules.items():
        value = record.get(key)
        text = value.text if value else ""
        if value is None:
            pass
        elif not text:
            if rule.required:
                report(value.line, value.field, _("must not be empty"))
        elif rule.max_length and len(text) > rule.max_length:
            report(
                value.line,
                value.field,
                _("is %(length)d characters long, at most %(max)d are allowed")
                % {"length": len(text), "max": rule.max_length},
            )
        elif rule.check and (problem := rule.check(text)):
            report(value.line, value.field, problem)
        clean[rule.target or key] = text
    return clean


def _check_unique(value: _Value | None, seen: dict[str, int | None], report: _Report) -> None:
    if value is None or not value.text:
        return
    if value.text in seen:
        first = seen[value.text]
        message = _('duplicate code "%(code)s" (first used at line %(line)s)')
        report(value.line, value.field, message % {"code": value.text, "line": first})
    else:
        seen[value.text] = value.line


def _check_items(
    records: list[dict[str, _Value]], link: Callable[[str], str | None], report: _Report
) -> list[dict[str, str]]:
    """The items of one checklist: each item's fields, unique codes, and clause links."""
    items, seen = [], {}
    for record in records:
        item = _clean(record, ITEM_FIELDS, report)
        _check_unique(record.get("code"), seen, report)
        clause = record.get("clause")
        if (
            clause
            and clause.text
            and len(clause.text) <= ITEM_FIELDS["clause"].max_length
            and (problem := link(clause.text))
        ):
            report(clause.line, clause.field, problem)
        items.append(item)
    return items


def _clause_link(*, scene: Scene | None, file_codes: set[str] | None) -> Callable[[str], str | None]:
    """What a checklist item's ``clause`` may name: a clause of the file's own manual, or, when
    the file has none, of the scene's current published manual."""
    if file_codes is not None:
        return lambda code: (
            None if code in file_codes else _('no clause "%(code)s" in this file\'s manual') % {"code": code}
        )
    if scene is None:
        return lambda code: None  # the unknown scene is reported already
    manual = manual_current(scene=scene)
    if manual is None:
        message = _('no manual to link to: this file has none and scene "%(scene)s" has no published manual')
        return lambda code: message % {"scene": scene.code}
    codes = set(manual.clauses.values_list("code", flat=True))
    message = _('no clause "%(code)s" in the current manual of scene "%(scene)s" (version %(version)d)')
    return lambda code: (
        None if code in codes else message % {"code": code, "scene": scene.code, "version": manual.version}
    )


def _scene_issue(code: str) -> str:
    return _('unknown scene "%(code)s"; the scenes are %(scenes)s') % {
        "code": code,
        "scenes": ", ".join(Scene.objects.order_by("code").values_list("code", flat=True)),
    }


def _department_issue(code: str, scene: Scene | None, supervising: dict[str, Department]) -> str | None:
    if code in supervising:
        return None
    if not Department.objects.filter(code=code).exists():
        return _('unknown department "%(code)s"; the departments are %(departments)s') % {
            "code": code,
            "departments": ", ".join(Department.objects.order_by("code").values_list("code", flat=True)),
        }
    if scene is None:
        return None
    return _(
        'department "%(code)s" does not supervise scene "%(scene)s" (its departments: %(departments)s)'
    ) % {
        "code": code,
        "scene": scene.code,
        "departments": ", ".join(sorted(supervising)),
    }


def _supervising(scene: Scene | None) -> dict[str, Department]:
    return {department.code: department for department in scene.departments.all()} if scene else {}


# ---------------------------------------------------------------------------------------------
# What a clean file holds


@dataclass
class _ManualContent:
    fields: dict[str, str]
    chapters: list[tuple[dict[str, str], list[dict[str, str]]]]


@dataclass
class _ChecklistContent:
    department: Department | None
    fields: dict[str, str]
    items: list[dict[str, str]]


@dataclass
class _Content:
    scene: Scene
    manual: _ManualContent | None
    checklists: list[_ChecklistContent]


# ---------------------------------------------------------------------------------------------
# Reading files


def _read(path_or_text, name: str | None) -> tuple[str, str]:
    """(file name, text). Only a Path is read from disk (UTF-8, with or without BOM); a str or
    bytes is the content itself, never a file name: uploads pass their content through here, and
    an upload that reads "/etc/passwd" must stay a (bad) YAML file."""
    path = Path(path_or_text) if isinstance(path_or_text, os.PathLike) else None
    if path is not None:
        file = name or str(path)
        return file, _decode(path.read_bytes(), file)
    file = name or "<text>"
    if isinstance(path_or_text, bytes):
        return file, _decode(path_or_text, file)
    return file, path_or_text.removeprefix("\ufeff")


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError([ContentIssue(file, line, "", _("the file is not UTF-8 text"))]) from exc


# ---------------------------------------------------------------------------------------------
# YAML


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return _("a mapping")
    if isinstance(node, yaml.SequenceNode):
        return _("a list")
    return {
        STR_TAG: _("text"),
        NULL_TAG: _("nothing"),
        "tag:yaml.org,2002:int": _("a number"),
        "tag:yaml.org,2002:float": _("a number"),
        "tag:yaml.org,2002:bool": _("true/false"),
        "tag:yaml.org,2002:timestamp": _("a date"),
    }.get(node.tag, _("a tagged value"))


def _entries(node, path: str, known: tuple[str, ...], required: set[str], report: _Report):
    """A mapping's (key node, value node) by key, after reporting unknown, duplicate and missing
    keys; None when the node is not a mapping at all."""
    if not isinstance(node, yaml.MappingNode):
        report(
            _line(node), path, _("must be a mapping of keys to values, not %(kind)s") % {"kind": _kind(node)}
        )
        return None
    entries, suggested = {}, set()
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        where = _join(path, key)
        if key not in known:
            message = _('unknown key "%(key)s"') % {"key": key}
            if close := difflib.get_close_matches(key, known, n=1):
                message += " " + _('(did you mean "%(key)s"?)') % {"key": close[0]}
                suggested.add(close[0])
            report(_line(key_node), where, message)
        elif key in entries:
            first = _line(entries[key][0])
            report(_line(key_node), where, _("duplicate key (first at line %(line)d)") % {"line": first})
        else:
            entries[key] = (key_node, value_node)
    for key in known:
        # A misspelt key is reported once, as the unknown key with its correction.
        if key in required and key not in entries and key not in suggested:
            report(_line(node), _join(path, key), _("is required"))
    return entries


def _texts(entries: dict, path: str, rules: dict[str, _Rule], report: _Report) -> dict[str, _Value]:
    record = {}
    for key in rules:
        if key not in entries:
            continue
        key_node, node = entries[key]
        where = _join(path, key)
        if isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG:
            record[key] = _Value(node.value.strip(), _line(node), where)
        elif isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            # An empty value's node may start on the next line; the key's line is where it is.
            record[key] = _Value("", _line(key_node), where)
        elif isinstance(node, yaml.ScalarNode):
            message = _("must be text, not %(kind)s (put it in quotes)") % {"kind": _kind(node)}
            report(_line(node), where, message)
        else:
            report(_line(node), where, _("must be text, not %(kind)s") % {"kind": _kind(node)})
    return record


def _elements(entries: dict, key: str, path: str, report: _Report) -> list[tuple[str, yaml.Node]]:
    """The (field path, node) of each element of a list value; reports a missing or empty list."""
    if key not in entries:
        return []
    key_node, node = entries[key]
    where = _join(path, key)
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
        report(_line(key_node), where, _("must list at least one entry"))
        return []
    if not isinstance(node, yaml.SequenceNode):
        report(_line(node), where, _("must be a list, not %(kind)s") % {"kind": _kind(node)})
        return []
    if not node.value:
        report(_line(node), where, _("must list at least one entry"))
    return [(f"{where}[{index}]", child) for index, child in enumerate(node.value)]


def _record(node, path: str, rules: dict[str, _Rule], report: _Report, *, lists: tuple[str, ...] = ()):
    """(entries, text values) of a mapping holding ``rules``' fields and the ``lists``."""
    required = {key for key, rule in rules.items() if rule.required} | set(lists)
    entries = _entries(node, path, (*rules, *lists), required, report)
    if entries is None:
        return None, None
    return entries, _texts(entries, path, rules, report)


def _yaml_issue(file: str, exc: yaml.YAMLError, text: str) -> ContentIssue:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    # A ReaderError (a character YAML does not allow) has no mark, only an offset.
    line = mark.line + 1 if mark is not None else text[: getattr(exc, "position", 0)].count("\n") + 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        problem = f"{problem} ({context} at line {context_mark.line + 1})"
    elif context:
        problem = f"{problem} ({context})"
    return ContentIssue(file, line, "", _("invalid YAML: %(problem)s") % {"problem": problem})


def _parse_manual(node, report: _Report) -> tuple[_ManualContent | None, set[str]]:
    """The manual, and the codes of its clauses (for checklist items to link to)."""
    entries, record = _record(node, "manual", MANUAL_FIELDS, report, lists=("chapters",))
    if entries is None:
        return None, set()
    fields = _clean(record, MANUAL_FIELDS, report)
    chapters, seen = [], {}
    for chapter_path, chapter_node in _elements(entries, "chapters", "manual", report):
        chapter_entries, chapter_record = _record(
            chapter_node, chapter_path, CHAPTER_FIELDS, report, lists=("clauses",)
        )
        if chapter_entries is None:
            continue
        clauses = []
        for clause_path, clause_node in _elements(chapter_entries, "clauses", chapter_path, report):
            clause_entries, clause_record = _record(clause_node, clause_path, CLAUSE_FIELDS, report)
            if clause_entries is None:
                continue
            clauses.append(_clean(clause_record, CLAUSE_FIELDS, report))
            _check_unique(clause_record.get("code"), seen, report)
        chapters.append((_clean(chapter_record, CHAPTER_FIELDS, report), clauses))
    return _ManualContent(fields, chapters), set(seen)


def _parse_checklists(entries: dict, scene: Scene | None, link, report: _Report) -> list[_ChecklistContent]:
    supervising, seen_departments = _supervising(scene), {}
    checklists = []
    for path, node in _elements(entries, "checklists", "", report):
        checklist_entries, record = _record(node, path, CHECKLIST_FIELDS, report, lists=("items",))
        if checklist_entries is None:
            continue
        fields = _clean(record, CHECKLIST_FIELDS, report)
        code, department = fields.pop("department"), None
        if code:
            where = record["department"]
            if code in seen_departments:
                message = _('department "%(code)s" already has a checklist in this file (line %(line)d)')
                report(where.line, where.field, message % {"code": code, "line": seen_departments[code]})
            else:
                seen_departments[code] = where.line
            if problem := _department_issue(code, scene, supervising):
                report(where.line, where.field, problem)
            department = supervising.get(code)
        items = []
        for item_path, item_node in _elements(checklist_entries, "items", path, report):
            item_entries, item_record = _record(item_node, item_path, ITEM_FIELDS, report)
            if item_entries is not None:
                items.append(item_record)
        checklists.append(_ChecklistContent(department, fields, _check_items(items, link, report)))
    return checklists


def _parse_yaml(text: str, file: str) -> _Content:
    report = _Report(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ContentError([_yaml_issue(file, exc, text)]) from exc
    if root is None:
        raise ContentError([ContentIssue(file, 1, "", _("the file is empty"))])
    scene_rule = {"scene": _Rule(True)}
    entries = _entries(root, "", ("scene", "manual", "checklists"), {"scene"}, report)
    if entries is None:
        raise ContentError(report.issues)
    record = _texts(entries, "", scene_rule, report)
    scene = None
    if code := _clean(record, scene_rule, report)["scene"]:
        scene = Scene.objects.filter(code=code).first()
        if scene is None:
            report(record["scene"].line, "scene", _scene_issue(code))
    if "manual" not in entries and "checklists" not in entries:
        report(_line(root), "", _("nothing to import: the file has neither a manual nor checklists"))

    manual, clause_codes = None, None
    if "manual" in entries:
        manual, clause_codes = _parse_manual(entries["manual"][1], report)
    link = _clause_link(scene=scene, file_codes=clause_codes)
    checklists = _parse_checklists(entries, scene, link, report)
    report.raise_if_any()
    return _Content(scene, manual, checklists)


# ---------------------------------------------------------------------------------------------
# CSV


def _parse_csv(text: str, file: str, *, scene, department, title: str, title_en: str) -> _Content:
    report = _Report(file)
    if not isinstance(scene, Scene):
        code, scene = scene, Scene.objects.filter(code=scene).first()
        if scene is None:
            report(None, "scene", _scene_issue(code))
    code = department.code if isinstance(department, Department) else department
    supervising = _supervising(scene)
    if problem := _department_issue(code, scene, supervising):
        report(None, "department", problem)
    titles = {
        "title": _Value(title.strip(), None, "title"),
        "title_en": _Value(title_en.strip(), None, "title_en"),
    }
    fields = _clean(titles, {key: CHECKLIST_FIELDS[key] for key in titles}, report)

    reader = csv.reader(io.StringIO(text, newline=""))
    header, records = [], []
    try:
        header = [column.strip() for column in next(reader, [])]
        columns = _csv_columns(header, report)
        end = reader.line_num
        for row in reader:
            line, end = end + 1, reader.line_num  # a quoted cell may span lines: name the first
            if not any(cell.strip() for cell in row):
                continue
            if any(cell.strip() for cell in row[len(header) :]):
                message = _("the row has %(cells)d cells, the header %(columns)d")
                report(line, "", message % {"cells": len(row), "columns": len(header)})
            row += [""] * (len(header) - len(row))
            records.append(
                {column: _Value(row[index].strip(), line, column) for index, column in columns.items()}
            )
    except csv.Error as exc:
        report(reader.line_num, "", _("invalid CSV: %(problem)s") % {"problem": exc})
    if header and not records:
        report(1, "", _("the file has no items, only a header"))
    items = _check_items(records, _clause_link(scene=scene, file_codes=None), report)
    report.raise_if_any()
    return _Content(scene, None, [_ChecklistContent(supervising[code], fields, items)])


def _csv_columns(header: list[str], report: _Report) -> dict[int, str]:
    """Column index -> item field, after reporting unknown, repeated and missing columns."""
    if not header:
        report(1, "", _("the file is empty; the first line must name the columns"))
        return {}
    columns = {}
    for index, column in enumerate(header):
        if column not in ITEM_FIELDS:
            message = _('unknown column "%(column)s"') % {"column": column}
            if close := difflib.get_close_matches(column, CSV_COLUMNS, n=1):
                message += " " + _('(did you mean "%(key)s"?)') % {"key": close[0]}
            report(
                1,
                column,
                f"{message}; " + _("the columns are %(columns)s") % {"columns": ",".join(CSV_COLUMNS)},
            )
        elif column in columns.values():
            report(1, column, _("the column appears twice"))
        else:
            columns[index] = column
    for column, rule in ITEM_FIELDS.items():
        if rule.required and column not in columns.values():
            report(1, column, _("required column is missing"))
    return columns


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class ImportResult:
    """What one import created (or, for ``content_load``, that it skipped the file)."""

    file: str
    scene: Scene
    manual: Manual | None = None
    checklists: list[Checklist] = field(default_factory=list)
    clauses: int = 0
    items: int = 0
    skipped: bool = False

    @property
    def versions(self) -> list[Manual | Checklist]:
        return [self.manual, *self.checklists] if self.manual else list(self.checklists)


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _write(content: _Content, *, file: str, actor, publish: bool, source: str) -> ImportResult:
    # Locking the scene serialises imports of one scene, so two cannot pick the same version number.
    scene = Scene.objects.select_for_update().get(pk=content.scene.pk)
    user = _user(actor)
    manual, clause_count = None, 0
    if content.manual is not None:
        manual = Manual.objects.create(
            scene=scene, version=next_version(Manual, scene=scene), created_by=user, **content.manual.fields
        )
        clauses = []
        for position, (fields, chapter_clauses) in enumerate(content.manual.chapters, start=1):
            chapter = ManualChapter.objects.create(manual=manual, position=position, **fields)
            clauses += [
                ManualClause(manual=manual, chapter=chapter, position=number, **clause)
                for number, clause in enumerate(chapter_clauses, start=1)
            ]
        # bulk_create skips ContentRow.save's draft check: the manual was created as a draft above.
        ManualClause.objects.bulk_create(clauses)
        clause_count = len(clauses)
    checklists, item_count = [], 0
    for part in content.checklists:
        owner = {"scene": scene, "department": part.department}
        checklist = Checklist.objects.create(
            **owner, version=next_version(Checklist, **owner), created_by=user, **part.fields
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(checklist=checklist, position=position, **item)
            for position, item in enumerate(part.items, start=1)
        )
        checklists.append(checklist)
        item_count += len(part.items)
    audit_record(
        actor=user,
        action="content.import",
        target=scene,
        data={
            "file": file,
            "format": source,
            "scene": scene.code,
            "manual": manual.version if manual else None,
            "checklists": {checklist.department.code: checklist.version for checklist in checklists},
            "publish": publish,
        },
    )
    if publish:
        # The manual first: its clauses are what the checklist items link to.
        if manual is not None:
            manual = manual_publish(manual=manual, actor=user)
        checklists = [checklist_publish(checklist=checklist, actor=user) for checklist in checklists]
    return ImportResult(file, scene, manual, checklists, clause_count, item_count)


def content_validate(*, path_or_text, name: str | None = None) -> list[ContentIssue]:
    """Every problem of a YAML content file; an empty list when it would import."""
    try:
        file, text = _read(path_or_text, name)
        _parse_yaml(text, file)
    except ContentError as exc:
        return exc.issues
    return []


@transaction.atomic
def content_import(
    *, path_or_text, name: str | None = None, actor=None, publish: bool = False
) -> ImportResult:
    """Import one YAML file (FORMAT.md) as new draft versions of its manual and checklists, and
    publish them if asked. Raises ContentError, listing every problem, and writes nothing when
    the file is not clean."""
    file, text = _read(path_or_text, name)
    content = _parse_yaml(text, file)
    return _write(content, file=file, actor=actor, publish=publish, source="yaml")


@transaction.atomic
def content_load(*, path_or_text, name: str | None = None, actor=None) -> ImportResult:
    """Import and publish a shipped content file, unless its scene has content already (any
    manual or checklist, in any status): loading the shipped content again changes nothing."""
    file, text = _read(path_or_text, name)
    content = _parse_yaml(text, file)
    scene = Scene.objects.select_for_update().get(pk=content.scene.pk)
    if Manual.objects.filter(scene=scene).exists() or Checklist.objects.filter(scene=scene).exists():
        return ImportResult(file, scene, skipped=True)
    return _write(content, file=file, actor=actor, publish=True, source="yaml")


@transaction.atomic
def checklist_import_csv(
    *,
    path_or_text,
    scene: Scene | str,
    department: Department | str,
    title: str,
    title_en: str = "",
    name: str | None = None,
    actor=None,
    publish: bool = False,
) -> Checklist:
    """Import one department's checklist for a scene from CSV (columns: CSV_COLUMNS, in any
    order; the optional ones may be left out) as a new draft version."""
    file, text = _read(path_or_text, name)
    content = _parse_csv(text, file, scene=scene, department=department, title=title, title_en=title_en)
    return _write(content, file=file, actor=actor, publish=publish, source="csv").checklists[0]


# ---------------------------------------------------------------------------------------------
# Export


def _scene(scene: Scene | str) -> Scene:
    if isinstance(scene, Scene):
        return scene
    found = Scene.objects.filter(code=scene).first()
    if found is None:
        raise NotFound(_scene_issue(scene), code="unknown_scene")
    return found


def _check_which(which: str) -> None:
    if which not in ("current", "latest"):
        raise ValueError(f'which must be "current" or "latest", not {which!r}')


def checklist_find(*, scene: Scene | str, department: Department | str, which: str = "current") -> Checklist:
    """One department's checklist of a scene: the published version, or the newest one."""
    _check_which(which)
    scene = _scene(scene)
    code = department.code if isinstance(department, Department) else department
    versions = Checklist.objects.filter(scene=scene, department__code=code).select_related(
        "scene", "department"
    )
    if which == "current":
        versions = versions.filter(status="published")
    checklist = versions.order_by("-version").first()
    if checklist is None:
        message = _('scene "%(scene)s" has no %(which)s checklist of department "%(department)s"')
        raise NotFound(message % {"scene": scene.code, "which": which, "department": code}, code="no_content")
    return checklist


def _versions(scene: Scene, which: str) -> tuple[Manual | None, list[Checklist]]:
    if which == "current":
        return manual_current(scene=scene), list(checklists_current(scene=scene))
    manual = Manual.objects.filter(scene=scene).order_by("-version").first()
    newest = {}
    for checklist in (
        Checklist.objects.filter(scene=scene)
        .select_related("department")
        .order_by("department__code", "-version")
    ):
        newest.setdefault(checklist.department.code, checklist)
    return manual, list(newest.values())


def _fields(obj, rules: dict[str, _Rule]) -> dict[str, str]:
    """The row's values under their file keys; optional empty ones left out."""
    values = {key: getattr(obj, rule.target or key) for key, rule in rules.items()}
    return {key: value for key, value in values.items() if value or rules[key].required}


class _Dumper(yaml.SafeDumper):
    """Indents a list under its key and writes multi-line text as a block, as FORMAT.md does."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_str(dumper, value: str):
    return dumper.represent_scalar(STR_TAG, value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def content_export(*, scene: Scene | str, which: str = "current") -> str:
    """The scene's manual and checklists as a YAML content file that imports back to the same
    content: its published versions (``current``) or its newest ones, drafts included (``latest``)."""
    _check_which(which)
    scene = _scene(scene)
    manual, checklists = _versions(scene, which)
    if manual is None and not checklists:
        message = _('scene "%(scene)s" has no %(which)s content to export')
        raise NotFound(message % {"scene": scene.code, "which": which}, code="no_content")
    data: dict = {"scene": scene.code}
    summary = []
    if manual is not None:
        chapters = manual.chapters.order_by("position").prefetch_related(
            Prefetch("clauses", queryset=ManualClause.objects.order_by("position"))
        )
        data["manual"] = {
            **_fields(manual, MANUAL_FIELDS),
            "chapters": [
                {
                    **_fields(chapter, CHAPTER_FIELDS),
                    "clauses": [_fields(clause, CLAUSE_FIELDS) for clause in chapter.clauses.all()],
                }
                for chapter in chapters
            ],
        }
        summary.append(f"manual v{manual.version} ({manual.status})")
    if checklists:
        data["checklists"] = [
            {
                "department": checklist.department.code,
                **_fields(checklist, TITLE_FIELDS),
                "items": [_fields(item, ITEM_FIELDS) for item in checklist.items.order_by("position")],
            }
            for checklist in checklists
        ]
        summary += [f"{c.department.code} v{c.version} ({c.status})" for c in checklists]
    header = (
        f"# {scene.code}, {which} versions: {', '.join(summary)}\n# Format: checklists/content/FORMAT.md\n"
    )
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000)
    return header + body


def checklist_export_csv(*, checklist: Checklist) -> str:
    """One checklist version's items as CSV with the columns CSV_COLUMNS, for checklist_import_csv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in checklist.items.order_by("position"):
        writer.writerow([getattr(item, ITEM_FIELDS[column].target or column) for column in CSV_COLUMNS])
    return buffer.getvalue()
