"""The forms of the risk pages: a new scoring policy version, a credit event, a back-test run and a
calibration.

They parse what was typed; the services judge it. The policy form's inputs are passed on as typed
(validate_policy names every problem, per input), the credit event's problems come from
credit_event_record per field. The back-test and calibration forms check their inputs here, one
message at a time (the first field that is wrong), with the messages the pages have always shown.
"""

import copy
import json
import math
import re
from datetime import date

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from supervision.models import ScoringPolicy
from supervision.risk import backtest, calibration, offsite
from supervision.risk.policies import FACTORS, RATINGS, RISK_LEVELS
from supervision.risk.selectors import TIERS


class _Text(forms.Field):
    """Text as typed (stripped unless ``strip=False``), never refused here: the service judges it.
    Blank is allowed, and no length or character check is added that the service does not make."""

    def __init__(self, *, strip: bool = True, **kwargs):
        self.strip = strip
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def text(self, value) -> str:
        value = value or ""
        return value.strip() if self.strip else value

    def to_python(self, value):
        return self.text(value)


class _TextForm(forms.Form):
    def values(self) -> dict[str, str]:
        """The inputs as typed, to fill the form again after a refusal."""
        return {name: field.text(self[name].data) for name, field in self.fields.items()}


def errors_by_field(form: forms.Form) -> dict[str, str]:
    """Each field's first error, as the templates show it beside the field; an error of the whole
    form under "form" when no field has one."""
    errors = {name: messages[0] for name, messages in form.errors.items() if name != NON_FIELD_ERRORS}
    if not errors and form.non_field_errors():
        errors["form"] = form.non_field_errors()[0]
    return errors


# --- a new scoring policy version ----------------------------------------------------------------------

# One input per weight and per parameter, named by the path validate_policy uses in its problems
# ("weights.scene", "params.tiers.1.draw_ratio"), so each problem lands on its input.
PARAM_FIELDS = [
    ("params.half_life_days", gettext_lazy("Half-life of a violation (days)")),
    ("params.severity_points.minor", gettext_lazy("Points of a minor finding")),
    ("params.severity_points.major", gettext_lazy("Points of a major finding")),
    ("params.severity_points.critical", gettext_lazy("Points of a critical finding")),
    ("params.violations_saturation", gettext_lazy("Violation points that nearly fill the factor")),
    ("params.orders_saturation", gettext_lazy("Open orders that nearly fill the factor")),
    ("params.overdue_order_weight", gettext_lazy("Weight of an overdue order")),
    ("params.complaints_saturation", gettext_lazy("Complaint points that nearly fill the factor")),
    ("params.complaint_half_life_days", gettext_lazy("Half-life of a complaint (days)")),
    ("params.verified_complaint_weight", gettext_lazy("Weight of a verified complaint")),
    ("params.self_inspection_max_age_days", gettext_lazy("A self-inspection counts for (days)")),
    ("params.discrepancy_saturation", gettext_lazy("Discrepancies that nearly fill the factor")),
    ("params.new_licence_days", gettext_lazy("A licence counts as new for (days)")),
    ("params.default_interval_days", gettext_lazy("Inspection interval without a tier (days)")),
    ("params.risk_thresholds.medium", gettext_lazy("Medium risk from (score)")),
    ("params.risk_thresholds.high", gettext_lazy("High risk from (score)")),
]
CREDIT_FIELDS = [
    ("params.credit.repair_days", gettext_lazy("Credit repair period (days)")),
    ("params.credit.points.penalty", gettext_lazy("Points per administrative penalty")),
    ("params.credit.points.late_order", gettext_lazy("Points per order closed late")),
    ("params.credit.points.unclosed_order", gettext_lazy("Points per overdue open order")),
    ("params.credit.points.refusal", gettext_lazy("Points per refused inspection")),
    ("params.credit.thresholds.B", gettext_lazy("Rating B from (points)")),
    ("params.credit.thresholds.C", gettext_lazy("Rating C from (points)")),
    ("params.credit.thresholds.D", gettext_lazy("Rating D from (points)")),
]
# Blank means "no fixed interval: random draws only".
OPTIONAL_FIELDS = {f"params.tiers.{tier}.interval_days" for tier in TIERS}

