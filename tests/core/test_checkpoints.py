"""The audit chain's checkpoints (core/checkpoints.py): written every AUDIT_CHECKPOINT_EVERY events
once the event commits, never overwritten, and listed for anyone at /audit/checkpoints/ and
GET /api/v1/audit/checkpoints."""

import os
import stat

import pytest
import time_machine
from django.db import transaction
from django.test import Client

from core.audit import audit_record
from core.audit_keys import key_ring
from core.checkpoints import CheckpointError, checkpoint_names, checkpoint_read, checkpoint_write
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

NOW = "2026-03-02 09:30:00+08:00"


def _append(n):
    return [audit_record(actor=None, action="test.step", data={"i": i}) for i in range(n)]


@pytest.fixture
def every_three(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 3
    return settings


def test_a_checkpoint_is_written_every_n_events_once_they_commit(
    every_three, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        events = _append(7)
    assert checkpoint_names() == ["000000000003.json", "000000000006.json"]
    sixth = checkpoint_read("000000000006.json")
    assert (sixth.seq, sixth.head, sixth.legacy_seq) == (6, events[5].hash, 0)
    assert sixth.key_id == key_ring().current_id and sixth.signature_problem() == ""


def test_an_event_rolled_back_is_never_anchored(every_three, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _append(2)
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(actor=None, action="test.third")
            raise RuntimeError("refused after the event was written")
    assert checkpoint_names() == []
    assert AuditEvent.objects.count() == 2


def test_no_checkpoints_when_the_interval_is_zero(settings, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_EVERY = 0
    with django_capture_on_commit_callbacks(execute=True):
        _append(5)
    assert checkpoint_names() == []


def test_a_checkpoint_file_is_read_only_and_never_overwritten(settings):
    first, created = checkpoint_write(seq=4, head="a" * 64, legacy_seq=0)
    path = settings.AUDIT_CHECKPOINT_DIR / "000000000004.json"
    assert created and not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    before = path.read_bytes()
    again, created = checkpoint_write(seq=4, head="a" * 64, legacy_seq=0)
    assert not created and again == first
    with pytest.raises(CheckpointError, match="the chain was rewritten after that checkpoint"):
        checkpoint_write(seq=4, head="b" * 64, legacy_seq=0)
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_checkpoint_is_reported_not_trusted(settings, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    _append(2)
    settings.AUDIT_CHECKPOINT_DIR.mkdir(parents=True)
    (settings.AUDIT_CHECKPOINT_DIR / "000000000002.json").write_text("{not json")
    with pytest.raises(CommandError):
        call_command("verify_audit")
    assert "checkpoint 000000000002.json: unreadable" in capsys.readouterr().err


# --- the public list ---------------------------------------------------------------------------------------


@pytest.fixture
def many(db):
    with time_machine.travel(NOW, tick=False):
        return [checkpoint_write(seq=seq, head=f"{seq:064x}", legacy_seq=0)[0] for seq in range(1, 53)]


def test_anyone_sees_the_checkpoints_newest_first_a_page_at_a_time(many):
    client = Client(headers={"Accept-Language": "en"})
    page = client.get("/audit/checkpoints/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Audit chain checkpoints" in content
    assert content.index("#52<") < content.index("#51<") and "#2<" not in content
    assert "00000000 00000000" in content  # the hash in groups of eight, to wrap on a phone
    assert "2026-03-02 09:30:00" in content
    second = client.get("/audit/checkpoints/", {"page": 2}).content.decode()
    assert "#2<" in second and "#1<" in second and "#52<" not in second


def test_a_bad_page_number_shows_the_first_page(many):
    response = Client().get("/audit/checkpoints/", {"page": "abc"})
    assert response.status_code == 200 and "#52<" in response.content.decode()


def test_the_page_says_when_there_is_no_checkpoint_yet():
    response = Client(headers={"Accept-Language": "en"}).get("/audit/checkpoints/")
    assert response.status_code == 200
    assert "No checkpoint has been written yet." in response.content.decode()


def test_the_api_lists_them_for_anyone(many):
    response = Client().get("/api/v1/audit/checkpoints", {"page_size": 50})
    assert response.status_code == 200
    body = response.json()
    assert (body["page"], body["page_size"], body["has_next"]) == (1, 50, True)
    newest = body["items"][0]
    assert newest == {
        "seq": 52,
        "head": f"{52:064x}",
        "at": "2026-03-02T01:30:00Z",
        "legacy_seq": 0,
        "key_id": key_ring().current_id,
        "signature": many[-1].signature,
    }
    rest = Client().get("/api/v1/audit/checkpoints", {"page": 2, "page_size": 50}).json()
    assert [item["seq"] for item in rest["items"]] == [2, 1] and rest["has_next"] is False


def test_the_api_refuses_a_bad_page(many):
    response = Client().get("/api/v1/audit/checkpoints", {"page": 0})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
