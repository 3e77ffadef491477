"""Risk score factors, credit rating, tiers, the policy rules and the set-based recompute."""

import copy
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from core.audit import verify_chain
from core.models import AuditEvent, Complaint, Enterprise
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import (
    CreditEvent,
    EnterpriseScore,
    RectificationOrder,
    Result,
    ScoringPolicy,
    SelfInspection,
    SelfInspectionAnswer,
)
from supervision.risk import scoring
from tests.factories import (
    EnterpriseFactory,
    MembershipFactory,
    UserFactory,
    jpeg,
    make_ready,
    make_task,
    submit,
)

AS_OF = timezone.make_aware(datetime(2026, 6, 1, 9, 0))


def only(factor: str, **params) -> scoring.ScoringPolicy:
    """A policy whose score is 100 x one factor's feature: every other weight is zero."""
    weights = dict.fromkeys(scoring.FACTORS, 0)
    weights[factor] = 1
    merged = copy.deepcopy(scoring.DEFAULT_PARAMS)
    for key, value in params.items():
        merged[key] = value
    return scoring.policy_create(actor=None, weights=weights, params=merged, adopt=False)


def score(enterprise: Enterprise, policy=None, as_of=AS_OF) -> dict:
    rows = scoring.score_rows(
        policy=policy or scoring.current_policy(),
        as_of=as_of,
        scope=scoring.Scope(ids=(enterprise.pk,)),
    )
    assert len(rows) == 1
    return rows[0]


def history(enterprise, on: date, *severities: str) -> HistoricalInspection:
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise, source="lives", inspected_on=on, kind="Routine - Unscheduled"
    )
    for severity in severities:
        HistoricalFinding.objects.create(inspection=inspection, severity=severity)
    return inspection


def days_before(days: float) -> date:
    return (AS_OF - timedelta(days=days)).date()


# --- factors ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_scene_factor_scales_inherent_risk_from_zero_to_one():
    catering = EnterpriseFactory()  # inherent risk 3
    policy = only("scene")
    assert score(catering, policy)["risk"] == pytest.approx(100 * 2 / 3)


@pytest.mark.django_db
def test_violations_weigh_severity_and_halve_every_half_life():
    fresh, old = EnterpriseFactory(), EnterpriseFactory()
    history(fresh, days_before(1), "critical")
    history(old, days_before(365 + 1), "critical")
    policy = only("violations", half_life_days=365, violations_saturation=8)
    # One critical finding: 8 points, decayed to the day (1 day ago / 1 year + 1 day ago).
    fresh_points = 8 * 0.5 ** (1 / 365 + (AS_OF.hour * 60 * 60) / (365 * 86400))
    old_points = 8 * 0.5 ** (366 / 365 + (AS_OF.hour * 60 * 60) / (365 * 86400))
    import math

    assert score(fresh, policy)["risk"] == pytest.approx(100 * (1 - math.exp(-fresh_points / 8)), rel=1e-3)
    assert score(old, policy)["risk"] == pytest.approx(100 * (1 - math.exp(-old_points / 8)), rel=1e-3)


@pytest.mark.django_db
def test_minor_findings_count_less_than_critical_ones():
    minor, critical = EnterpriseFactory(), EnterpriseFactory()
    history(minor, days_before(30), "minor")
    history(critical, days_before(30), "critical")
    policy = only("violations")
    assert 0 < score(minor, policy)["risk"] < score(critical, policy)["risk"]


@pytest.mark.django_db
def test_facts_on_or_after_as_of_are_not_read():
    enterprise = EnterpriseFactory()
    midnight = scoring.as_of_start(AS_OF.date())
    history(enterprise, AS_OF.date(), "critical")  # that day has not begun at midnight
    history(enterprise, AS_OF.date() + timedelta(days=30), "critical")
    Complaint.objects.create(enterprise=enterprise, text="later")  # created now, after AS_OF
    result = score(enterprise, as_of=midnight)
    assert result["risk_violations"] == 0
    assert result["risk_complaints"] == 0
    assert result["last_inspected_on"] is None