# validate_policy's reasons (English, machine-made) in the UI language.
REASONS = {
    "missing": gettext_lazy("Required."),
    "must be a number": gettext_lazy("Must be a number."),
    "unknown factor": gettext_lazy("Unknown factor."),
    "not an object": gettext_lazy("Malformed."),
    "must be a tier 1-4": gettext_lazy("Choose a tier from 1 to 4."),
    "at least one weight must be above zero": gettext_lazy("At least one weight must be above zero."),
    "medium must be below high": gettext_lazy("The medium threshold must be below the high one."),
    "B < C < D required": gettext_lazy("The thresholds must rise from B to C to D."),
    "tiers 1, 2, 3 and 4 are required": gettext_lazy("Tiers 1, 2, 3 and 4 are required."),
    # The off-site factors' definitions (supervision.risk.offsite.offsite_problems).
    "must be a list of factor definitions": gettext_lazy("Must be a JSON list of factor definitions."),
    "unknown type": gettext_lazy("Unknown type: attribute, attribute_age, nearby or keyed."),
    "unknown key": gettext_lazy("Unknown key."),
    "duplicate name": gettext_lazy("Another factor has this name."),
    "is a built-in factor": gettext_lazy("A built-in factor has this name."),
    "must be lower-case letters, digits and underscores": gettext_lazy(
        "Lower-case letters, digits and underscores, starting with a letter."
    ),
    "must be lower-case letters, digits and underscores (at most 40)": gettext_lazy(
        "Lower-case letters, digits and underscores, starting with a letter, at most 40."
    ),
    "needs zh and en, 1 to 100 characters each": gettext_lazy(
        "A label in Chinese (zh) and in English (en), 1 to 100 characters each."
    ),
    "must map 1 to 200 values to numbers from 0 to 1": gettext_lazy(
        "Map 1 to 200 values to numbers from 0 to 1."
    ),
    "a value is 1 to 500 characters": gettext_lazy("A value is 1 to 500 characters."),
    "must be a number from 0 to 1": gettext_lazy("A number from 0 to 1."),
    "must be true or false": gettext_lazy("true or false."),
    "must be a list of signal kinds": gettext_lazy("A list of signal kinds."),
}


def _reason(text: str) -> str:
    if text in REASONS:
        return str(REASONS[text])
    if match := re.fullmatch(r"must be at least (\S+) and at most (\S+)", text):
        return _("From %(low)s to %(high)s.") % {"low": match.group(1), "high": match.group(2)}
    if match := re.fullmatch(r"at most (\d+) factors", text):
        return _("At most %(n)s factors.") % {"n": match.group(1)}
    if match := re.fullmatch(r"must be at (least|most) (\S+)", text):
        limit = match.group(2)
        return (
            _("Must be at least %(n)s.") % {"n": limit}
            if match.group(1) == "least"
            else _("Must be at most %(n)s.") % {"n": limit}
        )
    return text


OFFSITE_PATH = "params.offsite"


def policy_paths(definitions: list[dict] = ()) -> list[tuple[str, str]]:
    """Every input of the policy form as (path, label), in the order the form shows them: one
    weight per built-in factor and per off-site factor of ``definitions``, and the definitions."""
    paths = [(f"weights.{factor}", str(label)) for factor, label in FACTORS.items()]
    paths += [
        (f"weights.{d['name']}", offsite.label(d))
        for d in definitions
        if isinstance(d, dict) and isinstance(d.get("name"), str) and d["name"] not in FACTORS
    ]
    paths.append((OFFSITE_PATH, _("Off-site factors (JSON)")))
    paths += [(path, str(label)) for path, label in PARAM_FIELDS + CREDIT_FIELDS]
    for tier in TIERS:
        paths.append(
            (f"params.tiers.{tier}.interval_days", _("Tier %(tier)s: interval (days)") % {"tier": tier})
        )
        paths.append((f"params.tiers.{tier}.draw_ratio", _("Tier %(tier)s: draw ratio") % {"tier": tier}))
    for level in RISK_LEVELS:
        for rating in RATINGS:
            paths.append((f"params.matrix.{level}.{rating}", f"{level}/{rating}"))
    return paths


def _get(tree, path: str):
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(tree: dict, path: str, value) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _unset(tree: dict, path: str) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.get(part)
        if not isinstance(node, dict):
            return
    node.pop(parts[-1], None)


def _number(raw: str):
    """A typed number; anything else is passed on as text for validate_policy to name."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return raw
    return value if math.isfinite(value) else raw


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def offsite_text(definitions) -> str:
    """The off-site definitions as the form's text area shows them (blank: none)."""
    return json.dumps(definitions, ensure_ascii=False, indent=1) if definitions else ""


def policy_values(policy: ScoringPolicy) -> dict[str, str]:
    """The policy form's inputs as ``policy`` fills them."""
    tree = {"weights": policy.weights, "params": policy.params}
    values = {
        path: _display(_get(tree, path))
        for path, _label in policy_paths(offsite.definitions(policy.params))
        if path != OFFSITE_PATH
    }
    values[OFFSITE_PATH] = offsite_text(offsite.definitions(policy.params))
    return values


def _parsed_offsite(text: str):
    """The text area's definitions: [] when blank, the list when it is JSON, else the text itself
    (validate_policy then says it is not a list)."""
    if not text.strip():
        return []
    try:
        return json.loads(text)
    except ValueError:
        return text


