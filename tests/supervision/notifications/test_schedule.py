"""The scheduled job beyond reminders: the regulators' digest, results about to go public, manuals
to acknowledge, silent data sources; each once, on its local day."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from checklists.notices import manual_acknowledge
from core.models import Department, Scene
from history.models import DataSource, SourceBatch
from supervision.models import Notification, NotificationKind
from supervision.notifications.schedule import schedule_run
from tests.factories import EnterpriseFactory, MembershipFactory, RegulatorFactory, UserFactory, make_manual
from tests.supervision.notifications.builders import issue_order, with_prefs

BEIJING = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db
Kind = NotificationKind


def told(kind) -> list:
    return list(Notification.objects.filter(kind=kind).order_by("pk").values_list("user_id", "params"))


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return schedule_run()


def test_the_digest_comes_after_its_hour_once_and_only_with_something_in_it(
    enterprise, regulator_user, haidian_regulator, settings
):
    settings.NOTIFY_DIGEST_HOUR = 8
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING), tick=False):
        issue_order(enterprise, regulator_user, deadline=datetime(2025, 6, 9, 23, 30, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 10, 7, 59, tzinfo=BEIJING))
    assert told(Kind.OVERDUE_DIGEST) == []
    run_at(datetime(2025, 6, 10, 8, 0, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 10, 20, 0, tzinfo=BEIJING))
    assert told(Kind.OVERDUE_DIGEST) == [(regulator_user.pk, {"day": "2025-06-09", "count": 1, "total": 1})]
    # The next day: nothing went overdue on 06-10, so no digest, although one order is still overdue.
    run_at(datetime(2025, 6, 11, 9, 0, tzinfo=BEIJING))
    assert len(told(Kind.OVERDUE_DIGEST)) == 1


def test_a_result_about_to_go_public_is_announced_to_the_business(enterprise, regulator_user, settings):
    settings.PUBLICATION_DELAY_DAYS, settings.NOTIFY_PUBLICATION_NOTICE_DAYS = 7, 2
    member = with_prefs(MembershipFactory(enterprise=enterprise).user, email="boss@shop.cn", language="en")
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING), tick=False):
        order = issue_order(enterprise, regulator_user)
    run_at(datetime(2025, 6, 7, 9, 59, tzinfo=BEIJING))
    assert told(Kind.RESULT_PUBLISHING) == []
    run_at(datetime(2025, 6, 7, 10, 1, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 8, 10, 1, tzinfo=BEIJING))
    [(user, params)] = told(Kind.RESULT_PUBLISHING)
    assert user == member.pk and params["inspected_on"] == "2025-06-02"
    subject = "The result of the inspection on June 2, 2025 becomes public on June 9, 2025, 10 a.m."
    [email] = [m for m in mail.outbox if m.subject == subject]
    assert f"/inspections/{order.inspection_id}/" in email.body and "object" in email.body


def test_a_new_manual_asks_the_members_who_have_not_acknowledged_it(settings):
    settings.NOTIFY_FANOUT_LIMIT = 2
    catering = [EnterpriseFactory() for _ in range(3)]
    members = [MembershipFactory(enterprise=e).user for e in catering]
    medical = MembershipFactory(enterprise=EnterpriseFactory(scene=Scene.objects.get(code="medical"))).user
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING), tick=False):
        manual = make_manual("catering")
        manual_acknowledge(enterprise=catering[0], user=members[0])
    run_at(datetime(2025, 6, 2, 10, 15, tzinfo=BEIJING))
    assert len(told(Kind.MANUAL_PUBLISHED)) == 2  # the limit of a run: the rest comes next time
    run_at(datetime(2025, 6, 2, 10, 30, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 2, 10, 45, tzinfo=BEIJING))
    asked = {user for user, _params in told(Kind.MANUAL_PUBLISHED)}
    assert asked == {members[1].pk, members[2].pk}
    assert medical.pk not in asked and members[0].pk not in asked
    assert {params["manual"] for _user, params in told(Kind.MANUAL_PUBLISHED)} == {manual.pk}


def test_a_silent_data_source_is_reported_to_those_who_manage_it(regulator_user, chaoyang_regulator):
    owner = UserFactory(username="source-owner")
    RegulatorFactory(user=owner, department=Department.objects.get(code="market_regulation"))
    health_city = RegulatorFactory(department=Department.objects.get(code="health")).user
    source = DataSource.objects.create(
        code="licences",
        name="许可证登记",
        name_en="Licence register",
        kind=DataSource.Kind.REGISTER,
        department=Department.objects.get(code="market_regulation"),
        owner=owner,
    )

    def batch(moment):
        with time_machine.travel(moment, tick=False):
            SourceBatch.objects.create(
                source=source, content="attributes", channel="api", rows=1, created=1, sha256="0" * 64
            )

    batch(datetime(2025, 6, 1, 9, 0, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 3, 8, 59, tzinfo=BEIJING))  # 47 h 59 min
    assert told(Kind.SOURCE_SILENT) == []
    run_at(datetime(2025, 6, 3, 9, 1, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 3, 12, 0, tzinfo=BEIJING))
    assert {user for user, _p in told(Kind.SOURCE_SILENT)} == {regulator_user.pk, owner.pk}
    # Not the district regulator (who does not manage sources), nor another department's.
    assert chaoyang_regulator.pk not in {u for u, _p in told(Kind.SOURCE_SILENT)}
    assert health_city.pk not in {u for u, _p in told(Kind.SOURCE_SILENT)}
    # It sends again, then stops again: a new silence, told again.
    batch(datetime(2025, 6, 4, 9, 0, tzinfo=BEIJING))
    run_at(datetime(2025, 6, 5, 9, 0, tzinfo=BEIJING))
    assert len(told(Kind.SOURCE_SILENT)) == 2
    run_at(datetime(2025, 6, 6, 9, 1, tzinfo=BEIJING))
    assert len(told(Kind.SOURCE_SILENT)) == 4
