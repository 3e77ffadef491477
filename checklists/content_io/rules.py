"""What the YAML and the CSV reader share: the problems they report (each with its file, line and
field), the rules every field is checked against, what a clean file holds, and reading the bytes."""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.utils.translation import gettext as _

from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause, Method, Severity
from checklists.selectors import manual_current
from core.errors import DomainError
from core.models import Department, Scene
from core.reference import FEATURES

CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")


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


# A refused file lists at most this many of its problems, then how many more it has: a file with a
# problem on each of its 50,000 lines (or columns) made an answer of 24 to 50 MB, which no writer reads.
MAX_ISSUES = 100
# A problem quotes what it refuses; a value or key of a megabyte is quoted by its start.
MAX_QUOTED = 300


def _clip(text: str) -> str:
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"


class ContentError(DomainError):
    """A content file was refused; ``issues`` (and ``details``, as dicts) list its problems: all of
    them, or the first MAX_ISSUES found and a last one saying how many more there are (``total``)."""

    def __init__(self, issues, *, total: int | None = None):
        self.issues = sorted(issues, key=lambda issue: issue.line or 0)
        self.total = max(total or 0, len(self.issues))
        if self.total > len(self.issues):
            file = self.issues[0].file if self.issues else ""
            more = _("… and %(count)d more problems, not listed; fix these and check the file again") % {
                "count": self.total - len(self.issues)
            }
            self.issues.append(ContentIssue(file, None, "", more))
        super().__init__(
            "\n".join(str(issue) for issue in self.issues),
            code="invalid_content",
            details=[issue.as_dict() for issue in self.issues],
            status=422,
        )


class Report:
    """The problems of one file as they are found: the first MAX_ISSUES kept, the others counted."""

    def __init__(self, file: str):
        self.file = file
        self.issues: list[ContentIssue] = []
        self.count = 0

    @property
    def full(self) -> bool:
        """No further problem will be listed: a reader may skip work that only words one."""
        return self.count >= MAX_ISSUES

    def __call__(self, line: int | None, field: str, message: str) -> None:
        self.count += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(ContentIssue(self.file, line, _clip(field), _clip(message)))

    def raise_if_any(self) -> None:
        if self.count:
            raise ContentError(self.issues, total=self.count)


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
class Rule:
    required: bool = False
    max_length: int | None = None
    check: Callable[[str], str | None] | None = None
    target: str = ""  # the model field, when it is not named like the key


TITLE_FIELDS = {
    "title": Rule(True, _max_length(Manual, "title")),
    "title_en": Rule(False, _max_length(Manual, "title_en")),
}
MANUAL_FIELDS = {**TITLE_FIELDS, "summary": Rule(), "summary_en": Rule()}
CHAPTER_FIELDS = {
    "title": Rule(True, _max_length(ManualChapter, "title")),
    "title_en": Rule(False, _max_length(ManualChapter, "title_en")),
}
CLAUSE_FIELDS = {
    "code": Rule(True, _max_length(ManualClause, "code"), _check_code),
    "text": Rule(True),
    "text_en": Rule(),
    "law": Rule(True, _max_length(ManualClause, "law")),
    "article": Rule(True, _max_length(ManualClause, "article")),
}
CHECKLIST_FIELDS = {
    "department": Rule(True),
    "title": Rule(True, _max_length(Checklist, "title")),
    "title_en": Rule(False, _max_length(Checklist, "title_en")),
}
# In the order of FORMAT.md, which is also the order of the CSV columns.
ITEM_FIELDS = {
    "code": Rule(True, _max_length(ChecklistItem, "code"), _check_code),
    "question": Rule(True),
    "question_en": Rule(),
    "law": Rule(True, _max_length(ChecklistItem, "law")),
    "article": Rule(True, _max_length(ChecklistItem, "article")),
    "severity": Rule(True, _max_length(ChecklistItem, "severity"), _check_choice(Severity)),
    "method": Rule(True, _max_length(ChecklistItem, "method"), _check_choice(Method)),
    "clause": Rule(False, _max_length(ChecklistItem, "clause_code"), target="clause_code"),
    "applies_if": Rule(False, _max_length(ChecklistItem, "applies_if"), _check_feature),
    "required_action": Rule(),
    "required_action_en": Rule(),
}
CSV_COLUMNS = tuple(ITEM_FIELDS)


class Value(NamedTuple):
    """A text value read from a file, with where it was read."""

    text: str
    line: int | None
    field: str


def clean_record(record: dict[str, Value], rules: dict[str, Rule], report: Report) -> dict[str, str]:
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


def check_unique(value: Value | None, seen: dict[str, int | None], report: Report) -> None:
    if value is None or not value.text:
        return
    if value.text in seen:
        first = seen[value.text]
        message = _('duplicate code "%(code)s" (first used at line %(line)s)')
        report(value.line, value.field, message % {"code": value.text, "line": first})
    else:
        seen[value.text] = value.line


def check_items(
    records: list[dict[str, Value]], link: Callable[[str], str | None], report: Report, *, field: str = ""
) -> list[dict[str, str]]:
    """The items of one checklist (``field``: where the file lists them): each item's fields, unique
    codes, and clause links; at most CHECKLIST_MAX_ITEMS of them, as an inspection answers each."""
    limit = settings.CHECKLIST_MAX_ITEMS
    if len(records) > limit:
        first_extra = next(iter(records[limit].values()), None)
        message = _("the checklist has %(count)d items; at most %(max)d are allowed")
        report(
            first_extra.line if first_extra else None, field, message % {"count": len(records), "max": limit}
        )
        records = records[:limit]  # the rest is not checked: the file is refused anyway
    items, seen = [], {}
    for record in records:
        item = clean_record(record, ITEM_FIELDS, report)
        check_unique(record.get("code"), seen, report)
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


def clause_link(*, scene: Scene | None, file_codes: set[str] | None) -> Callable[[str], str | None]:
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


def scene_issue(code: str) -> str:
    return _('unknown scene "%(code)s"; the scenes are %(scenes)s') % {
        "code": code,
        "scenes": ", ".join(Scene.objects.order_by("code").values_list("code", flat=True)),
    }


def department_issue(code: str, scene: Scene | None, supervising: dict[str, Department]) -> str | None:
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


def supervising_departments(scene: Scene | None) -> dict[str, Department]:
    return {department.code: department for department in scene.departments.all()} if scene else {}


# ---------------------------------------------------------------------------------------------
# What a clean file holds


@dataclass
class ManualContent:
    fields: dict[str, str]
    chapters: list[tuple[dict[str, str], list[dict[str, str]]]]


@dataclass
class ChecklistContent:
    department: Department | None
    fields: dict[str, str]
    items: list[dict[str, str]]


@dataclass
class Content:
    scene: Scene
    manual: ManualContent | None
    checklists: list[ChecklistContent]


# ---------------------------------------------------------------------------------------------
# Reading files


def read_content(path_or_text, name: str | None) -> tuple[str, str]:
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