class PolicyForm(_TextForm):
    """A new version: the base version's parameters with the form's inputs laid over them
    (parameters the form does not show are kept). A blank input is left out, so validate_policy
    names it as missing, except a tier's interval, where blank means random draws only."""

    note = _Text()
    adopt = _Text(strip=False)

    def __init__(self, data, *, base: ScoringPolicy):
        super().__init__(data)
        self.base = base
        # A weight input for each off-site factor the base declares and each one typed in.
        typed = _parsed_offsite(data.get(OFFSITE_PATH, "") or "") if OFFSITE_PATH in data else None
        definitions = list(offsite.definitions(base.params))
        if isinstance(typed, list):
            definitions += typed
        self.paths = policy_paths(definitions)
        for path, label in self.paths:
            self.fields[path] = _Text(label=label)

    def clean_note(self) -> str:
        return self.cleaned_data["note"][:300]

    def clean_adopt(self) -> bool:
        return self.cleaned_data["adopt"] == "1"

    def clean(self):
        data = super().clean()
        tree = {"weights": {}, "params": copy.deepcopy(self.base.params)}
        if OFFSITE_PATH in self.data:
            tree["params"]["offsite"] = _parsed_offsite(data[OFFSITE_PATH])
        declared = set(offsite.names(tree["params"]))
        for path, _label in self.paths:
            if path == OFFSITE_PATH:
                continue
            if path.startswith("weights.") and path[8:] not in FACTORS and path[8:] not in declared:
                continue  # the weight of a factor the definitions no longer declare
            if data[path]:
                _set(tree, path, _number(data[path]))
            elif path in OPTIONAL_FIELDS:
                _set(tree, path, None)
            else:
                _unset(tree, path)
        if not tree["params"].get("offsite"):
            tree["params"].pop("offsite", None)
        data["weights"], data["params"] = tree["weights"], tree["params"]
        return data

    @staticmethod
    def problems(exc: DomainError) -> dict[str, str]:
        """validate_policy's problems by input path (or group path, shown above the form), in
        the UI language."""
        details = exc.details if isinstance(exc.details, dict) else {}
        return {path: _reason(str(text)) for path, text in details.items()}


# --- a credit event ------------------------------------------------------------------------------------


class _IsoDate(_Text):
    def to_python(self, value) -> date | None:
        text = self.text(value)
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            raise ValidationError(_("Give a date as YYYY-MM-DD."), code="invalid_date") from None


class CreditEventForm(_TextForm):
    """Kind and dates are judged by credit_event_record; a date that is not one is refused here."""

    kind = _Text()
    occurred_on = _IsoDate()
    ends_on = _IsoDate()
    # Kept as typed: the service strips them before it measures them.
    reference = _Text(strip=False)
    note = _Text(strip=False)


# --- the back-test and the calibration -----------------------------------------------------------------


class FormError(DomainError):
    status = 422


class _OneProblemForm(forms.Form):
    def refusal(self) -> FormError:
        """The first wrong field's problem: the page shows one message above the form."""
        first = next(iter(self.errors.as_data().values()))[0]
        return FormError(first.messages[0], code=first.code)


class _Day(_Text):
    """A date; ``label`` names the field in the message."""

    def to_python(self, value) -> date:
        try:
            return date.fromisoformat(self.text(value))
        except ValueError:
            raise ValidationError(
                _("Give the %(field)s as a date (YYYY-MM-DD).") % {"field": self.label}, code="invalid_date"
            ) from None


class _Whole(_Text):
    def __init__(self, *, low: int, high: int, **kwargs):
        self.low, self.high = low, high
        super().__init__(**kwargs)

    def to_python(self, value) -> int:
        text = self.text(value)
        if not text.isdigit() or not self.low <= int(text) <= self.high:
            raise ValidationError(
                _("The %(field)s must be a whole number from %(low)d to %(high)d.")
                % {"field": self.label, "low": self.low, "high": self.high},
                code="invalid_number",
            )
        return int(text)


class _Version(_Text):
    """A scoring policy by its version number; blank is no policy unless ``required``."""

    def to_python(self, value) -> ScoringPolicy | None:
        text = self.text(value)
        if not text and not self.required:
            return None
        policy = ScoringPolicy.objects.filter(version=int(text)).first() if text.isdigit() else None
        if policy is None:
            raise ValidationError(
                _("Choose a policy version for %(field)s.") % {"field": self.label}, code="unknown_policy"
            )
        return policy


class BacktestForm(_OneProblemForm):
    start = _Day(label=gettext_lazy("start"))
    days = _Whole(label=gettext_lazy("number of days"), low=1, high=backtest.MAX_DAYS)
    a = _Version(label=gettext_lazy("policy A"), required=True)
    b = _Version(label=gettext_lazy("policy B"))


class CalibrateForm(_OneProblemForm):
    before = _Day(label=gettext_lazy("date to calibrate before"))
    months = _Whole(label=gettext_lazy("number of months"), low=1, high=calibration.MAX_MONTHS)
    note = _Text(strip=False)

    def clean_note(self) -> str:
        return self.cleaned_data["note"][:100]
