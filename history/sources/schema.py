"""What a data source may send: the format of ``DataSource.attribute_schema`` and ``signal_schema``,
their validation (when a source is created or edited), and the checks of one value against them
(when a batch arrives).

The format is documented for people in ``SCHEMA_HELP`` (shown beside the form's text areas and in
the API's description); keep the two in step.
"""

import math
import re
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from history.models import EnterpriseAttribute, Signal

SCHEMA_HELP = gettext_lazy(
    "attribute_schema: one entry per attribute name the source may send, "
    '{"<name>": {"type": "text"|"choice"|"flag"|"date"|"number", ...}}. '
    'text takes "max_length" (1-500, default 500); choice needs "choices" (a list of distinct '
    'texts); flag is 0 or 1; date is YYYY-MM-DD; number may take "min", "max" and "unit". '
    "signal_schema: one entry per kind of signal, "
    '{"<kind>": {"value": "none"|"number", "unit": "...", "min": ..., "max": ..., '
    '"keyed": true|false, "located": true|false}}. keyed: a row may name a business; located: a row '
    "may give a point (latitude, longitude); every row gives at least one of those its kind allows. "
    "value none: rows carry no value; number: every row carries one. Names and kinds are lower-case "
    "letters, digits and underscores, starting with a letter, up to 60 characters. "
    'Example: {"risk_class": {"type": "choice", "choices": ["high", "medium", "low"]}, '
    '"tobacco": {"type": "flag"}} and {"sanitation_complaint": {"value": "none", "keyed": false, '
    '"located": true}}.'
)

ATTRIBUTE_TYPES = ("text", "choice", "flag", "date", "number")
SIGNAL_VALUES = ("none", "number")
VALUE_MAX = EnterpriseAttribute._meta.get_field("value").max_length
NAME_MAX = EnterpriseAttribute._meta.get_field("name").max_length
KIND_MAX = Signal._meta.get_field("kind").max_length
UNIT_MAX = 20
CHOICES_MAX = 200
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_ATTRIBUTE_KEYS = {
    "text": {"type", "max_length"},
    "choice": {"type", "choices"},
    "flag": {"type"},
    "date": {"type"},
    "number": {"type", "min", "max", "unit"},
}
# JSON 0/1 and true/false (equal to 1 and 0 as keys), or the files' "0"/"1".
_FLAGS = {"0": "0", "1": "1", 0: "0", 1: "1"}
_SIGNAL_KEYS = {"value", "unit", "min", "max", "keyed", "located"}


class SchemaError(DomainError):
    """A source's schema does not follow the format: every problem is listed, nothing is saved."""

    status = 422


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_name(name, problems: list[str], limit: int) -> bool:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > limit:
        problems.append(
            _("%(name)r: a name is lower-case letters, digits and underscores, starting with a letter")
            % {"name": name}
        )
        return False
    return True


def _check_bounds(name: str, entry: dict, problems: list[str]) -> None:
    for bound in ("min", "max"):
        if bound in entry and not _is_number(entry[bound]):
            problems.append(_("%(name)s: %(key)s must be a number") % {"name": name, "key": bound})
    if _is_number(entry.get("min")) and _is_number(entry.get("max")) and entry["min"] > entry["max"]:
        problems.append(_("%(name)s: min is greater than max") % {"name": name})
    if "unit" in entry and (not isinstance(entry["unit"], str) or len(entry["unit"]) > UNIT_MAX):
        problems.append(
            _("%(name)s: unit must be a text of at most %(n)d characters") % {"name": name, "n": UNIT_MAX}
        )


def _unknown_keys(name: str, entry: dict, allowed: set[str], problems: list[str]) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        problems.append(
            _("%(name)s: unknown keys %(keys)s (allowed: %(allowed)s)")
            % {"name": name, "keys": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))}
        )


def attribute_schema_problems(schema) -> list[str]:
    """Every way ``schema`` breaks the attribute_schema format (empty: it is valid)."""
    if not isinstance(schema, dict):
        return [_("must be a JSON object of attribute names")]
    problems: list[str] = []
    for name, entry in schema.items():
        if not _check_name(name, problems, NAME_MAX):
            continue
        if not isinstance(entry, dict):
            problems.append(_("%(name)s: must be an object with a type") % {"name": name})
            continue
        kind = entry.get("type")
        if kind not in ATTRIBUTE_TYPES:
            problems.append(
                _("%(name)s: type must be one of %(types)s")
                % {"name": name, "types": ", ".join(ATTRIBUTE_TYPES)}
            )
            continue
        _unknown_keys(name, entry, _ATTRIBUTE_KEYS[kind], problems)
        if kind == "text" and "max_length" in entry:
            limit = entry["max_length"]
            if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= VALUE_MAX:
                problems.append(
                    _("%(name)s: max_length must be a whole number from 1 to %(n)d")
                    % {"name": name, "n": VALUE_MAX}
                )
        if kind == "choice":
            choices = entry.get("choices")
            if (
                not isinstance(choices, list)
                or not choices
                or len(choices) > CHOICES_MAX
                or not all(isinstance(c, str) and c.strip() == c and 0 < len(c) <= VALUE_MAX for c in choices)
                or len(set(choices)) != len(choices)
            ):
                problems.append(
                    _("%(name)s: choices must be a list of 1 to %(n)d distinct, non-empty texts")
                    % {"name": name, "n": CHOICES_MAX}
                )
        if kind == "number":
            _check_bounds(name, entry, problems)
    return problems


