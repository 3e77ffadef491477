import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import close_old_connections, connection

from core.audit import GENESIS_HASH, audit_record, verify_chain
from core.models import AuditEvent
from tests.factories.audit import events_table as _table
from tests.factories.audit import tampering


def _append(n, actor=None):
    return [
        audit_record(actor=actor, action="test.step", data={"i": i, "text": "整改通知"}) for i in range(n)
    ]


@pytest.mark.django_db
def test_events_link_to_the_one_before(admin_user, enterprise):
    first, second = _append(2, actor=admin_user)
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert second.seq == 2 and second.prev_hash == first.hash
    report = verify_chain()
    assert report.ok and report.events == 2


@pytest.mark.django_db
def test_an_empty_chain_verifies(capsys):
    call_command("verify_audit")
    assert "audit chain ok: 0 events" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_stores_exactly_what_it_hashed(enterprise):
    from datetime import date
    from decimal import Decimal

    audit_record(
        actor=None, action="test.types", target=enterprise, data={"d": date(2026, 1, 2), "n": Decimal("1.50")}
    )
    event = AuditEvent.objects.get()
    assert event.data == {"d": "2026-01-02", "n": "1.50"}
    assert event.target_type == "core.enterprise" and event.target_id == str(enterprise.pk)
    assert verify_chain().ok


@pytest.mark.django_db
def test_the_model_refuses_updates_and_deletes():
    (event,) = _append(1)
    event.action = "rewritten"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


@pytest.mark.django_db
def test_an_edited_row_is_caught(capsys):
    _append(5)
    with tampering() as cursor:
        cursor.execute(f"UPDATE {_table()} SET action = %s WHERE seq = 3", ["test.forged"])
    report = verify_chain()
    assert not report.ok and report.broken_seq == 3 and "edited" in report.reason
    with pytest.raises(CommandError, match="broken at event #3"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_an_edited_row_with_recomputed_hash_breaks_the_next_link():
    _append(4)
    with tampering() as cursor:
        cursor.execute(f"UPDATE {_table()} SET hash = %s WHERE seq = 2", ["f" * 64])
    report = verify_chain()
    assert not report.ok and report.broken_seq == 2


@pytest.mark.django_db
def test_a_deleted_row_is_caught():
    _append(5)
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE seq = 2")
    report = verify_chain()
    assert not report.ok and report.broken_seq == 2 and "missing" in report.reason


@pytest.mark.django_db
def test_deleting_the_newest_rows_is_caught_by_the_head():
    _append(5)
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE seq >= 4")
    report = verify_chain()
    assert not report.ok and "chain head records #5" in report.reason


@pytest.mark.django_db
def test_verify_audit_prints_the_count(capsys):
    _append(3)
    call_command("verify_audit")
    assert capsys.readouterr().out.splitlines()[0] == "audit chain ok: 3 events"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_linear_chain():
    writers, per_writer, errors = 6, 15, []

    def work():
        try:
            for i in range(per_writer):
                audit_record(actor=None, action="test.concurrent", data={"i": i})
        except Exception as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, writers * per_writer + 1)
    )
    assert verify_chain().ok


@pytest.mark.django_db
def test_one_event_is_checked_against_its_neighbours():
    from core.audit import verify_neighbourhood

    first, middle, last = _append(3)
    assert all(verify_neighbourhood(e) for e in (first, middle, last))
    with tampering() as cursor:
        cursor.execute(f"UPDATE {_table()} SET prev_hash = %s WHERE seq = 3", ["e" * 64])
    assert not verify_neighbourhood(middle)  # its successor no longer starts from its hash
    assert verify_neighbourhood(first)
    middle = AuditEvent.objects.get(seq=2)
    with tampering() as cursor:
        cursor.execute(f"UPDATE {_table()} SET action = 'forged' WHERE seq = 1")
    assert not verify_neighbourhood(AuditEvent.objects.get(seq=1))


@pytest.mark.django_db
def test_a_failed_event_takes_the_change_it_records_with_it(enterprise):
    """No savepoint of its own: a caller that catches the failure cannot commit its change without
    the event (the next statement is refused, and the block rolls back)."""
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    from core.models import Enterprise

    name = enterprise.name
    with transaction.atomic():
        Enterprise.objects.filter(pk=enterprise.pk).update(name="改过的名称")
        with pytest.raises(TypeError):
            audit_record(actor=None, action="test.rename", target=enterprise, data={"x": object()})
        with pytest.raises(TransactionManagementError):
            Enterprise.objects.filter(pk=enterprise.pk).update(name="再改一次")
    assert Enterprise.objects.get(pk=enterprise.pk).name == name
    assert not AuditEvent.objects.exists()
