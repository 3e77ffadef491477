"""Register attributes by API: checked row by row against the source's schema, refused whole with
every problem listed (and nothing written), accepted whole, idempotent by (enterprise, source,
name, valid_from)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.models import AuditEvent
from history.models import EnterpriseAttribute, SourceBatch, SourceRecord
from tests.factories import EnterpriseFactory, make_uscc
from tests.history.helpers import errors_of, issue_key, make_source, post_batch, written

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def facts(shop):
    return [
        {"business_key": shop.uscc, "name": "risk_class", "value": "high", "valid_from": "2024-01-01"},
        {"business_key": shop.uscc.lower(), "name": "tobacco", "value": 1, "valid_from": "2024-01-01"},
        {"business_key": shop.uscc, "name": "tobacco", "value": "0", "valid_from": "2024-06-01"},
        {
            "business_key": shop.uscc,
            "name": "licence_first_issued",
            "value": "20010119",
            "valid_from": "2001-01-19",
        },
        {
            "business_key": shop.uscc,
            "name": "facility_type",
            "value": " Restaurant ",
            "valid_from": "2024-01-01",
        },
        {"business_key": shop.uscc, "name": "seats", "value": "40.0", "valid_from": "2024-01-01"},
    ]


def test_it_accepts_a_batch_whole_and_audits_it(register, register_key, shop):
    response = post_batch(register.code, "attributes", facts(shop), key=register_key)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        "batch": body["batch"],
        "rows": 6,
        "created": 6,
        "unchanged": 0,
        "unmatched_count": 0,
        "unmatched": [],
    }
    stored = {
        (a.name, a.valid_from.isoformat()): a.value
        for a in EnterpriseAttribute.objects.filter(enterprise=shop)
    }
    assert stored == {
        ("risk_class", "2024-01-01"): "high",
        ("tobacco", "2024-01-01"): "1",
        ("tobacco", "2024-06-01"): "0",
        ("licence_first_issued", "2001-01-19"): "2001-01-19",
        ("facility_type", "2024-01-01"): "Restaurant",
        ("seats", "2024-01-01"): "40",
    }
    batch = SourceBatch.objects.get(pk=body["batch"])
    assert (batch.content, batch.channel, batch.rows, batch.created) == ("attributes", "api", 6, 6)
    assert batch.credential.prefix == register_key[:12]
    event = AuditEvent.objects.get(action="source.batch")
    assert event.data["sha256"] == batch.sha256 and event.data["created"] == 6
    assert event.data["source"] == register.code and event.data["credential"] == register_key[:12]


def test_a_retried_batch_changes_nothing(register, register_key, shop):
    post_batch(register.code, "attributes", facts(shop), key=register_key)
    before = written()

    response = post_batch(register.code, "attributes", facts(shop), key=register_key)

    assert response.status_code == 200
    assert response.json() | {"batch": None} == {
        "batch": None,
        "rows": 6,
        "created": 0,
        "unchanged": 6,
        "unmatched_count": 0,
        "unmatched": [],
    }
    assert response.json()["batch"] is None
    assert written() == before


def test_a_batch_partly_stored_writes_only_the_new_rows(register, register_key, shop):
    post_batch(register.code, "attributes", facts(shop)[:2], key=register_key)

    response = post_batch(register.code, "attributes", facts(shop), key=register_key)

    assert (response.json()["created"], response.json()["unchanged"]) == (4, 2)
    assert EnterpriseAttribute.objects.count() == 6


def test_a_changed_value_for_a_stored_key_is_a_conflict(register, register_key, shop):
    post_batch(register.code, "attributes", facts(shop), key=register_key)
    before = written()
    changed = facts(shop)
    changed[0]["value"] = "low"
    changed.append(
        {"business_key": shop.uscc, "name": "risk_class", "value": "low", "valid_from": "2025-01-01"}
    )

    response = post_batch(register.code, "attributes", changed, key=register_key)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "conflict"
    assert errors_of(response) == {(0, "value", "conflict")}
    assert "'high'" in response.json()["details"]["errors"][0]["message"]
    assert written() == before


def test_it_refuses_a_bad_batch_whole_listing_every_problem(register, register_key, other_source, shop):
    unknown = make_uscc(99999)
    rows = [
        *facts(shop),
        {"business_key": unknown, "name": "risk_class", "value": "high", "valid_from": "2024-01-01"},  # 6
        {
            "business_key": "not-a-uscc",
            "name": "risk_class",
            "value": "high",
            "valid_from": "2024-01-01",
        },  # 7
        {
            "business_key": shop.uscc,
            "name": "alcohol",
            "value": "1",
            "valid_from": "2024-01-01",
        },  # 8: other source's
        {
            "business_key": shop.uscc,
            "name": "risk_class",
            "value": "extreme",
            "valid_from": "2024-01-01",
        },  # 9
        {"business_key": shop.uscc, "name": "tobacco", "value": "yes", "valid_from": "2024-02-30"},  # 10
        {"business_key": shop.uscc, "name": "seats", "value": "NaN", "valid_from": "2024/01/01"},  # 11
        {
            "business_key": shop.uscc,
            "name": "facility_type",
            "value": "x" * 41,
            "valid_from": "2024-01-01",
        },  # 12
        {
            "business_key": shop.uscc,
            "name": "facility_type",
            "value": "ab",
            "valid_from": "2024-02-01",
        },  # 13: valid (a NUL here refuses the whole batch at the door, below)
        {
            "business_key": shop.uscc,
            "name": "risk_class",
            "value": "low",
            "valid_from": "2025-03-02",
        },  # 14: future
        {"business_key": shop.uscc, "name": "risk_class", "value": "low", "valid_from": "1899-12-31"},  # 15
        {
            "business_key": shop.uscc,
            "name": "risk_class",
            "value": "low",
            "valid_from": "2024-01-01",
        },  # 16: dup of 0
        {
            "business_key": shop.uscc,
            "name": "seats",
            "value": -1,
            "valid_from": "2024-03-01",
            "extra": 1,
        },  # 17
        {"name": "tobacco", "value": None},  # 18
        "not an object",  # 19
        {
            "business_key": shop.uscc,
            "name": "licence_first_issued",
            "value": "2001-13-01",
            "valid_from": "2024-01-01",
        },
    ]
    before = written()

    response = post_batch(register.code, "attributes", rows, key=register_key)

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert errors_of(response) == {
        (6, "business_key", "unknown_business"),
        (7, "business_key", "bad_business_key"),
        (8, "name", "unknown_name"),
        (9, "value", "bad_value"),
        (10, "value", "bad_value"),
        (10, "valid_from", "bad_date"),
        (11, "value", "bad_value"),
        (11, "valid_from", "bad_date"),
        (12, "value", "too_long"),
        (14, "valid_from", "future"),
        (15, "valid_from", "too_old"),
        (16, "valid_from", "duplicate"),
        (17, "extra", "unknown_field"),
        (17, "value", "bad_value"),
        (18, "business_key", "required"),
        (18, "value", "required"),
        (18, "valid_from", "required"),
        (19, "", "not_an_object"),
        (20, "value", "bad_value"),
    }
    assert body["details"]["error_count"] == 19
    duplicate = next(e for e in body["details"]["errors"] if e["code"] == "duplicate")
    assert duplicate["duplicate_of"] == 0
    assert written() == before
    # A NUL in any row is refused before the rows are read (core.middleware): the whole batch, 400.
    rows[13] = {**rows[13], "value": "a\x00b"}
    nul = post_batch(register.code, "attributes", rows, key=register_key)
    assert nul.status_code == 400, nul.content
    assert nul.json()["code"] == "invalid_characters"
    assert nul.json()["details"]["in"] == "body"
    assert written() == before


def test_an_attribute_must_belong_to_an_enterprise_by_its_lives_id(db):
    source = make_source("lives_register", business_key="lives")
    key = issue_key(source)
    shop = EnterpriseFactory()
    SourceRecord.objects.create(source="lives", source_id="1000049", enterprise=shop)
    rows = [
        {"business_key": "1000049", "name": "tobacco", "value": "1", "valid_from": "2024-01-01"},
        {"business_key": 1000049, "name": "risk_class", "value": "low", "valid_from": "2024-01-01"},
        {"business_key": "0001000049", "name": "seats", "value": 3, "valid_from": "2024-01-01"},
    ]

    response = post_batch(source.code, "attributes", rows, key=key)

    assert response.status_code == 200, response.content
    assert EnterpriseAttribute.objects.filter(enterprise=shop).count() == 3
    unknown = post_batch(source.code, "attributes", [{**rows[0], "business_key": "77"}], key=key)
    assert errors_of(unknown) == {(0, "business_key", "unknown_business")}
    letters = post_batch(source.code, "attributes", [{**rows[0], "business_key": "A77"}], key=key)
    assert errors_of(letters) == {(0, "business_key", "bad_business_key")}


def test_a_body_that_is_no_list_of_rows_is_invalid_input(register, register_key):
    for body in ({"rows": "x"}, {"rows": None}, {}, "[]"):
        response = post_batch(register.code, "attributes", body, key=register_key)
        assert response.status_code in {400, 422}
        assert response.json()["code"] in {"invalid_input", "http_400"}


def test_an_empty_batch_writes_nothing(register, register_key):
    before = written()
    response = post_batch(register.code, "attributes", [], key=register_key)
    assert response.status_code == 200
    assert response.json()["rows"] == 0
    assert written() == before


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        # 23:30 in Shanghai is 15:30 UTC on the same day: tomorrow is still the future.
        (datetime(2025, 3, 1, 23, 30, tzinfo=SHANGHAI), {"2025-03-01"}),
        # 00:30 in Shanghai is 16:30 UTC the day before: today (Shanghai's) is no longer the future.
        (datetime(2025, 3, 2, 0, 30, tzinfo=SHANGHAI), {"2025-03-01", "2025-03-02"}),
        # Within the tolerance of a fast clock: midnight is five minutes away.
        (datetime(2025, 3, 1, 23, 55, tzinfo=SHANGHAI), {"2025-03-01", "2025-03-02"}),
    ],
    ids=["23:30", "00:30", "23:55"],
)
def test_a_valid_from_in_the_future_is_refused_by_the_platforms_day(
    register, register_key, shop, moment, accepted
):
    with time_machine.travel(moment, tick=False):
        answers = {
            day: post_batch(
                register.code,
                "attributes",
                [{"business_key": shop.uscc, "name": "tobacco", "value": "1", "valid_from": day}],
                key=register_key,
            )
            for day in ("2025-03-01", "2025-03-02")
        }
    assert {day for day, response in answers.items() if response.status_code == 200} == accepted
    for day, response in answers.items():
        if day not in accepted:
            assert errors_of(response) == {(0, "valid_from", "future")}
    assert {a.valid_from for a in EnterpriseAttribute.objects.all()} == {
        date.fromisoformat(d) for d in accepted
    }
