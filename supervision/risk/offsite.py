"""Off-site factors: what other departments' data (history.EnterpriseAttribute, history.Signal) adds
to the risk score, declared in a scoring policy as named factors.

A policy's ``params["offsite"]`` is a list of definitions; each is a factor like the nine built-in
ones (a feature in [0, 1], a weight in ``policy.weights`` under its name, points in the breakdown):

- ``{"name": "risk_class", "label": {"zh": "…", "en": "…"}, "type": "attribute",
  "attribute": "risk_class", "values": {"high": 1, "medium": 0.5, "low": 0}}``: the mapped value of
  the enterprise's register value as of the moment scored (the row with the latest ``valid_from``
  whose day has begun, whatever source sent it); ``missing`` (0 unless given) when it has none or
  one not in ``values``. A flag is ``"values": {"1": 1}``.
- ``{"type": "attribute_age", "attribute": "licence_first_issued", "days": 730}``: a date held as a
  register value (YYYY-MM-DD as the ingest stores date attributes, or the files' YYYYMMDD), young
  is risky: ``1 - age / days`` clipped to [0, 1]; 0 when missing or not a date.
- ``{"type": "nearby", "kind": "sanitation_complaint", "radius_m": 300, "half_life_days": 60,
  "window_days": 365, "saturation": 5, "distance_decay_m": 150}``: signals of that kind with a point
  that occurred in the last ``window_days``, within ``radius_m`` of the enterprise, each weighing
  ``0.5 ** (age / half_life_days) * 0.5 ** (distance / distance_decay_m)`` (``distance_decay_m``
  null: no distance decay), saturating (``1 - exp(-sum / saturation)``). Distances are measured on
  a grid (supervision.risk.offsite_sql); an enterprise without coordinates gets 0.
- ``{"type": "keyed", "kind": "camera_alert", "half_life_days": 90, "window_days": 365,
  "saturation": 3, "use_value": false}``: the enterprise's own signals (keyed to it), decaying and
  saturating the same way; ``use_value``: each counts its value (negative as 0, none as 1).

Another bureau's penalties are not a factor: signals of the kinds in
``params["credit"]["signal_penalty_kinds"]`` count as penalties of the credit rating, within the
repair period, beside the CreditEvent penalties.

Names and kinds go into the SQL as literals, so they are identifiers checked here; attribute values
(any text) go in as parameters.
"""

import math
import re

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

TYPES = {
    "attribute": _("register value"),
    "attribute_age": _("age of a register date"),
    "nearby": _("signals nearby"),
    "keyed": _("the enterprise's own signals"),
}
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# What the ingest accepts for attribute names and signal kinds (history.sources.schema).
KIND = re.compile(r"[a-z][a-z0-9_]{0,59}")
MAX_FACTORS = 30
MAX_VALUES = 200
VALUE_MAX = 500
LABEL_MAX = 100
# Coordinates are kept to about 0.1 m; a neighbourhood under 10 m says nothing, and keeps the grid's
# cell numbers within supervision.risk.offsite_sql.KEY_ROW.
MIN_RADIUS_M = 10
MAX_RADIUS_M = 5000
MAX_WINDOW_DAYS = 3660
KEYS = {
    "attribute": {"attribute", "values", "missing"},
    "attribute_age": {"attribute", "days"},
    "nearby": {"kind", "radius_m", "half_life_days", "window_days", "saturation", "distance_decay_m"},
    "keyed": {"kind", "half_life_days", "window_days", "saturation", "use_value"},
}
COMMON_KEYS = {"name", "label", "type"}

