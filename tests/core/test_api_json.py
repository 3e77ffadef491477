"""The API's JSON (core.api_root.FastJSONRenderer) holds the values ninja's own renderer wrote."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy
import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from ninja import Schema
from ninja.renderers import JSONRenderer

from core.api_root import FastJSONRenderer, api

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Colour(models.TextChoices):
    RED = "red", "Red"


class PointOut(Schema):
    at: datetime
    label: str


def fast(data):
    return FastJSONRenderer().render(None, data, response_status=200)


def ninja(data):
    return JSONRenderer().render(None, data, response_status=200)


def test_the_api_writes_its_responses_with_it():
    assert isinstance(api.renderer, FastJSONRenderer)
    assert api.renderer.media_type == "application/json"


def test_dates_and_times_read_as_ninja_wrote_them():
    data = {
        "utc": datetime(2026, 12, 6, 8, 30, 0, 123456, tzinfo=UTC),
        "shanghai": datetime(2026, 12, 7, 0, 0, tzinfo=SHANGHAI),
        "naive": datetime(2026, 12, 6, 23, 59, 59),
        "day": date(2026, 12, 6),
        "time": time(23, 59, 59, 999999),
        "duration": timedelta(days=1, seconds=5),
    }
    assert json.loads(fast(data)) == json.loads(ninja(data))
    assert json.loads(fast(data))["utc"] == "2026-12-06T08:30:00.123Z"
    assert json.loads(fast(data))["shanghai"] == "2026-12-07T00:00:00+08:00"


def test_what_orjson_does_not_know_goes_through_ninjas_encoder():
    data = {
        "decimal": Decimal("12.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "lazy": gettext_lazy("Risk score"),
        "choice": Colour.RED,
        "schema": PointOut(at=datetime(2026, 1, 1, tzinfo=UTC), label="一业一码"),
        "numpy": numpy.float64(0.25),
        7: "an int key",
    }
    assert json.loads(fast(data)) == json.loads(ninja(data))


def test_numpy_integers_are_numbers_too():
    # The standard library's encoder refused them (a float64 is a float to it, an int64 nothing).
    body = fast({"count": numpy.int64(3), "share": numpy.float32(0.5)})
    assert json.loads(body) == {"count": 3, "share": 0.5}


def test_chinese_text_is_utf8_not_escaped():
    body = fast({"name": "北京市朝阳区餐饮店"})
    assert "北京市朝阳区餐饮店".encode() in body


def test_a_float_that_is_not_a_number_is_null_not_invalid_json():
    assert json.loads(fast({"risk": float("nan")})) == {"risk": None}


def test_an_unknown_value_is_a_type_error_as_before():
    with pytest.raises(TypeError):
        ninja({"set": {1, 2}})
    with pytest.raises(TypeError):
        fast({"set": {1, 2}})


# JSON's own values, and the ones the API's handlers hand over besides (dates, decimals, text).
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.datetimes(timezones=st.sampled_from([None, UTC, SHANGHAI]))
    | st.dates()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
_values = st.recursive(
    _leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)


@given(_values)
def test_any_value_reads_back_as_ninjas_renderer_wrote_it(value):
    assert json.loads(fast(value)) == json.loads(ninja(value))
