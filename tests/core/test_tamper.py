"""Tampering with the audit chain by someone who can write to the database, and who catches it:
the keyed hashes (core/audit_keys.py), the checkpoints kept outside the database
(core/checkpoints.py), the append-only trigger on PostgreSQL, and verify_audit, which names what
and where. The record-level tampering (answers, rectifications, documents) is in
tests/supervision/.../test_integrity.py."""

import io
import os
from importlib import import_module

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from core.audit import audit_record, verify_chain
from core.audit_keys import key_id_of, key_ring
from core.checkpoints import checkpoint_names, checkpoint_read
from core.models import AuditChainHead, AuditEvent
from tests.factories import PRODUCTION, run_manage
from tests.factories.audit import events_table, rechain, tamper, truncate

pytestmark = pytest.mark.django_db

KEY_A = "audit-chain-key-A-0123456789abcdef0123456789"
KEY_B = "audit-chain-key-B-0123456789abcdef0123456789"


def _append(n, start=0):
    return [audit_record(actor=None, action="test.step", data={"i": i}) for i in range(start, start + n)]


def verify(*args) -> tuple[str, str]:
    """verify_audit's (stdout, stderr); raises CommandError if the chain or a record fails."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from None
    return out.getvalue(), err.getvalue()


def checkpoint() -> str:
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    return out.getvalue()


# --- the keyed chain ----------------------------------------------------------------------------------


def test_every_event_is_keyed_with_the_current_key():
    first, second = _append(2)
    assert first.key_id == second.key_id == key_ring().current_id != ""
    assert verify_chain().ok


def test_rehashing_every_event_after_an_edited_one_without_the_key_is_caught():
    _append(6)
    # The intruder edits event #3 and recomputes #3..#6 and the head with the published recipe:
    # with a plain SHA-256 chain every link would hold again.
    rechain(3, data={"i": 300})
    report = verify_chain()
    assert not report.ok and report.broken_seq == 3
    with pytest.raises(CommandError) as error:
        verify()
    message = str(error.value)
    assert "audit chain broken at event #3" in message
    assert "event #3: its content does not match its hash (edited, or re-hashed without the key)" in message
    assert "event #6: its content does not match its hash" in message


def test_passing_rehashed_events_off_as_written_before_the_key_is_caught():
    _append(4)
    rechain(2, data={"i": 200}, as_legacy=True)
    with pytest.raises(CommandError, match="event #2 carries no key, but the keyed chain began after #0"):
        verify()


def test_an_event_keyed_with_a_key_this_installation_does_not_hold_is_named(settings):
    settings.AUDIT_CHAIN_KEY = KEY_A
    _append(2)
    settings.AUDIT_CHAIN_KEY = KEY_B
    with pytest.raises(CommandError) as error:
        verify()
    assert (
        f"event #1 was keyed with key {key_id_of(KEY_A.encode())}, which this installation does not hold"
        in str(error.value)
    )


def test_a_rotated_key_keeps_verifying_the_events_it_keyed(settings):
    settings.AUDIT_CHAIN_KEY = KEY_A
    old = _append(2)
    settings.AUDIT_CHAIN_KEY, settings.AUDIT_CHAIN_OLD_KEYS = KEY_B, [KEY_A]
    new = _append(2, start=2)
    assert {e.key_id for e in old} == {key_id_of(KEY_A.encode())}
    assert {e.key_id for e in new} == {key_id_of(KEY_B.encode())}
    out, _err = verify()
    assert out.startswith("audit chain ok: 4 events")


def test_the_key_derived_from_secret_key_can_be_kept_as_an_old_key(settings):
    settings.AUDIT_CHAIN_KEY = ""
    _append(1)
    settings.AUDIT_CHAIN_KEY, settings.AUDIT_CHAIN_OLD_KEYS = KEY_A, ["from-secret-key"]
    _append(1, start=1)
    assert verify_chain().ok
    settings.AUDIT_CHAIN_OLD_KEYS = []
    assert "which this installation does not hold" in verify_chain().reason


# --- events from before the key ---------------------------------------------------------------------------


def test_the_upgrade_keeps_old_events_as_they_were_and_keys_the_new_ones():
    """An installation upgraded with events in its chain: they stay plain SHA-256 (the migration
    rewrites nothing), the migration records where they end, and new events are keyed."""
    _append(3)
    rechain(1, as_legacy=True)  # the chain as the old code wrote it
    AuditChainHead.objects.filter(pk=1).update(legacy_seq=0)
    migration = import_module("core.migrations.0008_audit_keyed_chain")
    migration.record_legacy_boundary(apps, None)
    assert AuditChainHead.objects.get().legacy_seq == 3
    new = audit_record(actor=None, action="test.after_upgrade")
    assert new.key_id and new.seq == 4
    out, _err = verify("--chain-only")
    assert "audit chain ok: 4 events" in out
    assert "events #1-#3: written before the chain was keyed (plain SHA-256)" in out


def test_raising_the_legacy_boundary_to_rehash_the_chain_is_caught_by_a_checkpoint():
    _append(4)
    checkpoint()
    rechain(2, data={"i": 200}, as_legacy=True)
    AuditChainHead.objects.filter(pk=1).update(legacy_seq=4)
    assert verify_chain().ok  # the database alone now vouches for the rewritten chain...
    with pytest.raises(CommandError) as error:  # ...the checkpoint outside it does not
        verify()
    message = str(error.value)
    assert (
        "checkpoint 000000000004.json saw the keyed chain begin after #0, the database now says after #4"
        in message
    )
    assert "event #4: its hash differs from checkpoint 000000000004.json" in message


# --- checkpoints: truncation and rewrites ----------------------------------------------------------------


def test_deleting_the_last_events_and_moving_the_head_back_is_caught():
    _append(5)
    checkpoint()
    _append(3, start=5)
    checkpoint()
    truncate(6)
    assert verify_chain().ok  # a sound chain, by itself
    with pytest.raises(CommandError) as error:
        verify()
    assert "the chain ends at #6 but checkpoint 000000000008.json saw #8: events were removed" in str(
        error.value
    )


def test_an_insider_with_the_key_who_rewrites_the_chain_disagrees_with_the_checkpoint():
    _append(5)
    checkpoint()
    rechain(3, data={"i": 300}, with_key=True)
    assert verify_chain().ok
    with pytest.raises(CommandError, match=r"event #5: its hash differs from checkpoint 000000000005.json"):
        verify()


def test_a_forged_checkpoint_is_caught(settings):
    _append(3)
    checkpoint()
    path = settings.AUDIT_CHECKPOINT_DIR / "000000000003.json"
    forged = path.read_text().replace(AuditEvent.objects.get(seq=3).hash, "f" * 64)
    os.chmod(path, 0o644)
    path.write_text(forged)
    with pytest.raises(CommandError, match=r"checkpoint 000000000003\.json: its signature does not hold"):
        verify()


def test_a_checkpoint_is_not_signed_over_a_broken_chain(settings):
    _append(3)
    rechain(2, data={"i": 20})
    with pytest.raises(CommandError, match="no checkpoint written: event #2: its content does not match"):
        checkpoint()
    assert checkpoint_names() == []


def test_the_checkpoint_command_anchors_the_head_once():
    _append(3)
    assert "checkpoint 000000000003.json written: event #3" in checkpoint()
    assert "checkpoint 000000000003.json already anchors event #3" in checkpoint()
    assert checkpoint_read("000000000003.json").head == AuditEvent.objects.get(seq=3).hash
    out, _err = verify()
    assert "checkpoints: 1, the newest at event #3" in out


def test_an_empty_chain_needs_no_checkpoint():
    assert "nothing to anchor" in checkpoint()
    assert checkpoint_names() == []


# --- the database refuses UPDATE and DELETE ----------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET action = 'forged' WHERE seq = 1", "DELETE FROM {table} WHERE seq = 2"],
)
def test_postgresql_refuses_update_and_delete_on_audit_events(statement):
    _append(2)
    with (
        pytest.raises(DatabaseError, match="audit events are append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=events_table()))
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)) == [
        "test.step",
        "test.step",
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_still_lets_the_test_runner_truncate():
    # pytest-django flushes between transactional tests with TRUNCATE, which a row trigger does not see.
    _append(2)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # this test's own inserts' deferred checks
        cursor.execute(f"TRUNCATE {events_table()} CASCADE")
        assert not AuditEvent.objects.exists()
        transaction.set_rollback(True)


def test_the_tampering_helper_really_changes_the_row():
    # The tests above edit rows through tests.factories.audit; on PostgreSQL past the trigger.
    _append(1)
    tamper(f"UPDATE {events_table()} SET action = %s WHERE seq = 1", ["test.forged"])
    assert AuditEvent.objects.get().action == "test.forged"


# --- settings ---------------------------------------------------------------------------------------------


def test_production_without_an_audit_chain_key_fails_the_deploy_check():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "AUDIT_CHAIN_KEY": ""}
    )
    assert result.returncode != 0
    assert "core.W001" in result.stderr and "AUDIT_CHAIN_KEY is not set" in result.stderr


def test_a_short_audit_chain_key_stops_start_up():
    result = run_manage("check", **{**PRODUCTION, "AUDIT_CHAIN_KEY": "short"})
    assert result.returncode != 0
    assert "AUDIT_CHAIN_KEY: must be at least 32 characters" in result.stderr


def test_verify_audit_refuses_a_chunk_size_below_one():
    with pytest.raises(CommandError, match="--chunk-size must be at least 1"):
        verify("--chunk-size", "0")
