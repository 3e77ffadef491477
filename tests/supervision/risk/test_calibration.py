"""Calibration: the fit, the rules that turn coefficients into weights, no peeking past the date,
the refusals and the command."""

import io
from datetime import date, timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import ScoringPolicy
from supervision.risk import scoring
from supervision.risk.calibration import (
    CalibrationError,
    cut_dates,
    logistic_fit,
    months_back,
    policy_calibrate,
    weights_from_fit,
)
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

BEFORE = date(2015, 9, 1)
CUT = BEFORE - timedelta(days=61)  # 2015-07-02: the one cut of a one-month calibration


def inspect(enterprise, on: date, *severities: str) -> HistoricalInspection:
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise, source="lives", inspected_on=on, kind="Routine - Unscheduled"
    )
    for severity in severities:
        HistoricalFinding.objects.create(inspection=inspection, severity=severity)
    return inspection


@pytest.fixture
def history():
    """Twenty restaurants. Ten were found with a critical violation a month before the cut, and
    eight of them again in the window after it; ten were clean long ago, and two of them are found
    with one in the window. Violations predict; a long gap since the last visit, here, does not."""
    repeat, clean = [], []
    for n in range(10):
        shop = EnterpriseFactory()
        inspect(shop, CUT - timedelta(days=30), "critical", "major")
        inspect(shop, CUT + timedelta(days=5 + n), *(["critical"] if n < 8 else ["minor"]))
        repeat.append(shop)
    for n in range(10):
        shop = EnterpriseFactory()
        inspect(shop, CUT - timedelta(days=400))
        inspect(shop, CUT + timedelta(days=5 + n), *(["critical"] if n < 2 else []))
        clean.append(shop)
    return repeat, clean


def test_cut_dates_are_monthly_and_each_window_ends_before_the_date():
    cuts = cut_dates(before=BEFORE, months=3)
    assert cuts == [date(2015, 5, 2), date(2015, 6, 2), date(2015, 7, 2)]
    assert all(cut + timedelta(days=61) <= BEFORE for cut in cuts)
    assert months_back(date(2015, 3, 31), 1) == date(2015, 2, 28)
    assert months_back(date(2015, 1, 15), 13) == date(2013, 12, 15)


def test_the_fit_solves_the_penalised_likelihood():
    rng = np.random.default_rng(3)
    x = rng.random((400, 2))
    y = rng.random(400) < 1 / (1 + np.exp(-(-2 + 3 * x[:, 0])))
    beta = logistic_fit(x, y, l2=1.0)
    design = np.column_stack([np.ones(len(x)), x])
    p = 1 / (1 + np.exp(-(design @ beta)))
    gradient = design.T @ (y - p) - np.array([0.0, 1.0, 1.0]) * beta
    assert np.abs(gradient).max() < 1e-8
    assert beta[1] > 1.5 and abs(beta[2]) < 1.0


def test_constant_factors_keep_their_share_and_negative_ones_get_nothing():
    weights = weights_from_fit(
        base_weights=scoring.DEFAULT_WEIGHTS,
        coefficients={"violations": 2.0, "visit_gap": -1.0, "orders": 1.0},
        constant=["scene", "complaints", "self_missing", "self_noncompliant", "self_discrepancy", "licence"],
    )
    assert weights["scene"] == 10 and weights["licence"] == 5 and weights["complaints"] == 10
    assert weights["visit_gap"] == 0
    # The rest of the 100 (35 + 15 + 10 = 60) goes 2 : 1 between violations and orders.
    assert weights["violations"] == 40 and weights["orders"] == 20
    assert sum(weights.values()) == pytest.approx(100)


def test_it_refuses_when_no_factor_predicts_anything():
    with pytest.raises(CalibrationError) as refused:
        weights_from_fit(base_weights=scoring.DEFAULT_WEIGHTS, coefficients={"visit_gap": -0.5}, constant=[])
    assert refused.value.code == "calibration_no_signal"