@pytest.mark.django_db
def test_a_dated_fact_counts_once_its_day_has_begun():
    enterprise = EnterpriseFactory()
    history(enterprise, AS_OF.date(), "critical")
    credit_event(enterprise, CreditEvent.Kind.PENALTY, AS_OF.date())
    result = score(enterprise)  # 09:00 that day
    assert result["risk_violations"] > 0 and result["credit_penalties"] == 1
    assert str(result["last_inspected_on"]) == str(AS_OF.date())


# Just before and after midnight, local (Beijing) and UTC: the day an inspection was made is its
# local day whatever the hour (it once failed from 00:00 to 08:00 Beijing time).
AROUND_MIDNIGHT = [
    datetime(2026, 3, 9, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2026, 3, 10, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2026, 3, 9, 23, 30, tzinfo=UTC),
    datetime(2026, 3, 10, 0, 30, tzinfo=UTC),
]


@pytest.fixture(params=AROUND_MIDNIGHT, ids=lambda moment: moment.strftime("%H:%M%z"))
def frozen_now(request, time_machine):
    """The clock stopped at one of AROUND_MIDNIGHT, before any other fixture makes its rows."""
    time_machine.move_to(request.param, tick=False)
    return request.param


@pytest.mark.django_db
def test_our_own_findings_count_as_violations(frozen_now, enterprise, team, regulator_user, loop_checklist):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    from supervision.inspections import services as workflow

    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, {"mar-3": Result.NON_COMPLIANT})
    submit(inspection, team[0].user)
    later = timezone.now() + timedelta(minutes=1)
    result = score(enterprise, only("violations"), as_of=later)
    assert result["risk_violations"] > 0
    assert result["last_inspected_on"] == timezone.localdate(frozen_now)
    assert result["open_orders"] == 1 and result["overdue_orders"] == 0


@pytest.mark.django_db
def test_overdue_orders_weigh_more_than_open_ones(enterprise, team, regulator_user, loop_checklist):
    from supervision.inspections import services as workflow

    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, {"mar-1": Result.NON_COMPLIANT})
    submit(inspection, team[0].user)
    order = RectificationOrder.objects.get(enterprise=enterprise)
    policy = only("orders", orders_saturation=2, overdue_order_weight=3)
    open_score = score(enterprise, policy, as_of=order.deadline - timedelta(hours=1))
    overdue_score = score(enterprise, policy, as_of=order.deadline + timedelta(hours=1))
    assert (open_score["open_orders"], open_score["overdue_orders"]) == (1, 0)
    assert (overdue_score["open_orders"], overdue_score["overdue_orders"]) == (1, 1)
    import math

    assert open_score["risk"] == pytest.approx(100 * (1 - math.exp(-1 / 2)))
    assert overdue_score["risk"] == pytest.approx(100 * (1 - math.exp(-3 / 2)))
    # Never closed past its deadline: also a credit event.
    assert overdue_score["credit_unclosed_orders"] == 1


@pytest.mark.django_db
def test_verified_complaints_count_more_and_dismissed_ones_not_at_all(time_machine):
    time_machine.move_to(AS_OF - timedelta(days=1))
    plain, verified, dismissed = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    Complaint.objects.create(enterprise=plain, text="dirty")
    Complaint.objects.create(enterprise=verified, text="dirty", status=Complaint.Status.VERIFIED)
    Complaint.objects.create(enterprise=dismissed, text="dirty", status=Complaint.Status.DISMISSED)
    policy = only("complaints", verified_complaint_weight=3)
    assert score(dismissed, policy)["risk"] == 0
    assert 0 < score(plain, policy)["risk"] < score(verified, policy)["risk"]


def _self_inspection(enterprise, checklist, submitted_at, results: dict[str, str]) -> SelfInspection:
    user = UserFactory()
    si = SelfInspection.objects.create(
        enterprise=enterprise,
        status="submitted",
        started_by=user,
        submitted_by=user,
        submitted_at=submitted_at,
    )
    for item in checklist.items.all():
        SelfInspectionAnswer.objects.create(
            self_inspection=si, item=item, result=results.get(item.code, Result.COMPLIANT)
        )
    return si


