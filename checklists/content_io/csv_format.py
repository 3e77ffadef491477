"""Reading one department's checklist from CSV: a header naming the item fields (CSV_COLUMNS, in any
order), then one item per row."""

import csv
import difflib
import io

from django.utils.translation import gettext as _

from checklists.content_io.rules import (
    CHECKLIST_FIELDS,
    CSV_COLUMNS,
    ITEM_FIELDS,
    ChecklistContent,
    Content,
    Report,
    Value,
    check_items,
    clause_link,
    clean_record,
    department_issue,
    scene_issue,
    supervising_departments,
)
from core.models import Department, Scene


def parse_csv(text: str, file: str, *, scene, department, title: str, title_en: str) -> Content:
    report = Report(file)
    if not isinstance(scene, Scene):
        code, scene = scene, Scene.objects.filter(code=scene).first()
        if scene is None:
            report(None, "scene", scene_issue(code))
    code = department.code if isinstance(department, Department) else department
    supervising = supervising_departments(scene)
    if problem := department_issue(code, scene, supervising):
        report(None, "department", problem)
    titles = {
        "title": Value(title.strip(), None, "title"),
        "title_en": Value(title_en.strip(), None, "title_en"),
    }
    fields = clean_record(titles, {key: CHECKLIST_FIELDS[key] for key in titles}, report)

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
                {column: Value(row[index].strip(), line, column) for index, column in columns.items()}
            )
    except csv.Error as exc:
        report(reader.line_num, "", _("invalid CSV: %(problem)s") % {"problem": exc})
    if header and not records:
        report(1, "", _("the file has no items, only a header"))
    items = check_items(records, clause_link(scene=scene, file_codes=None), report)
    report.raise_if_any()
    return Content(scene, None, [ChecklistContent(supervising[code], fields, items)])


def _csv_columns(header: list[str], report: Report) -> dict[int, str]:
    """Column index -> item field, after reporting unknown, repeated and missing columns."""
    if not header:
        report(1, "", _("the file is empty; the first line must name the columns"))
        return {}
    columns = {}
    for index, column in enumerate(header):
        if column not in ITEM_FIELDS:
            if report.full:  # counted, not worded: nobody reads the 50,000th unknown column
                report(1, column, "")
                continue
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
