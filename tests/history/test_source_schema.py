"""The format of a source's schemas (history.sources.schema): what passes, and every problem named."""

import pytest

from history.sources import SCHEMA_HELP, SchemaError
from history.sources.schema import (
    attribute_schema_problems,
    attribute_value,
    schemas_check,
    signal_schema_problems,
)
from tests.history.helpers import HOTLINE_SIGNALS, REGISTER_ATTRIBUTES


def test_the_example_schemas_are_valid():
    assert attribute_schema_problems(REGISTER_ATTRIBUTES) == []
    assert signal_schema_problems(HOTLINE_SIGNALS) == []
    assert attribute_schema_problems({}) == [] and signal_schema_problems({}) == []


def test_every_problem_is_named():
    problems = attribute_schema_problems(
        {
            "ok": {"type": "flag"},
            "1bad": {"type": "flag"},
            "no_type": {},
            "text": {"type": "text", "max_length": 501},
            "number": {"type": "number", "min": 5, "max": 1, "unit": 3},
            "choice": {"type": "choice", "choices": ["a", "a"]},
            "extra": {"type": "date", "format": "YYYY"},
            "list": [],
        }
    )
    assert len(problems) == 8, problems
    assert any("'1bad'" in problem for problem in problems)
    assert any(problem.startswith("number: min is greater than max") for problem in problems)
    assert any(problem.startswith("number: unit must be a text") for problem in problems)
    assert any(problem.startswith("extra: unknown keys format") for problem in problems)


def test_a_signal_kind_needs_its_value_and_where():
    assert signal_schema_problems({"k": {"value": "none", "keyed": True, "located": False}}) == []
    problems = signal_schema_problems(
        {"k": {"value": "none", "unit": "°C"}, "j": {"value": "number", "keyed": False, "located": False}}
    )
    assert problems == [
        "k: unit, min and max need value number",
        "k: keyed must be true or false",
        "k: located must be true or false",
        "j: a signal is keyed, located or both",
    ]


def test_schemas_check_reports_by_field():
    with pytest.raises(SchemaError) as refused:
        schemas_check(attribute_schema=[], signal_schema={"k": 1})
    assert refused.value.code == "invalid_schema" and refused.value.status == 422
    assert set(refused.value.details) == {"attribute_schema", "signal_schema"}


@pytest.mark.parametrize(
    ("value", "entry", "stored"),
    [
        (True, {"type": "flag"}, "1"),
        (0, {"type": "flag"}, "0"),
        ("1", {"type": "flag"}, "1"),
        ("yes", {"type": "flag"}, None),
        (12.0, {"type": "number"}, "12"),
        ("1e3", {"type": "number"}, "1000"),
        ("0.25", {"type": "number", "max": 1}, "0.25"),
        (2, {"type": "number", "max": 1}, None),
        ("inf", {"type": "number"}, None),
        ("20240229", {"type": "date"}, "2024-02-29"),
        ("2023-02-29", {"type": "date"}, None),
        (" high ", {"type": "choice", "choices": ["high"]}, "high"),
        ("High", {"type": "choice", "choices": ["high"]}, None),
        ("x" * 10, {"type": "text", "max_length": 9}, None),
        (5, {"type": "text"}, None),
    ],
)
def test_one_value_against_its_schema(value, entry, stored):
    assert attribute_value(value, entry)[0] == stored


def test_the_help_describes_both_schemas():
    assert "attribute_schema" in str(SCHEMA_HELP) and "signal_schema" in str(SCHEMA_HELP)
