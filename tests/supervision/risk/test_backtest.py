"""The back-test: hand-built histories whose answers are worked out by hand, the refusals, the
command, and the real San Francisco archive."""

import copy
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import Complaint
from history.lives import lives_import
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import BacktestRun, Result, ScoringPolicy
from supervision.risk import scoring
from supervision.risk.backtest import (
    METRICS,
    BacktestError,
    average_ranks,
    backtest,
    backtest_run,
    risk_of,
    roc_auc,
)
from tests.factories import EnterpriseFactory, make_ready, make_task, submit

pytestmark = pytest.mark.django_db

SF = Path("/work/shared/data/sf")
START = date(2015, 9, 1)
BEFORE = START - timedelta(days=100)  # every enterprise's earlier inspection


def violations_only() -> ScoringPolicy:
    """Score = 100 x the violations feature: the ranking follows the findings before START."""
    weights = dict.fromkeys(scoring.FACTORS, 0)
    weights["violations"] = 1
    return scoring.policy_create(
        actor=None, weights=weights, params=copy.deepcopy(scoring.DEFAULT_PARAMS), adopt=False
    )


def inspect(enterprise, on: date, *severities: str, kind="Routine - Unscheduled") -> HistoricalInspection:
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise, source="lives", inspected_on=on, kind=kind
    )
    for severity in severities:
        HistoricalFinding.objects.create(inspection=inspection, severity=severity)
    return inspection


@pytest.fixture
def four():
    """Four enterprises ranked e1 > e2 > e3 > e4 by their findings before START, and one
    inspection each in the 10-day window:

    ======  =================  =========  ==========  ===============
    rank    earlier findings   real day   critical?   day in order
    ======  =================  =========  ==========  ===============
    e1      3 critical         9          yes         1
    e2      2 critical         6          yes         3
    e3      1 major            3          no          6
    e4      none               1          yes         9
    ======  =================  =========  ==========  ===============
    """
    e1, e2, e3, e4 = (EnterpriseFactory() for _ in range(4))
    inspect(e1, BEFORE, "critical", "critical", "critical")
    inspect(e2, BEFORE, "critical", "critical")
    inspect(e3, BEFORE, "major")
    inspect(e4, BEFORE)
    inspect(e1, START + timedelta(days=9), "critical", "minor")
    inspect(e2, START + timedelta(days=6), "critical")
    inspect(e3, START + timedelta(days=3), "major", "minor")
    inspect(e4, START + timedelta(days=1), "critical")
    return e1, e2, e3, e4


def test_it_hands_the_real_dates_out_in_score_order(four):
    result = backtest(start=START, days=10, policy=violations_only())

    assert result["n_inspections"] == 4
    assert result["n_critical"] == 3
    # e1: 9 - 1, e2: 6 - 3, e4: 1 - 9.
    assert result["days_earlier"] == pytest.approx((8 + 3 - 8) / 3)
    # The first half is days 0-4: really only e4 (day 1); in order e1 (1) and e2 (3).
    assert result["first_half_share_actual"] == pytest.approx(1 / 3)
    assert result["first_half_share_ranked"] == pytest.approx(2 / 3)
    # Pairs (critical, not): e1 > e3, e2 > e3, e4 < e3.
    assert result["auc"] == pytest.approx(2 / 3)
    assert result["n_enterprises"] == 4


def test_the_chart_series_are_the_cumulative_shares_by_day(four):
    series = backtest(start=START, days=10, policy=violations_only())["series"]

    third, two_thirds = round(1 / 3, 4), round(2 / 3, 4)
    # Real days of the critical ones: 1, 6, 9. In score order: 1, 3, 9.
    assert series["actual"] == [0] + [third] * 5 + [two_thirds] * 3 + [1]
    assert series["ranked"] == [0] + [third] * 2 + [two_thirds] * 6 + [1]
    assert len(series["random"]) == 10 and series["random"][-1] == 1


def test_the_random_baseline_is_deterministic_and_near_its_expectation(four):
    policy = violations_only()
    first = backtest(start=START, days=10, policy=policy, seed=7)
    again = backtest(start=START, days=10, policy=policy, seed=7)
    assert first["random_days_earlier"] == again["random_days_earlier"]
    assert first["series"]["random"] == again["series"]["random"]
    # Expected: mean real day of the critical ones (9, 6, 1) minus the mean day (1, 3, 6, 9).
    many = backtest(start=START, days=10, policy=policy, seed=1, random_orders=4000)
    assert many["random_days_earlier"] == pytest.approx(16 / 3 - 19 / 4, abs=0.15)