def signal_schema_problems(schema) -> list[str]:
    """Every way ``schema`` breaks the signal_schema format (empty: it is valid)."""
    if not isinstance(schema, dict):
        return [_("must be a JSON object of signal kinds")]
    problems: list[str] = []
    for kind, entry in schema.items():
        if not _check_name(kind, problems, KIND_MAX):
            continue
        if not isinstance(entry, dict):
            problems.append(_("%(name)s: must be an object") % {"name": kind})
            continue
        _unknown_keys(kind, entry, _SIGNAL_KEYS, problems)
        if entry.get("value") not in SIGNAL_VALUES:
            problems.append(
                _("%(name)s: value must be one of %(values)s")
                % {"name": kind, "values": ", ".join(SIGNAL_VALUES)}
            )
        elif entry["value"] == "none" and ({"unit", "min", "max"} & set(entry)):
            problems.append(_("%(name)s: unit, min and max need value number") % {"name": kind})
        _check_bounds(kind, entry, problems)
        for flag in ("keyed", "located"):
            if not isinstance(entry.get(flag), bool):
                problems.append(_("%(name)s: %(key)s must be true or false") % {"name": kind, "key": flag})
        if entry.get("keyed") is False and entry.get("located") is False:
            problems.append(_("%(name)s: a signal is keyed, located or both") % {"name": kind})
    return problems


def schemas_check(*, attribute_schema, signal_schema) -> None:
    """Raise SchemaError naming every problem of both schemas, by field (for forms and the API)."""
    details = {}
    for field, problems in (
        ("attribute_schema", attribute_schema_problems(attribute_schema)),
        ("signal_schema", signal_schema_problems(signal_schema)),
    ):
        if problems:
            details[field] = "; ".join(problems)
    if details:
        raise SchemaError(_("The schema does not follow the format."), code="invalid_schema", details=details)


# --- one value against its schema ------------------------------------------------------------------


def parse_date(value) -> date | None:
    """YYYY-MM-DD (or the exchange files' YYYYMMDD); None for anything else."""
    if not isinstance(value, str):
        return None
    match = _DATE.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_number(value) -> float | None:
    """A finite number, given as a JSON number or as text; None for anything else (NaN included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def number_text(number: float) -> str:
    """One spelling per number, so that a retried 12 and 12.0 are the same value."""
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def bounds_problem(number: float, entry: dict) -> str | None:
    if "min" in entry and number < entry["min"]:
        return _("below the minimum %(min)s") % {"min": entry["min"]}
    if "max" in entry and number > entry["max"]:
        return _("above the maximum %(max)s") % {"max": entry["max"]}
    return None


def attribute_value(value, entry: dict) -> tuple[str | None, str, str]:
    """(the value as stored, "", "") or (None, code, why it does not fit ``entry``)."""
    kind = entry["type"]
    if kind == "flag":
        if isinstance(value, int | float | str) and value in _FLAGS:
            return _FLAGS[value], "", ""
        return None, "bad_value", _("must be 0 or 1")
    if kind == "number":
        number = parse_number(value)
        if number is None:
            return None, "bad_value", _("must be a number")
        problem = bounds_problem(number, entry)
        return (None, "bad_value", problem) if problem else (number_text(number), "", "")
    if not isinstance(value, str):
        return None, "bad_type", _("must be text")
    value = value.strip()
    if "\x00" in value:
        return None, "nul_byte", _("contains a NUL character")
    if kind == "date":
        parsed = parse_date(value)
        if parsed is None:
            return None, "bad_value", _("must be a date, YYYY-MM-DD")
        return parsed.isoformat(), "", ""
    if kind == "choice":
        if value not in entry["choices"]:
            return (
                None,
                "bad_value",
                _("must be one of %(choices)s") % {"choices": ", ".join(entry["choices"])},
            )
        return value, "", ""
    limit = entry.get("max_length", VALUE_MAX)
    if len(value) > limit:
        return None, "too_long", _("longer than %(n)d characters") % {"n": limit}
    return value, "", ""
