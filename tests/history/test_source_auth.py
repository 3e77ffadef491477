"""Who may send a batch: the source's own key, in ``Authorization: Source <key>``, and nothing else.
Every refusal leaves the tables, the batches and the audit chain as they were."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core.tokens import _token_issue
from history.models import SourceCredential
from history.sources import credential_revoke, credential_rotate, source_update
from tests.factories import PASSWORD, RegulatorFactory
from tests.history.helpers import post_batch, written

pytestmark = pytest.mark.django_db

ROW = {"business_key": None, "name": "risk_class", "value": "high", "valid_from": "2024-01-01"}


@pytest.fixture
def row(shop):
    return {**ROW, "business_key": shop.uscc}


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


def test_it_accepts_a_batch_with_the_sources_own_key(register, register_key, row):
    response = post_batch(register.code, "attributes", [row], key=register_key)

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    credential = SourceCredential.objects.get(source=register)
    assert credential.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["", "Source", "Source ", "Bearer sp_whatever", "Token dsk_x", "dsk_only-the-key"],
    ids=["none", "scheme-only", "empty-key", "bearer", "other-scheme", "no-scheme"],
)
def test_it_refuses_a_request_without_a_source_key(register, register_key, row, header):
    before = written()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = post_batch(register.code, "attributes", [row], **extra)

    refused(response, 401, "source_key_required")
    assert written() == before


def test_it_refuses_a_wrong_key(register, register_key, row):
    before = written()
    response = post_batch(register.code, "attributes", [row], key="dsk_" + "x" * 40)
    refused(response, 401, "invalid_source_key")
    assert written() == before


def test_it_refuses_a_revoked_key(register, register_key, row):
    credential_revoke(credential=SourceCredential.objects.get(source=register), actor=None)
    before = written()

    response = post_batch(register.code, "attributes", [row], key=register_key)

    refused(response, 401, "revoked_source_key")
    assert written() == before


def test_a_rotation_leaves_only_the_new_key_working(register, register_key, row):
    _credential, new_key, revoked = credential_rotate(source=register, actor=None)

    assert [c.prefix for c in revoked] == [register_key[:12]]
    refused(post_batch(register.code, "attributes", [row], key=register_key), 401, "revoked_source_key")
    assert post_batch(register.code, "attributes", [row], key=new_key).status_code == 200
    assert SourceCredential.objects.filter(source=register, revoked_at__isnull=True).count() == 1


def test_a_users_session_is_not_a_source_key(register, register_key, row, admin_user):
    client = Client()
    client.force_login(admin_user)
    before = written()

    response = post_batch(register.code, "attributes", [row], client=client)

    refused(response, 401, "source_key_required")
    assert written() == before


def test_a_users_bearer_token_is_not_a_source_key(register, register_key, row, regulator_user):
    _token, raw = _token_issue(user=regulator_user, device="script")
    before = written()

    response = post_batch(register.code, "attributes", [row], HTTP_AUTHORIZATION=f"Bearer {raw}")

    refused(response, 401, "source_key_required")
    assert written() == before


def test_a_user_token_sent_as_a_source_key_is_refused(register, register_key, row, regulator_user):
    _token, raw = _token_issue(user=regulator_user, device="script")
    refused(post_batch(register.code, "attributes", [row], key=raw), 401, "invalid_source_key")


@pytest.mark.parametrize("content", ["attributes", "signals"])
def test_another_sources_key_is_refused_as_wrong_source(
    register, register_key, other_source, other_key, row, content
):
    """The other source may send ``alcohol``; its key still cannot write as this one."""
    before = written()

    response = post_batch(register.code, content, [row], key=other_key)

    refused(response, 403, "wrong_source")
    assert written() == before


def test_a_key_posting_to_a_source_that_does_not_exist_is_wrong_source(register, register_key, row):
    refused(post_batch("no_such_source", "attributes", [row], key=register_key), 403, "wrong_source")


def test_an_inactive_source_is_refused(register, register_key, row):
    source_update(actor=None, source=register, active=False)
    before = written()

    response = post_batch(register.code, "attributes", [row], key=register_key)

    refused(response, 403, "inactive_source")
    assert written() == before


def test_a_request_over_the_size_limit_is_refused_before_it_is_read(register, register_key, row, settings):
    from history import api

    before = written()
    body = {"rows": [row], "padding": "x" * (api.MAX_BODY_BYTES + 1)}

    response = post_batch(register.code, "attributes", body, key=register_key)

    refused(response, 413, "too_large")
    assert written() == before


def test_a_batch_over_the_sources_row_limit_is_refused(register, register_key, row):
    source_update(actor=None, source=register, max_batch_rows=3)
    rows = [{**row, "valid_from": f"2024-01-0{day}"} for day in range(1, 5)]
    before = written()

    response = post_batch(register.code, "attributes", rows, key=register_key)

    refused(response, 413, "too_many_rows")
    assert response.json()["details"] == {"max_rows": 3, "rows": 4}
    assert written() == before
    assert post_batch(register.code, "attributes", rows[:3], key=register_key).status_code == 200


def test_the_rate_limit_counts_accepted_batches_in_the_database(register, register_key, row):
    source_update(actor=None, source=register, rate_limit_per_minute=2)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for day in (1, 2):
            response = post_batch(
                register.code, "attributes", [{**row, "valid_from": f"2024-01-0{day}"}], key=register_key
            )
            assert response.status_code == 200, response.content
            clock.shift(timedelta(seconds=20))
        before = written()

        third = post_batch(
            register.code, "attributes", [{**row, "valid_from": "2024-01-03"}], key=register_key
        )

        refused(third, 429, "rate_limited")
        # The first batch leaves the window 60 s after it came, 20 s from now.
        assert third["Retry-After"] == "20"
        assert third.json()["details"] == {"retry_after": 20}
        assert written() == before
        clock.shift(timedelta(seconds=21))
        assert (
            post_batch(
                register.code, "attributes", [{**row, "valid_from": "2024-01-03"}], key=register_key
            ).status_code
            == 200
        )


def test_a_full_window_refuses_even_a_retry(register, register_key, row):
    source_update(actor=None, source=register, rate_limit_per_minute=1)
    assert post_batch(register.code, "attributes", [row], key=register_key).status_code == 200

    again = post_batch(register.code, "attributes", [row], key=register_key)

    # Checked before anything else, under the source's lock: a full window refuses even a no-op.
    refused(again, 429, "rate_limited")


def test_keys_are_stored_as_their_digest_only(register, register_key):
    credential = SourceCredential.objects.get(source=register)
    assert register_key not in {credential.key_hash, credential.prefix}
    assert credential.prefix == register_key[:12]
    assert len(credential.key_hash) == 64


def test_a_key_of_a_user_never_reaches_the_management_api_as_a_source(register, register_key):
    """The other way round: a source key is no user's token, so the management API refuses it."""
    response = Client().get("/api/v1/sources", HTTP_AUTHORIZATION=f"Bearer {register_key}")
    assert response.status_code == 401


def test_another_regulator_cannot_sign_in_as_a_source(register, register_key, row):
    user = RegulatorFactory().user
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    refused(post_batch(register.code, "signals", [row], client=client), 401, "source_key_required")