def test_a_perfect_ranking_has_auc_1_and_a_reversed_one_0():
    top, middle, bottom = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    inspect(top, BEFORE, "critical", "critical")
    inspect(middle, BEFORE, "critical")
    inspect(bottom, BEFORE)
    inspect(top, START + timedelta(days=4), "critical")
    inspect(middle, START + timedelta(days=2))
    inspect(bottom, START, "minor")
    policy = violations_only()
    perfect = backtest(start=START, days=5, policy=policy)
    assert perfect["auc"] == 1.0
    assert perfect["days_earlier"] == 4  # from day 4 to day 0

    later = START + timedelta(days=30)
    inspect(top, later + timedelta(days=1))
    inspect(bottom, later + timedelta(days=3), "critical")
    reversed_ = backtest(start=later, days=5, policy=policy)
    assert reversed_["auc"] == 0.0
    assert reversed_["days_earlier"] == 0  # bottom keeps day 3: top takes the earlier day 1


def test_tied_scores_count_one_half():
    assert roc_auc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5
    assert roc_auc(np.array([2.0, 1.0, 1.0]), np.array([True, True, False])) == 0.75
    assert list(average_ranks(np.array([3.0, 1.0, 3.0, 2.0]))) == [3.5, 1, 3.5, 2]


def test_ties_in_score_go_by_enterprise_id_then_date():
    first, second = EnterpriseFactory(), EnterpriseFactory()  # no history: the same score
    inspect(EnterpriseFactory(), BEFORE)
    inspect(second, START, "critical")
    inspect(first, START + timedelta(days=2))
    result = backtest(start=START, days=3, policy=violations_only())
    # first (lower id) takes day 0, second day 2: found 2 days later than in reality.
    assert result["days_earlier"] == -2
    assert result["auc"] == 0.5


def test_facts_on_or_after_the_start_do_not_change_the_result(four):
    policy = violations_only()
    ids = np.array([e.pk for e in four])
    scores = risk_of(policy=policy, start=START, enterprise_ids=ids)
    result = backtest(start=START, days=10, policy=policy)
    # Each of these would move the scores if read, and none changes which inspections are in the
    # window or which of them found a critical violation.
    for inspection in HistoricalInspection.objects.filter(inspected_on__gte=START):
        HistoricalFinding.objects.create(inspection=inspection, severity="major")
    _e1, _e2, e3, e4 = four
    inspect(e4, START + timedelta(days=10), "critical", "critical", "critical", "critical")
    inspect(e3, START + timedelta(days=40), "critical", "critical")
    Complaint.objects.create(enterprise=e4, text="later")

    assert list(risk_of(policy=policy, start=START, enterprise_ids=ids)) == list(scores)
    assert backtest(start=START, days=10, policy=policy) == result


def test_our_own_inspections_count_by_their_local_date(time_machine, team, regulator_user, loop_checklist):
    shop, other = EnterpriseFactory(), EnterpriseFactory()
    inspect(other, BEFORE, "critical")
    inspect(other, START + timedelta(days=1))
    # 00:30 in Beijing on the first day is still the day before in UTC: it counts as day 0.
    time_machine.move_to(timezone.make_aware(datetime(2015, 9, 1, 0, 30)), tick=False)
    task = make_task(enterprise=shop, team=team, actor=regulator_user)
    from supervision.inspections import services as workflow

    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, {"mar-3": Result.NON_COMPLIANT})
    submit(inspection, team[0].user)

    result = backtest(start=START, days=2, policy=violations_only())
    assert result["n_inspections"] == 2 and result["n_critical"] == 1
    assert result["first_half_share_actual"] == 1.0  # day 0 of 2
    assert result["days_earlier"] == -1  # other's history ranks it first: shop moves to day 1
    # Outside the window by its local date: a day earlier, nothing counts.
    with pytest.raises(BacktestError) as refused:
        backtest(start=START + timedelta(days=1), days=1, policy=violations_only())
    assert refused.value.code == "no_critical"


# --- refusals ----------------------------------------------------------------------------------------


def test_it_refuses_a_window_without_inspections(four):
    with pytest.raises(BacktestError, match="No inspections between 2016-01-01 and 2016-01-31") as refused:
        backtest(start=date(2016, 1, 1), days=31, policy=scoring.current_policy())
    assert refused.value.code == "no_inspections"


@pytest.mark.parametrize("days", [0, -3, 367])
def test_it_refuses_a_window_length_out_of_range(four, days):
    with pytest.raises(BacktestError) as refused:
        backtest(start=START, days=days, policy=scoring.current_policy())
    assert refused.value.code == "invalid_days"


def test_it_refuses_a_window_without_a_critical_finding_because_auc_is_undefined(four):
    with pytest.raises(BacktestError, match="AUC") as refused:
        backtest(start=START + timedelta(days=3), days=3, policy=scoring.current_policy())
    assert refused.value.code == "no_critical"


def test_it_refuses_a_window_where_every_inspection_was_critical(four):
    with pytest.raises(BacktestError) as refused:
        backtest(start=START + timedelta(days=6), days=4, policy=scoring.current_policy())
    assert refused.value.code == "all_critical"


def test_it_refuses_a_start_before_any_history():
    e1, e2 = EnterpriseFactory(), EnterpriseFactory()
    inspect(e1, START, "critical")
    inspect(e2, START + timedelta(days=1))
    with pytest.raises(BacktestError, match="No inspection history before 2015-09-01") as refused:
        backtest(start=START, days=5, policy=scoring.current_policy())
    assert refused.value.code == "no_history"


