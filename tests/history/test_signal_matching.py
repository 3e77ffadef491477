"""Keyed signals that arrive before their business is an enterprise here are kept unmatched and
matched once it is registered: by the enterprise importer, the LIVES import, an enterprise saved on
its own, or `manage.py rematch_signals`."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.importers import import_enterprises
from core.models import AuditEvent, Enterprise
from core.signals import enterprise_changed
from history.lives import lives_import
from history.models import DataSource, Signal, SourceBatch, SourceRecord
from tests.core.test_import_enterprises import row, write_csv
from tests.factories import EnterpriseFactory, make_uscc
from tests.history.helpers import issue_key, make_source, post_batch
from tests.history.test_import_lives import write as write_lives

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def send(source: DataSource, *rows: tuple[str, str]) -> None:
    """Keyed garbage complaints, (signal id, business key) each, through the API."""
    body = [
        {"signal_id": ref, "kind": "garbage_complaint", "occurred_at": "2025-02-20", "business_key": key}
        for ref, key in rows
    ]
    response = post_batch(source.code, "signals", body, key=issue_key(source))
    assert response.status_code == 200, response.content


@pytest.fixture
def rescored():
    """The enterprises the risk score is told to rescore (core.signals.enterprise_changed)."""
    told: list[int] = []

    def receiver(sender, *, enterprise_id, **kwargs):
        told.append(enterprise_id)

    enterprise_changed.connect(receiver, dispatch_uid="test.matching")
    yield told
    enterprise_changed.disconnect(dispatch_uid="test.matching")


def test_signals_of_a_business_imported_later_are_matched_to_it(tmp_path, rescored):
    hotline = make_source()
    early, other = make_uscc(7001), make_uscc(7002)
    send(hotline, ("H-1", early), ("H-2", early), ("H-3", other))
    assert Signal.objects.filter(enterprise__isnull=True).count() == 3

    report = import_enterprises(path_or_stream=write_csv(tmp_path, [row(7001)]))

    assert report.imported == 1
    shop = Signal.objects.get(source_ref="H-1").enterprise
    assert shop is not None and shop.uscc == early
    assert Signal.objects.get(source_ref="H-2").enterprise == shop
    assert Signal.objects.get(source_ref="H-3").enterprise is None  # still waiting for its business
    # The batch keeps what was true when it arrived; the match is its own audit event.
    assert SourceBatch.objects.get().unmatched_count == 3
    event = AuditEvent.objects.get(action="signal.rematch")
    assert event.data == {"signals": 2, "enterprises": 1}
    assert rescored == [shop.pk]


def test_an_enterprise_saved_on_its_own_takes_its_waiting_signals():
    hotline = make_source()
    send(hotline, ("H-1", make_uscc(7101)))

    shop = EnterpriseFactory(uscc=make_uscc(7101))

    assert Signal.objects.get().enterprise == shop


def test_a_source_keyed_by_lives_id_is_matched_by_the_lives_import(tmp_path):
    lives = make_source("lives_hotline", business_key=DataSource.BusinessKey.LIVES)
    send(lives, ("L-1", "17"), ("L-2", "99"))

    lives_import(directory=write_lives(tmp_path / "lives"))

    cafe = SourceRecord.objects.get(source="lives", source_id="17").enterprise
    assert Signal.objects.get(source_ref="L-1").enterprise == cafe
    assert Signal.objects.get(source_ref="L-2").enterprise is None  # no business 99 in the feed


def test_matching_never_moves_a_signal_that_has_its_enterprise():
    hotline = make_source()
    shop = EnterpriseFactory()
    send(hotline, ("H-1", shop.uscc))
    # The same key on a second enterprise cannot happen through the register (USCCs are unique);
    # a signal matched by hand stays where it was put.
    elsewhere = EnterpriseFactory()
    Signal.objects.filter(source_ref="H-1").update(enterprise=elsewhere)

    call_command("rematch_signals")

    assert Signal.objects.get().enterprise == elsewhere
    assert not AuditEvent.objects.filter(action="signal.rematch").exists()


def test_the_command_matches_what_waits_and_says_what_still_waits(capsys):
    hotline = make_source()
    send(hotline, ("H-1", make_uscc(7201)), ("H-2", make_uscc(7202)), ("H-3", make_uscc(7203)))
    # Enterprises changed around the importers (a restore, a correction in SQL): nothing was told.
    for n in (7201, 7202):
        Enterprise.objects.filter(pk=EnterpriseFactory().pk).update(uscc=make_uscc(n))
    assert Signal.objects.filter(enterprise__isnull=True).count() == 3

    call_command("rematch_signals")
    call_command("rematch_signals")  # again: nothing more

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "signals matched: 2 (to 2 enterprises); still waiting for their business: 1",
        "signals matched: 0 (to 0 enterprises); still waiting for their business: 1",
    ]
    assert AuditEvent.objects.filter(action="signal.rematch").count() == 1


def test_registering_an_enterprise_with_nothing_waiting_costs_one_look(rescored):
    shop = EnterpriseFactory.build()
    with CaptureQueriesContext(connection) as queries:
        shop.save()
    # The INSERT and one look at the index of waiting signals.
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert rescored == []