@pytest.mark.django_db
def test_self_inspection_missing_and_non_compliant_share(loop_checklist):
    none, stale, half = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    _self_inspection(stale, loop_checklist, AS_OF - timedelta(days=400), {})
    _self_inspection(half, loop_checklist, AS_OF - timedelta(days=10), {"mar-1": Result.NON_COMPLIANT})
    missing = only("self_missing", self_inspection_max_age_days=365)
    assert score(none, missing)["risk"] == 100
    assert score(stale, missing)["risk"] == 100
    assert score(half, missing)["risk"] == 0
    assert score(half, only("self_noncompliant"))["risk"] == pytest.approx(100 / 3)


@pytest.mark.django_db
def test_findings_on_items_declared_compliant_are_a_discrepancy(
    enterprise, team, regulator_user, loop_checklist
):
    from supervision.inspections import services as workflow

    _self_inspection(
        enterprise, loop_checklist, timezone.now() - timedelta(days=5), {"mar-1": Result.NON_COMPLIANT}
    )
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    # mar-1 was declared non-compliant (honest), mar-2 declared compliant but found failing.
    make_ready(inspection, team[0].user, team, {"mar-1": Result.NON_COMPLIANT, "mar-2": Result.NON_COMPLIANT})
    submit(inspection, team[0].user)
    import math

    result = score(enterprise, only("self_discrepancy", discrepancy_saturation=2), as_of=timezone.now())
    assert result["risk"] == pytest.approx(100 * (1 - math.exp(-1 / 2)))


@pytest.mark.django_db
def test_visit_gap_grows_to_the_tier_interval():
    never, recent, long_ago = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    history(recent, days_before(73), "minor")
    history(long_ago, days_before(800), "minor")
    policy = only("visit_gap", default_interval_days=365)
    assert score(never, policy)["risk"] == 100
    assert score(long_ago, policy)["risk"] == 100
    assert score(recent, policy)["risk"] == pytest.approx(100 * (73 + 9 / 24) / 365, rel=1e-3)


@pytest.mark.django_db
def test_licence_factor_for_inactive_and_young_licences():
    old = EnterpriseFactory(opened_on=date(2010, 1, 1))
    young = EnterpriseFactory(opened_on=days_before(365))
    suspended = EnterpriseFactory(
        opened_on=date(2010, 1, 1), licence_status=Enterprise.LicenceStatus.SUSPENDED
    )
    policy = only("licence", new_licence_days=730)
    assert score(old, policy)["risk"] == 0
    assert score(suspended, policy)["risk"] == 100
    assert score(young, policy)["risk"] == pytest.approx(50, abs=0.1)


@pytest.mark.django_db
def test_contributions_add_up_to_the_score_and_stay_within_0_100():
    enterprise = EnterpriseFactory(opened_on=days_before(30))
    for n in range(20):
        history(enterprise, days_before(10 + n), "critical", "major")
    Complaint.objects.create(enterprise=enterprise, text="x", status=Complaint.Status.VERIFIED)
    result = score(enterprise, as_of=timezone.now() + timedelta(days=1))
    parts = sum(result[f"risk_{factor}"] for factor in scoring.FACTORS)
    assert result["risk"] == pytest.approx(parts)
    assert 0 <= result["risk"] <= 100


# --- credit and tiers ------------------------------------------------------------------------------


def credit_event(enterprise, kind, on: date, ends_on=None):
    return CreditEvent.objects.create(
        enterprise=enterprise, kind=kind, occurred_on=on, ends_on=ends_on, recorded_by=UserFactory()
    )


