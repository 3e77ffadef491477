"""Signals by API: keyed to a business or located by a point as the kind allows, idempotent by the
source's own id, unmatched business keys kept and reported, every problem of a refused batch listed
and nothing written."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from history.models import Signal, SourceBatch
from tests.factories import make_uscc
from tests.history.helpers import errors_of, post_batch, written

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI)
STRANGER = make_uscc(424242)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def events(shop):
    return [
        {
            "signal_id": "H-1",
            "kind": "garbage_complaint",
            "occurred_at": "2025-02-28T21:15:00+08:00",
            "business_key": shop.uscc,
            "description": "垃圾外溢",
        },
        {
            "signal_id": "H-2",
            "kind": "street_complaint",
            "occurred_at": "2025-02-27",
            "latitude": 39.9,
            "longitude": 116.4,
        },
        {
            "signal_id": 3,
            "kind": "temperature_excursion",
            "occurred_at": "2025-03-01T01:00:00Z",
            "business_key": STRANGER,
            "value": 9.5,
        },
        {
            "signal_id": "H-4",
            "kind": "garbage_complaint",
            "occurred_at": "2025-03-01 08:00",
            "latitude": "39.91",
            "longitude": "116.41",
        },
        {
            "signal_id": "H-5",
            "kind": "temperature_excursion",
            "occurred_at": "2025-02-01T00:00:00+08:00",
            "business_key": STRANGER,
            "value": "12",
        },
    ]


def test_it_accepts_signals_and_reports_unmatched_business_keys(register, register_key, shop):
    response = post_batch(register.code, "signals", events(shop), key=register_key)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["created"], body["unchanged"]) == (5, 5, 0)
    assert (body["unmatched_count"], body["unmatched"]) == (2, [STRANGER])
    batch = SourceBatch.objects.get(pk=body["batch"])
    assert (batch.unmatched, batch.unmatched_count) == ([STRANGER], 2)
    keyed = Signal.objects.get(source_ref="H-1")
    assert keyed.enterprise == shop and keyed.occurred_at == datetime(2025, 2, 28, 13, 15, tzinfo=UTC)
    kept = Signal.objects.get(source_ref="3")
    assert kept.enterprise is None and kept.business_key == STRANGER and kept.value == 9.5
    located = Signal.objects.get(source_ref="H-2")
    # A date is the start of that day on the platform's clock; a time without offset is on it too.
    assert located.occurred_at == datetime(2025, 2, 27, tzinfo=SHANGHAI)
    assert Signal.objects.get(source_ref="H-4").occurred_at == datetime(2025, 3, 1, 8, tzinfo=SHANGHAI)
    assert (located.latitude, located.longitude, located.enterprise) == (39.9, 116.4, None)


def test_a_retried_batch_changes_nothing_and_still_reports_the_unmatched(register, register_key, shop):
    post_batch(register.code, "signals", events(shop), key=register_key)
    before = written()

    response = post_batch(register.code, "signals", events(shop), key=register_key)

    assert response.status_code == 200
    body = response.json()
    assert (body["batch"], body["created"], body["unchanged"], body["unmatched_count"]) == (None, 0, 5, 2)
    assert written() == before


def test_a_changed_signal_for_a_stored_id_is_a_conflict(register, register_key, shop):
    post_batch(register.code, "signals", events(shop), key=register_key)
    changed = events(shop)
    changed[1]["latitude"] = 39.95
    changed[4]["value"] = 13
    changed.append(
        {
            "signal_id": "H-6",
            "kind": "street_complaint",
            "occurred_at": "2025-02-27",
            "latitude": 1,
            "longitude": 2,
        }
    )
    before = written()

    response = post_batch(register.code, "signals", changed, key=register_key)

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert errors_of(response) == {(1, "signal_id", "conflict"), (4, "signal_id", "conflict")}
    messages = [e["message"] for e in response.json()["details"]["errors"]]
    assert "latitude" in messages[0] and "value" in messages[1]
    assert written() == before


def test_it_refuses_a_bad_batch_whole_listing_every_problem(register, register_key, other_source, shop):
    base = {
        "signal_id": "S",
        "kind": "street_complaint",
        "occurred_at": "2025-02-27",
        "latitude": 39.9,
        "longitude": 116.4,
    }
    rows = [
        dict(base, signal_id="S-0"),
        dict(base, signal_id="S-1", kind="camera_alert"),  # another source's kind
        dict(base, signal_id="S-2", latitude=91),
        dict(base, signal_id="S-3", longitude=float("nan")),
        dict(base, signal_id="S-4", longitude=None),  # only a latitude
        dict(base, signal_id="S-5", occurred_at="2025-03-01T10:11:00+08:00"),  # beyond the tolerance
        dict(base, signal_id="S-6", occurred_at="yesterday"),
        dict(base, signal_id="S-7", occurred_at=1740787200),  # a timestamp is no ISO date
        dict(base, signal_id="S-0"),  # duplicate of row 0
        dict(base, signal_id="S-9", business_key=shop.uscc),  # street complaints name no business
        dict(base, signal_id="S-10", value=1),  # street complaints carry no value
        {
            "signal_id": "S-11",
            "kind": "temperature_excursion",
            "occurred_at": "2025-02-27",
            "business_key": shop.uscc,
        },
        {
            "signal_id": "S-12",
            "kind": "temperature_excursion",
            "occurred_at": "2025-02-27",
            "business_key": shop.uscc,
            "value": 81,
        },
        {
            "signal_id": "S-13",
            "kind": "garbage_complaint",
            "occurred_at": "2025-02-27",
        },  # neither key nor point
        dict(base, signal_id="S-14", description="ab"),  # valid: a NUL is refused at the door, below
        dict(base, signal_id="x" * 65),
        dict(base, signal_id="S-16", description="d" * 501),
        dict(base, signal_id="S-17", latitude="north"),
        dict(base, signal_id=""),
    ]
    before = written()

    response = post_batch(register.code, "signals", rows, key=register_key)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_rows"
    assert errors_of(response) == {
        (1, "kind", "unknown_kind"),
        (2, "latitude", "bad_coordinates"),
        (3, "longitude", "bad_coordinates"),
        (4, "longitude", "bad_coordinates"),
        (5, "occurred_at", "future"),
        (6, "occurred_at", "bad_date"),
        (7, "occurred_at", "bad_date"),
        (8, "signal_id", "duplicate"),
        (9, "business_key", "not_allowed"),
        (10, "value", "bad_value"),
        (11, "value", "required"),
        (12, "value", "bad_value"),
        (13, "business_key", "required"),
        (15, "signal_id", "too_long"),
        (16, "description", "too_long"),
        (17, "latitude", "bad_coordinates"),
        (18, "signal_id", "required"),
    }
    assert written() == before
    # A NUL in any row is refused before the rows are read (core.middleware): the whole batch, 400.
    rows[14] = dict(base, signal_id="S-14", description="a\x00b")
    nul = post_batch(register.code, "signals", rows, key=register_key)
    assert nul.status_code == 400, nul.content
    assert nul.json()["code"] == "invalid_characters"
    assert nul.json()["details"]["in"] == "body"
    assert written() == before


def test_a_nan_in_the_json_text_is_refused_too(register, register_key):
    body = (
        '{"rows": [{"signal_id": "n", "kind": "street_complaint", "occurred_at": "2025-02-27", '
        '"latitude": NaN, "longitude": Infinity}]}'
    )
    response = post_batch(register.code, "signals", body, key=register_key)
    assert errors_of(response) == {(0, "latitude", "bad_coordinates"), (0, "longitude", "bad_coordinates")}


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        (datetime(2025, 3, 1, 23, 30, tzinfo=SHANGHAI), {"2025-03-01"}),
        (datetime(2025, 3, 2, 0, 30, tzinfo=SHANGHAI), {"2025-03-01", "2025-03-02"}),
    ],
    ids=["23:30", "00:30"],
)
def test_a_date_in_the_future_is_refused_by_the_platforms_day(register, register_key, moment, accepted):
    with time_machine.travel(moment, tick=False):
        statuses = {
            day: post_batch(
                register.code,
                "signals",
                [
                    {
                        "signal_id": day,
                        "kind": "street_complaint",
                        "occurred_at": day,
                        "latitude": 1,
                        "longitude": 1,
                    }
                ],
                key=register_key,
            ).status_code
            for day in ("2025-03-01", "2025-03-02")
        }
    assert {day for day, status in statuses.items() if status == 200} == accepted


@pytest.mark.parametrize(
    ("occurred_at", "status"),
    [
        ("2025-03-01T10:09:59+08:00", 200),
        ("2025-03-01T02:09:59Z", 200),
        ("2025-03-01T10:10:01+08:00", 422),
        ("2025-03-01T10:10:01", 422),
    ],
)
def test_a_time_may_run_ten_minutes_ahead_of_the_platforms_clock(register, register_key, occurred_at, status):
    row = {
        "signal_id": "t",
        "kind": "street_complaint",
        "occurred_at": occurred_at,
        "latitude": 1,
        "longitude": 1,
    }
    assert post_batch(register.code, "signals", [row], key=register_key).status_code == status