# A starting point for a city whose licence register, health register and 12345/311 hotline send
# their data (the names of the exchange files in ../shared/data, chicago-2014h1): chosen from what
# published research on that data found to matter, not fitted to any back-test window. A regulator
# adopts it as a candidate version (policy page, API or ``manage.py policy_offsite_example``),
# back-tests it, and lets the calibration fit the weights and the values.
EXAMPLE_OFFSITE = [
    {
        "name": "register_risk_class",
        "label": {"zh": "卫生登记风险等级", "en": "risk class in the health register"},
        "type": "attribute",
        "attribute": "risk_class",
        "values": {"high": 1.0, "medium": 0.5, "low": 0.0},
    },
    {
        "name": "facility_type",
        "label": {"zh": "场所类型", "en": "facility type"},
        "type": "attribute",
        "attribute": "facility_type",
        "values": {
            "Restaurant": 1.0,
            "Grocery Store": 0.5,
            "Bakery": 0.5,
            "Catering": 0.5,
            "Golden Diner": 0.5,
            "School": 0.25,
            "Long Term Care": 0.25,
            "Daycare (2 - 6 Years)": 0.25,
            "Daycare Above and Under 2 Years": 0.25,
            "Daycare Combo 1586": 0.25,
        },
    },
    {
        "name": "tobacco",
        "label": {"zh": "烟草零售许可", "en": "licensed to sell tobacco"},
        "type": "attribute",
        "attribute": "tobacco",
        "values": {"1": 1.0},
    },
    {
        "name": "alcohol_on_premises",
        "label": {"zh": "店内附带饮酒", "en": "alcohol consumed on the premises"},
        "type": "attribute",
        "attribute": "consumption_on_premises_incidental_activity",
        "values": {"1": 1.0},
    },
    {
        "name": "tavern",
        "label": {"zh": "酒馆许可", "en": "tavern licence"},
        "type": "attribute",
        "attribute": "tavern",
        "values": {"1": 1.0},
    },
    {
        "name": "package_goods",
        "label": {"zh": "包装酒类零售", "en": "packaged liquor sales"},
        "type": "attribute",
        "attribute": "package_goods",
        "values": {"1": 1.0},
    },
    {
        "name": "outdoor_patio",
        "label": {"zh": "露天餐位", "en": "outdoor patio"},
        "type": "attribute",
        "attribute": "outdoor_patio",
        "values": {"1": 1.0},
    },
    {
        "name": "licence_age",
        "label": {"zh": "营业执照首次核发未久", "en": "business licence first issued recently"},
        "type": "attribute_age",
        "attribute": "licence_first_issued",
        "days": 730,
    },
    {
        "name": "nearby_sanitation",
        "label": {"zh": "周边环境卫生投诉", "en": "sanitation complaints nearby"},
        "type": "nearby",
        "kind": "sanitation_complaint",
        "radius_m": 300,
        "half_life_days": 60,
        "window_days": 365,
        "saturation": 5,
        "distance_decay_m": 150,
    },
]
EXAMPLE_WEIGHTS = {
    "register_risk_class": 6,
    "facility_type": 2,
    "tobacco": 2,
    "alcohol_on_premises": 3,
    "tavern": 1,
    "package_goods": 1,
    "outdoor_patio": 1,
    "licence_age": 3,
    "nearby_sanitation": 6,
}


def definitions(params) -> list[dict]:
    """The off-site factor definitions of a policy's parameters (none when it declares none)."""
    found = params.get("offsite") if isinstance(params, dict) else None
    return found if isinstance(found, list) else []


def names(params) -> list[str]:
    """The declared factor names, in order (malformed definitions skipped: validation names them)."""
    return [d["name"] for d in definitions(params) if isinstance(d, dict) and isinstance(d.get("name"), str)]


def penalty_kinds(params) -> list[str]:
    credit = params.get("credit") if isinstance(params, dict) else None
    kinds = credit.get("signal_penalty_kinds") if isinstance(credit, dict) else None
    return list(kinds) if isinstance(kinds, list) else []


def label(definition: dict) -> str:
    """The factor's label in the reader's language (Chinese for zh*, English otherwise)."""
    labels = definition.get("label") or {}
    language = (get_language() or "zh-hans").lower()
    first, second = ("zh", "en") if language.startswith("zh") else ("en", "zh")
    return labels.get(first) or labels.get(second) or definition.get("name", "")


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(definition: dict, key: str, path: str, problems: dict, *, low: float, high: float | None = None):
    value = definition.get(key)
    if key not in definition:
        problems[f"{path}.{key}"] = "missing"
    elif not _finite(value):
        problems[f"{path}.{key}"] = "must be a number"
    elif value < low:
        problems[f"{path}.{key}"] = f"must be at least {low:g}"
    elif high is not None and value > high:
        problems[f"{path}.{key}"] = f"must be at most {high:g}"


def _identifier(definition: dict, key: str, path: str, problems: dict, pattern: re.Pattern) -> None:
    value = definition.get(key)
    if key not in definition:
        problems[f"{path}.{key}"] = "missing"
    elif not isinstance(value, str) or not pattern.fullmatch(value):
        problems[f"{path}.{key}"] = "must be lower-case letters, digits and underscores"


