"""Reading a YAML content file (checklists/content/FORMAT.md). Line numbers come from PyYAML's node
tree (``compose``), which keeps the position of every key and value that the plain loader throws away."""

import difflib

import yaml
from django.utils.translation import gettext as _

from checklists.content_io.rules import (
    CHAPTER_FIELDS,
    CHECKLIST_FIELDS,
    CLAUSE_FIELDS,
    ITEM_FIELDS,
    MANUAL_FIELDS,
    ChecklistContent,
    Content,
    ContentError,
    ContentIssue,
    ManualContent,
    Report,
    Rule,
    Value,
    check_items,
    check_unique,
    clause_link,
    clean_record,
    department_issue,
    scene_issue,
    supervising_departments,
)
from core.models import Scene

# The format nests six levels (the manual, its chapters, a chapter, its clauses, a clause); a file
# nesting deeper is not content.
MAX_DEPTH = 20
_EVENTS_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"


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


def _entries(node, path: str, known: tuple[str, ...], required: set[str], report: Report):
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


def _texts(entries: dict, path: str, rules: dict[str, Rule], report: Report) -> dict[str, Value]:
    record = {}
    for key in rules:
        if key not in entries:
            continue
        key_node, node = entries[key]
        where = _join(path, key)
        if isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG:
            record[key] = Value(node.value.strip(), _line(node), where)
        elif isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            # An empty value's node may start on the next line; the key's line is where it is.
            record[key] = Value("", _line(key_node), where)
        elif isinstance(node, yaml.ScalarNode):
            message = _("must be text, not %(kind)s (put it in quotes)") % {"kind": _kind(node)}
            report(_line(node), where, message)
        else:
            report(_line(node), where, _("must be text, not %(kind)s") % {"kind": _kind(node)})
    return record


def _elements(entries: dict, key: str, path: str, report: Report) -> list[tuple[str, yaml.Node]]:
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


def _record(node, path: str, rules: dict[str, Rule], report: Report, *, lists: tuple[str, ...] = ()):
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


def _parse_manual(node, report: Report) -> tuple[ManualContent | None, set[str]]:
    """The manual, and the codes of its clauses (for checklist items to link to)."""
    entries, record = _record(node, "manual", MANUAL_FIELDS, report, lists=("chapters",))
    if entries is None:
        return None, set()
    fields = clean_record(record, MANUAL_FIELDS, report)
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
            clauses.append(clean_record(clause_record, CLAUSE_FIELDS, report))
            check_unique(clause_record.get("code"), seen, report)
        chapters.append((clean_record(chapter_record, CHAPTER_FIELDS, report), clauses))
    return ManualContent(fields, chapters), set(seen)


def _parse_checklists(entries: dict, scene: Scene | None, link, report: Report) -> list[ChecklistContent]:
    supervising, seen_departments = supervising_departments(scene), {}
    checklists = []
    for path, node in _elements(entries, "checklists", "", report):
        checklist_entries, record = _record(node, path, CHECKLIST_FIELDS, report, lists=("items",))
        if checklist_entries is None:
            continue
        fields = clean_record(record, CHECKLIST_FIELDS, report)
        code, department = fields.pop("department"), None
        if code:
            where = record["department"]
            if code in seen_departments:
                message = _('department "%(code)s" already has a checklist in this file (line %(line)d)')
                report(where.line, where.field, message % {"code": code, "line": seen_departments[code]})
            else:
                seen_departments[code] = where.line
            if problem := department_issue(code, scene, supervising):
                report(where.line, where.field, problem)
            department = supervising.get(code)
        items = []
        for item_path, item_node in _elements(checklist_entries, "items", path, report):
            item_entries, item_record = _record(item_node, item_path, ITEM_FIELDS, report)
            if item_entries is not None:
                items.append(item_record)
        items = check_items(items, link, report, field=_join(path, "items"))
        checklists.append(ChecklistContent(department, fields, items))
    return checklists


def _too_deep(text: str, file: str) -> ContentIssue | None:
    """Where the file nests lists and mappings deeper than MAX_DEPTH, if it does. PyYAML builds its
    node tree recursively, so a file nesting a few hundred levels ran out of stack (a 500); its
    event stream is flat, read here by libyaml where available."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_EVENTS_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    message = _("the file nests lists and mappings more than %(max)d levels deep")
                    return ContentIssue(file, event.start_mark.line + 1, "", message % {"max": MAX_DEPTH})
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # not YAML before it got too deep: compose reports it, in PyYAML's words
    return None


def parse_yaml(text: str, file: str) -> Content:
    report = Report(file)
    try:
        if problem := _too_deep(text, file):
            raise ContentError([problem])
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ContentError([_yaml_issue(file, exc, text)]) from exc
    if root is None:
        raise ContentError([ContentIssue(file, 1, "", _("the file is empty"))])
    scene_rule = {"scene": Rule(True)}
    entries = _entries(root, "", ("scene", "manual", "checklists"), {"scene"}, report)
    if entries is None:
        report.raise_if_any()
    record = _texts(entries, "", scene_rule, report)
    scene = None
    if code := clean_record(record, scene_rule, report)["scene"]:
        scene = Scene.objects.filter(code=code).first()
        if scene is None:
            report(record["scene"].line, "scene", scene_issue(code))
    if "manual" not in entries and "checklists" not in entries:
        report(_line(root), "", _("nothing to import: the file has neither a manual nor checklists"))

    manual, clause_codes = None, None
    if "manual" in entries:
        manual, clause_codes = _parse_manual(entries["manual"][1], report)
    link = clause_link(scene=scene, file_codes=clause_codes)
    checklists = _parse_checklists(entries, scene, link, report)
    report.raise_if_any()
    return Content(scene, manual, checklists)