@pytest.mark.parametrize(
    "weights",
    [
        {**scoring.DEFAULT_WEIGHTS, "violations": -5},
        {factor: w for factor, w in scoring.DEFAULT_WEIGHTS.items() if factor != "visit_gap"},
    ],
    ids=["negative", "missing"],
)
def test_it_refuses_a_policy_with_negative_or_missing_weights(four, weights):
    # Stored around policy_create (which validates), as an old or hand-edited row might be.
    policy = ScoringPolicy.objects.create(version=90, weights=weights, params=scoring.DEFAULT_PARAMS)
    with pytest.raises(scoring.PolicyError) as refused:
        backtest(start=START, days=10, policy=policy)
    assert refused.value.code == "policy_invalid"
    assert set(refused.value.details) & {"weights.violations", "weights.visit_gap"}


def test_it_asks_for_at_least_50_random_orders(four):
    with pytest.raises(BacktestError) as refused:
        backtest(start=START, days=10, policy=scoring.current_policy(), random_orders=49)
    assert refused.value.code == "invalid_random_orders"


def test_a_kept_run_stores_the_result_and_is_audited(four, regulator_user):
    from core.models import AuditEvent

    run = backtest_run(actor=regulator_user, start=START, days=10, policy=violations_only())
    assert BacktestRun.objects.get() == run
    assert run.result["auc"] == pytest.approx(2 / 3) and "series" in run.result
    event = AuditEvent.objects.get(action="scoring.backtest")
    assert event.data["days_earlier"] == pytest.approx(1.0) and event.actor_id == regulator_user.pk


# --- the command -------------------------------------------------------------------------------------


def run_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("backtest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_exactly_one_json_object_with_exactly_the_keys(four):
    policy = violations_only()
    out, err = run_command("--start", "2015-09-01", "--days", "10", "--policy", str(policy.version), "--json")
    payload = json.loads(out)  # one object and nothing else, or this fails
    assert isinstance(payload, dict) and list(payload) == list(METRICS)
    assert payload["n_inspections"] == 4 and payload["auc"] == pytest.approx(2 / 3)
    assert err == ""


def test_the_command_prints_a_table_and_compares_policies(four):
    policy = violations_only()
    current = scoring.current_policy()
    out, _ = run_command(
        "--start", "2015-09-01", "--days", "10", "--compare", f"{current.version},{policy.version}"
    )
    assert "4 inspections of 4 enterprises, 3 with a critical finding" in out
    assert f"v{current.version}" in out and f"v{policy.version}" in out and "random" in out
    assert "+1.00" in out and "0.667" in out

    out, _ = run_command(
        "--start", "2015-09-01", "--days", "10", "--compare", f"{current.version},{policy.version}", "--json"
    )
    payload = json.loads(out)
    assert set(payload) == {f"v{current.version}", f"v{policy.version}"}
    assert all(list(metrics) == list(METRICS) for metrics in payload.values())


def test_the_command_uses_the_current_policy_by_default(four):
    out, _ = run_command("--start", "2015-09-01", "--days", "10")
    assert f"v{scoring.current_policy().version}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2016-01-01", "--days", "31"], "No inspections between 2016-01-01 and 2016-01-31"),
        (["--start", "2015-09-01", "--days", "0"], "must be 1 to 366 days long"),
        (["--start", "2015-9-1x", "--days", "10"], "not a date in the form YYYY-MM-DD"),
        (["--start", "2015-09-01", "--days", "10", "--policy", "77"], "no scoring policy version '77'"),
        (["--start", "2015-09-01", "--days", "10", "--compare", "1"], "at least two versions"),
    ],
    ids=["empty-window", "zero-days", "bad-date", "unknown-policy", "compare-one"],
)
def test_the_command_fails_clearly_on_bad_input(four, args, message):
    scoring.current_policy()
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("backtest", *args, stdout=out)
    assert out.getvalue() == ""


def test_the_command_names_the_bad_weights_of_a_stored_policy(four):
    ScoringPolicy.objects.create(
        version=91, weights={**scoring.DEFAULT_WEIGHTS, "licence": -1}, params=scoring.DEFAULT_PARAMS
    )
    with pytest.raises(CommandError, match=r"weights\.licence"):
        run_command("--start", "2015-09-01", "--days", "10", "--policy", "91", "--json")


# --- the real archive --------------------------------------------------------------------------------


@pytest.mark.skipif(not SF.is_dir(), reason="the SF LIVES archive is not in /work/shared/data/sf")
def test_on_san_francisco_the_default_policy_beats_random_orders():
    lives_import(directory=SF)
    result = backtest(start=START, days=61, policy=scoring.current_policy())

    assert result["n_inspections"] == 1251 and result["n_critical"] == 193
    assert result["days_earlier"] > result["random_days_earlier"] + 3 * result["random_days_earlier_sd"]
    assert result["auc"] > 0.5
    assert result["first_half_share_ranked"] > result["first_half_share_actual"]