@pytest.mark.django_db
def test_credit_is_a_without_events_and_drops_with_penalties():
    clean, fined, twice = EnterpriseFactory(), EnterpriseFactory(), EnterpriseFactory()
    credit_event(fined, CreditEvent.Kind.PENALTY, days_before(30))
    credit_event(twice, CreditEvent.Kind.PENALTY, days_before(30))
    credit_event(twice, CreditEvent.Kind.REFUSAL, days_before(20))
    credit_event(twice, CreditEvent.Kind.PENALTY, days_before(10))
    assert score(clean)["credit"] == "A"
    assert (score(fined)["credit"], score(fined)["credit_points"]) == ("C", 10)
    assert (score(twice)["credit"], score(twice)["credit_points"]) == ("D", 30)


@pytest.mark.django_db
def test_credit_repairs_after_a_clean_period():
    enterprise = EnterpriseFactory()
    credit_event(enterprise, CreditEvent.Kind.PENALTY, days_before(400))
    assert score(enterprise)["credit"] == "A"  # repair_days 365 have passed
    assert score(enterprise, as_of=AS_OF - timedelta(days=100))["credit"] == "C"


@pytest.mark.django_db
def test_a_dishonesty_listing_is_d_until_it_ends():
    enterprise = EnterpriseFactory()
    credit_event(enterprise, CreditEvent.Kind.DISHONESTY, date(2020, 1, 1), ends_on=days_before(-10))
    assert score(enterprise)["credit"] == "D"
    assert score(enterprise, as_of=AS_OF + timedelta(days=11))["credit"] == "A"


@pytest.mark.django_db
def test_the_matrix_sets_the_tier():
    enterprise = EnterpriseFactory()
    params = copy.deepcopy(scoring.DEFAULT_PARAMS)
    params["matrix"]["low"]["A"] = 3
    policy = scoring.policy_create(actor=None, weights=scoring.DEFAULT_WEIGHTS, params=params, adopt=False)
    history(enterprise, days_before(10), "minor")
    result = score(enterprise, policy)
    assert (result["risk_level"], result["credit"], result["tier"]) == ("low", "A", 3)
    credit_event(enterprise, CreditEvent.Kind.DISHONESTY, days_before(5))
    assert score(enterprise, policy)["tier"] == 4  # low x D


# --- policies --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_policy_is_version_1_from_the_defaults():
    policy = scoring.current_policy()
    assert (policy.version, policy.weights) == (1, scoring.DEFAULT_WEIGHTS)
    assert scoring.current_policy() == policy


@pytest.mark.django_db
def test_a_policy_change_is_a_new_audited_version():
    regulator = UserFactory()
    first = scoring.current_policy()
    weights = {**scoring.DEFAULT_WEIGHTS, "complaints": 20}
    second = scoring.policy_create(
        actor=regulator, weights=weights, params=scoring.DEFAULT_PARAMS, note="more"
    )
    assert second.version == first.version + 1
    assert scoring.current_policy() == second
    first.refresh_from_db()
    assert first.weights == scoring.DEFAULT_WEIGHTS
    event = AuditEvent.objects.get(action="scoring.policy_create")
    assert event.data["weights"]["complaints"] == 20 and event.actor == regulator
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_candidate_waits_until_adopted():
    regulator = UserFactory()
    current = scoring.current_policy()
    candidate = scoring.policy_create(
        actor=regulator, weights=scoring.DEFAULT_WEIGHTS, params=scoring.DEFAULT_PARAMS, adopt=False
    )
    assert scoring.current_policy() == current
    adopted = scoring.policy_adopt(actor=regulator, policy=candidate)
    assert scoring.current_policy() == adopted == candidate


