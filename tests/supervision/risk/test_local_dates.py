"""Every date a person sees is a local date (TIME_ZONE, Beijing): a finding made at 06:56 Beijing
time (22:56 UTC the day before) is dated the local day on the risk breakdown, as the score's "last
inspected" is, whatever the hour the suite runs at."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from supervision.inspections import services as workflow
from supervision.models import Result
from supervision.risk import scoring
from supervision.risk import selectors as ranking
from tests.factories import make_ready, make_task, submit

BEIJING = ZoneInfo("Asia/Shanghai")
MOMENTS = [
    datetime(2026, 3, 10, 6, 56, tzinfo=BEIJING),  # 22:56 UTC on the 9th
    datetime(2026, 3, 9, 23, 30, tzinfo=BEIJING),
    datetime(2026, 3, 10, 0, 30, tzinfo=BEIJING),
    datetime(2026, 3, 9, 23, 30, tzinfo=UTC),
    datetime(2026, 3, 10, 0, 30, tzinfo=UTC),
]


@pytest.fixture(params=MOMENTS, ids=lambda moment: moment.strftime("%H:%M%z"))
def frozen_now(request, time_machine):
    """The clock stopped at one of MOMENTS, before any other fixture makes its rows."""
    time_machine.move_to(request.param, tick=False)
    return request.param


@pytest.mark.django_db
def test_a_finding_is_dated_its_local_day_on_the_breakdown(
    frozen_now, enterprise, team, regulator_user, loop_checklist
):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, {"mar-3": Result.NON_COMPLIANT})
    submit(inspection, team[0].user)
    scoring.recompute_all(as_of=timezone.now() + timedelta(minutes=1))

    explanation = ranking.score_explain(enterprise=enterprise)

    local_day = frozen_now.astimezone(BEIJING).date()
    assert timezone.localdate(frozen_now) == local_day
    assert [fact.day for fact in explanation.findings] == [local_day]
    assert explanation.score.last_inspected_on == local_day