def test_calibrating_creates_a_candidate_version_from_the_history(history):
    current = scoring.current_policy()
    report = policy_calibrate(actor=None, before=BEFORE, months=1, note="autumn review")

    policy = report.policy
    assert policy.adopted_at is None and scoring.current_policy() == current
    assert policy.version == current.version + 1 and policy.params == current.params
    assert report.n == 20 and report.n_critical == 10 and report.cuts == [CUT]
    assert set(report.coefficients) == {"violations", "visit_gap"}
    assert report.coefficients["violations"] > 0 > report.coefficients["visit_gap"]
    # visit_gap predicts the wrong way: clamped to 0, its 15 go to violations.
    assert policy.weights["violations"] == 50 and policy.weights["visit_gap"] == 0
    assert {f: policy.weights[f] for f in report.constant} == {f: current.weights[f] for f in report.constant}
    assert sum(policy.weights.values()) == pytest.approx(sum(current.weights.values()))
    assert policy.note.startswith("autumn review | calibrated on history before 2015-09-01")
    assert "n=20 (10 critical)" in policy.note
    event = AuditEvent.objects.get(action="scoring.policy_calibrate")
    assert event.data["n"] == 20 and event.data["coefficients"] == pytest.approx(report.coefficients)


def test_calibrating_never_reads_facts_on_or_after_the_date(history):
    repeat, clean = history
    first = policy_calibrate(actor=None, before=BEFORE, months=2)
    # On and after the date: the clean shops turn critical, the repeat offenders clean. Read as
    # labels or as features, they would turn the fit around.
    for shop in clean:
        inspect(shop, BEFORE, "critical", "critical")
        inspect(shop, BEFORE + timedelta(days=20), "critical")
    for shop in repeat:
        inspect(shop, BEFORE + timedelta(days=1))
    second = policy_calibrate(actor=None, before=BEFORE, months=2)

    assert second.weights == first.weights
    assert second.coefficients == first.coefficients and second.n == first.n
    # The same facts do change the fit once the date lets them in.
    later = policy_calibrate(actor=None, before=BEFORE + timedelta(days=61), months=2)
    assert later.weights != first.weights


def test_it_refuses_history_without_both_outcomes():
    for n in range(3):
        shop = EnterpriseFactory()
        inspect(shop, CUT - timedelta(days=30), "minor")
        inspect(shop, CUT + timedelta(days=n))
    with pytest.raises(CalibrationError, match="0 of 3 inspections") as refused:
        policy_calibrate(actor=None, before=BEFORE, months=1)
    assert refused.value.code == "calibration_one_class"
    assert ScoringPolicy.objects.filter(adopted_at__isnull=True).count() == 0


def test_it_refuses_a_date_before_any_history(history):
    with pytest.raises(CalibrationError) as refused:
        policy_calibrate(actor=None, before=date(2014, 1, 1), months=1)
    assert refused.value.code == "no_history"


@pytest.mark.parametrize("months", [0, 61])
def test_it_refuses_a_number_of_months_out_of_range(history, months):
    with pytest.raises(CalibrationError) as refused:
        policy_calibrate(actor=None, before=BEFORE, months=months)
    assert refused.value.code == "invalid_months"


def test_the_command_reports_the_fitted_weights(history):
    out = io.StringIO()
    call_command("calibrate", "--before", "2015-09-01", "--months", "1", stdout=out)
    text = out.getvalue()
    candidate = ScoringPolicy.objects.get(adopted_at__isnull=True)
    assert f"candidate v{candidate.version} (not adopted)" in text
    assert "violations" in text and "constant" in text and "50.00" in text
    assert f"--compare {scoring.current_policy().version},{candidate.version}" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--before", "1 Sept 2015"], "not a date in the form YYYY-MM-DD"),
        (["--before", "2014-01-01", "--months", "1"], "nothing saved: No inspection history"),
    ],
)
def test_the_command_fails_clearly(history, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("calibrate", *args, stdout=io.StringIO())