@pytest.mark.django_db
def test_re_adopting_an_old_version_issues_it_as_the_newest():
    regulator = UserFactory()
    first = scoring.current_policy()
    scoring.policy_create(
        actor=regulator, weights={**scoring.DEFAULT_WEIGHTS, "scene": 0}, params=scoring.DEFAULT_PARAMS
    )
    again = scoring.policy_adopt(actor=regulator, policy=first)
    assert again.version == 3 and again.weights == first.weights
    assert scoring.current_policy() == again


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda w, p: w.update(scene=-1), "weights.scene"),
        (lambda w, p: w.pop("violations"), "weights.violations"),
        (lambda w, p: w.update(luck=3), "weights.luck"),
        (lambda w, p: w.update(scene="ten"), "weights.scene"),
        (lambda w, p: w.update(dict.fromkeys(w, 0)), "weights"),
        (lambda w, p: p.update(half_life_days=0), "params.half_life_days"),
        (lambda w, p: p.pop("severity_points"), "params.severity_points.minor"),
        (lambda w, p: p["risk_thresholds"].update(medium=70), "params.risk_thresholds"),
        (lambda w, p: p["tiers"]["2"].update(draw_ratio=1.5), "params.tiers.2.draw_ratio"),
        (lambda w, p: p["tiers"].pop("4"), "params.tiers"),
        (lambda w, p: p["matrix"]["high"].update(D=5), "params.matrix.high.D"),
        (lambda w, p: p["credit"]["thresholds"].update(C=50), "params.credit.thresholds"),
    ],
)
@pytest.mark.django_db
def test_it_refuses_a_bad_policy_and_writes_nothing(change, field):
    weights, params = dict(scoring.DEFAULT_WEIGHTS), copy.deepcopy(scoring.DEFAULT_PARAMS)
    change(weights, params)
    before = ScoringPolicy.objects.count()
    with pytest.raises(scoring.PolicyError) as raised:
        scoring.policy_create(actor=UserFactory(), weights=weights, params=params)
    assert field in raised.value.details
    assert raised.value.code == "policy_invalid"
    assert ScoringPolicy.objects.count() == before
    assert not AuditEvent.objects.filter(action="scoring.policy_create").exists()


# --- recompute -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recompute_all_scores_every_enterprise_and_chunks_do_not_change_the_result():
    enterprises = EnterpriseFactory.create_batch(7)
    for n, enterprise in enumerate(enterprises):
        history(enterprise, days_before(20 * n + 1), *(["major"] * n))
    progress = []
    report = scoring.recompute_all(
        as_of=AS_OF, chunk=2, progress=lambda done, total: progress.append((done, total))
    )
    assert report.enterprises == 7
    assert progress[-1][0] == progress[-1][1] == report.chunks >= 4
    chunked = {s.pk: (s.risk, s.tier, s.credit) for s in EnterpriseScore.objects.all()}
    scoring.recompute_all(as_of=AS_OF, chunk=1_000_000)
    whole = {s.pk: (s.risk, s.tier, s.credit) for s in EnterpriseScore.objects.all()}
    assert chunked == whole
    assert len({risk for risk, _, _ in whole.values()}) == 7  # the history tells them apart
    assert EnterpriseScore.objects.filter(policy=scoring.current_policy()).count() == 7


@pytest.mark.django_db
def test_recompute_matches_the_explaining_query():
    enterprise = EnterpriseFactory()
    history(enterprise, days_before(40), "critical", "minor")
    scoring.recompute_all(as_of=AS_OF)
    stored = EnterpriseScore.objects.get(pk=enterprise.pk)
    explained = score(enterprise)
    assert stored.risk == pytest.approx(explained["risk"])
    assert stored.risk_violations == pytest.approx(explained["risk_violations"])
    assert stored.as_of == AS_OF and stored.policy == scoring.current_policy()


@pytest.mark.django_db
def test_recompute_enterprise_touches_only_that_enterprise():
    one, other = EnterpriseFactory(), EnterpriseFactory()
    scoring.recompute_all(as_of=AS_OF)
    history(one, days_before(5), "critical")
    history(other, days_before(5), "critical")
    before = EnterpriseScore.objects.get(pk=other.pk).risk
    scoring.recompute_enterprise(enterprise_id=one.pk)
    assert EnterpriseScore.objects.get(pk=one.pk).risk > EnterpriseScore.objects.get(pk=other.pk).risk
    assert EnterpriseScore.objects.get(pk=other.pk).risk == before