def _values(definition: dict, path: str, problems: dict) -> None:
    values = definition.get("values")
    if "values" not in definition:
        problems[f"{path}.values"] = "missing"
        return
    if not isinstance(values, dict) or not 1 <= len(values) <= MAX_VALUES:
        problems[f"{path}.values"] = "must map 1 to 200 values to numbers from 0 to 1"
        return
    for value, number in values.items():
        if not isinstance(value, str) or not value or len(value) > VALUE_MAX or "\x00" in value:
            problems[f"{path}.values"] = "a value is 1 to 500 characters"
        elif not _finite(number) or not 0 <= number <= 1:
            problems[f"{path}.values.{value}"] = "must be a number from 0 to 1"


def offsite_problems(*, weights: dict, params: dict, builtin) -> dict[str, str]:
    """Every problem of the off-site definitions and their weights (path -> reason, the form of
    supervision.risk.policies.validate_policy); ``builtin`` are the names they may not take."""
    problems: dict[str, str] = {}
    found = params.get("offsite", [])
    if not isinstance(found, list):
        return {"params.offsite": "must be a list of factor definitions"}
    if len(found) > MAX_FACTORS:
        problems["params.offsite"] = f"at most {MAX_FACTORS} factors"
    seen: set[str] = set()
    for index, definition in enumerate(found):
        path = f"params.offsite.{index}"
        if not isinstance(definition, dict):
            problems[path] = "not an object"
            continue
        name = definition.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems[f"{path}.name"] = "must be lower-case letters, digits and underscores (at most 40)"
        elif name in builtin:
            problems[f"{path}.name"] = "is a built-in factor"
        elif name in seen:
            problems[f"{path}.name"] = "duplicate name"
        else:
            seen.add(name)
            if name not in weights:
                problems[f"weights.{name}"] = "missing"
        labels = definition.get("label")
        if not isinstance(labels, dict) or not all(
            isinstance(labels.get(lang), str) and 0 < len(labels[lang].strip()) <= LABEL_MAX
            for lang in ("zh", "en")
        ):
            problems[f"{path}.label"] = "needs zh and en, 1 to 100 characters each"
        kind = definition.get("type")
        if kind not in KEYS:
            problems[f"{path}.type"] = "unknown type"
            continue
        unknown = sorted(set(definition) - COMMON_KEYS - KEYS[kind])
        if unknown:
            problems[f"{path}.{unknown[0]}"] = "unknown key"
        if kind in ("attribute", "attribute_age"):
            _identifier(definition, "attribute", path, problems, KIND)
        else:
            _identifier(definition, "kind", path, problems, KIND)
        if kind == "attribute":
            _values(definition, path, problems)
            if "missing" in definition:
                _number(definition, "missing", path, problems, low=0, high=1)
        elif kind == "attribute_age":
            _number(definition, "days", path, problems, low=1, high=36600)
        else:
            _number(definition, "half_life_days", path, problems, low=1)
            _number(definition, "window_days", path, problems, low=1, high=MAX_WINDOW_DAYS)
            _number(definition, "saturation", path, problems, low=0.01)
        if kind == "nearby":
            radius = definition.get("radius_m")
            if "radius_m" not in definition:
                problems[f"{path}.radius_m"] = "missing"
            elif not _finite(radius):
                problems[f"{path}.radius_m"] = "must be a number"
            elif not MIN_RADIUS_M <= radius <= MAX_RADIUS_M:
                problems[f"{path}.radius_m"] = f"must be at least {MIN_RADIUS_M} and at most {MAX_RADIUS_M}"
            if definition.get("distance_decay_m") is not None:
                _number(definition, "distance_decay_m", path, problems, low=1)
        if kind == "keyed" and not isinstance(definition.get("use_value", False), bool):
            problems[f"{path}.use_value"] = "must be true or false"
    credit = params.get("credit")
    kinds = credit.get("signal_penalty_kinds", []) if isinstance(credit, dict) else []
    if not isinstance(kinds, list) or not all(isinstance(k, str) and KIND.fullmatch(k) for k in kinds):
        problems["params.credit.signal_penalty_kinds"] = "must be a list of signal kinds"
    return problems


def example_policy(*, weights: dict, params: dict) -> tuple[dict, dict]:
    """``weights`` and ``params`` with the example off-site factors added (those whose names the
    policy already uses are left as they are)."""
    params = {**params}
    current = definitions(params)
    taken = {d.get("name") for d in current if isinstance(d, dict)}
    added = [d for d in EXAMPLE_OFFSITE if d["name"] not in taken]
    params["offsite"] = [*current, *(dict(d) for d in added)]
    weights = {**weights, **{d["name"]: EXAMPLE_WEIGHTS[d["name"]] for d in added}}
    return weights, params