@pytest.mark.django_db
def test_the_visit_gap_is_measured_against_the_interval_of_the_tier_the_other_factors_give():
    clean, listed = EnterpriseFactory(), EnterpriseFactory()
    for enterprise in (clean, listed):
        history(enterprise, days_before(60), "minor")
    credit_event(listed, CreditEvent.Kind.DISHONESTY, days_before(5))  # credit D: tier 4, every 91 days
    policy = only("visit_gap", default_interval_days=365)  # low risk x A: tier 1, draw only
    assert score(clean, policy)["risk"] == pytest.approx(100 * (60 + 9 / 24) / 365, rel=1e-3)
    assert score(listed, policy)["risk"] == pytest.approx(100 * (60 + 9 / 24) / 91, rel=1e-3)


@pytest.mark.django_db
def test_recomputing_again_changes_nothing():
    enterprises = EnterpriseFactory.create_batch(4)
    for n, enterprise in enumerate(enterprises):
        history(enterprise, days_before(100 * n + 30), *(["critical"] * n))
    credit_event(enterprises[1], CreditEvent.Kind.PENALTY, days_before(3))
    scoring.recompute_all(as_of=AS_OF)
    first = {s.pk: (s.risk, s.tier, s.credit, s.risk_visit_gap) for s in EnterpriseScore.objects.all()}
    scoring.recompute_all(as_of=AS_OF)
    assert first == {
        s.pk: (s.risk, s.tier, s.credit, s.risk_visit_gap) for s in EnterpriseScore.objects.all()
    }


# --- rescoring after the loop moves -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_submitted_inspection_rescores_its_enterprise_after_commit(
    enterprise, team, regulator_user, loop_checklist, django_capture_on_commit_callbacks
):
    from supervision.inspections import services as workflow

    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, {"mar-3": Result.NON_COMPLIANT})
    with django_capture_on_commit_callbacks(execute=True):
        submit(inspection, team[0].user)
    stored = EnterpriseScore.objects.get(pk=enterprise.pk)
    assert stored.risk_violations > 0 and stored.open_orders == 1
    assert stored.last_inspected_on == timezone.localdate()


@pytest.mark.django_db
def test_closing_an_order_rescores_its_enterprise(
    submitted_inspection, lead, django_capture_on_commit_callbacks
):
    from supervision.inspections import services as workflow

    order = submitted_inspection.order
    owner = MembershipFactory(enterprise=order.enterprise).user
    findings = {f.pk: {"text": "fixed", "photos": [jpeg()]} for f in order.findings.all()}
    with django_capture_on_commit_callbacks(execute=True):
        workflow.rectification_submit(order=order, actor=owner, entries=findings)
    assert EnterpriseScore.objects.get(pk=order.enterprise_id).open_orders == 1
    with django_capture_on_commit_callbacks(execute=True):
        workflow.order_verify(order=order, actor=lead, accepted=True)
    assert EnterpriseScore.objects.get(pk=order.enterprise_id).open_orders == 0


@pytest.mark.django_db
def test_a_scoring_failure_never_undoes_the_action(
    enterprise, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise RuntimeError("scoring down")

    monkeypatch.setattr(scoring, "recompute_enterprise", broken)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Complaint.objects.create(enterprise=enterprise, text="kept")
        scoring.rescore_on_commit(enterprise.pk)
    assert Complaint.objects.filter(text="kept").exists()


@pytest.mark.django_db
def test_the_recompute_command_scores_everyone_with_the_chosen_policy():
    from io import StringIO

    from django.core.management import CommandError, call_command

    EnterpriseFactory.create_batch(3)
    candidate = only("scene")
    out = StringIO()
    call_command("recompute_scores", "--policy", str(candidate.version), "--chunk", "2", stdout=out)
    assert f"scored 3 enterprises with policy v{candidate.version}" in out.getvalue()
    assert set(EnterpriseScore.objects.values_list("policy__version", flat=True)) == {candidate.version}
    with pytest.raises(CommandError, match="no scoring policy version 99"):
        call_command("recompute_scores", "--policy", "99")
    with pytest.raises(CommandError, match="--chunk"):
        call_command("recompute_scores", "--chunk", "0")
