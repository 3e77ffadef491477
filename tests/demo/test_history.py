"""The demo city's past (demo.past, demo.stories), read as the regulator and the loop read it.

One city of N demo enterprises is built once for the module by ``seed_demo`` (time standing still
at NOW), in a transaction rolled back after the module; each test runs in a savepoint of it. The
runs at other hours of the day and the same-seed / other-seed comparisons are in
test_history_seeds.py.
"""

import hashlib
import io
import itertools
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q
from django.test import override_settings
from django.utils import timezone

from checklists.models import ChecklistItem
from core import permissions
from core.audit import canonical, verify_chain
from core.models import AuditEvent, Complaint, Enterprise, EnterpriseMembership, Inspector, Scene
from demo import seed as demo
from history.models import EnterpriseAttribute, HistoricalFinding, HistoricalInspection, Signal, SourceBatch
from planning import draws, plans
from planning.common import area_resolve
from planning.models import PlanEntry
from supervision.inspections.services.record import inspection_content, inspection_items
from supervision.models import (
    CreditEvent,
    EnterpriseScore,
    Evaluation,
    Finding,
    Inspection,
    InspectionTask,
    Rectification,
    RectificationOrder,
    ScoringPolicy,
    SelfIdentifiedIssue,
    SelfInspection,
    SelfInspectionAnswer,
    Signature,
)
from supervision.monitor import selectors as monitor
from supervision.risk import backtest, scoring
from supervision.self_inspection.services import self_inspection_content_hash

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=TZ)
TODAY = NOW.date()
N = 120
PASSWORD = "demo-history-password"
OPEN = RectificationOrder.OPEN


@pytest.fixture(scope="module")
def city_media(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-history-media")


@pytest.fixture(autouse=True)
def _media_root(settings, city_media):
    # Overrides tests/conftest.py's: the city's signature files live in one module-wide place.
    settings.MEDIA_ROOT = city_media


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def city(django_db_setup, django_db_blocker, city_media):
    """The default demo (seed, the command's path) at N enterprises, built once."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(MEDIA_ROOT=city_media),
        time_machine.travel(NOW, tick=False),
    ):
        out = io.StringIO()
        call_command(
            "seed_demo", "--enterprises", str(N), "--password", PASSWORD, stdout=out, stderr=io.StringIO()
        )
        yield SimpleNamespace(output=out.getvalue())
        transaction.set_rollback(True)


def _user(username):
    return get_user_model().objects.get(username=username)


def _next_month():
    start = (TODAY.replace(day=1) + timedelta(days=32)).replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _counts():
    models = (
        Enterprise,
        get_user_model(),
        Inspector,
        EnterpriseMembership,
        InspectionTask,
        Inspection,
        Finding,
        RectificationOrder,
        Rectification,
        Evaluation,
        Complaint,
        SelfInspection,
        SelfInspectionAnswer,
        CreditEvent,
        HistoricalInspection,
        HistoricalFinding,
        Signature,
        EnterpriseAttribute,
        Signal,
        SourceBatch,
    )
    return {model.__name__: model.objects.count() for model in models}


# --- what the regulator finds out of the box ---------------------------------------------------------


def test_the_command_tells_what_past_it_wrote(city):
    assert "demo past (seed 2026) for demo enterprises #0-#119:" in city.output
    assert "scores recomputed" in city.output
    event = AuditEvent.objects.get(action="demo.history")
    assert (event.data["seed"], event.data["start"], event.data["stop"]) == (demo.DEFAULT_SEED, 0, N)
    assert event.data["counts"]["supervision.inspection"] == Inspection.objects.count()


def test_licences_tiers_and_ratings_spread_as_in_a_city(city):
    statuses = dict(Enterprise.objects.values_list("licence_status").annotate(n=Count("pk")))
    assert set(statuses) == set(Enterprise.LicenceStatus.values)
    assert statuses["active"] > 0.8 * N
    scores = EnterpriseScore.objects.all()
    assert scores.count() == N
    assert set(scores.values_list("tier", flat=True)) == {1, 2, 3, 4}
    assert set(scores.values_list("credit", flat=True)) == {"A", "B", "C", "D"}
    # The visitable ones too: plans and draws pick from them.
    visitable = scores.filter(enterprise__licence_status="active")
    assert set(visitable.values_list("tier", flat=True)) == {1, 2, 3, 4}


def test_the_ranking_differs_from_row_to_row(city):
    top = list(EnterpriseScore.objects.order_by("-risk", "enterprise")[:20].values_list("risk", flat=True))
    assert len({round(risk, 6) for risk in top}) >= 18
    everyone = EnterpriseScore.objects.values_list("risk", flat=True)
    assert len({round(risk, 6) for risk in everyone}) > 0.8 * N
    # Every factor that history feeds moves somebody's score.
    for factor in scoring.FACTORS:
        assert EnterpriseScore.objects.filter(**{f"risk_{factor}__gt": 0}).exists(), factor


def test_a_risk_plan_for_next_month_has_entries_and_leftovers_with_reasons(city):
    regulator = _user("regulator")
    area = area_resolve(actor=regulator, department=None, district=None)
    start, end = _next_month()
    plan = plans.plan_generate(actor=regulator, area=area, period_from=start, period_to=end, capacity=4)
    outcomes = set(plan.entries.values_list("outcome", flat=True))
    assert PlanEntry.Outcome.SCHEDULED in outcomes
    assert outcomes - {PlanEntry.Outcome.SCHEDULED}, "nothing left over"
    assert PlanEntry.Outcome.OVER_CAPACITY in outcomes
    assert PlanEntry.Outcome.ALREADY_PLANNED in outcomes
    assert not plan.entries.filter(due_reason="").exists()
    assert plans.plan_confirm(plan=plan, actor=regulator).status == "confirmed"


def test_a_random_draw_for_the_next_quarter_draws(city):
    # The policy's yearly ratios scaled to the period: a month of the default demo (500) draws a
    # few; a quarter of this smaller one does.
    regulator = _user("regulator")
    area = area_resolve(actor=regulator, department=None, district=None)
    start, _end = _next_month()
    end = start + timedelta(days=90)
    draw = draws.draw_create(actor=regulator, area=area, period_from=start, period_to=end)
    assert draw.entries.count() >= 1
    assert draws.draw_verify(draw=draw).ok


def test_the_loop_monitor_and_the_ratings_have_figures(city):
    regulator = _user("regulator")
    totals = monitor.loop_monitor(user=regulator, by="district", now=timezone.now()).totals
    assert totals.closed > 0 and 0 < totals.closed_on_time < totals.closed
    assert totals.escalated > 0 and totals.open > 0
    assert totals.median_days is not None
    departments = monitor.ratings_by_department(user=regulator)
    assert departments and all(row.count > 0 and row.mean is not None for row in departments)
    by_inspector = list(monitor.ratings_by_inspector_qs(user=regulator))
    assert any(row["low"] > 0 for row in by_inspector)
    # The whole city has overdue orders too (the regulator's department may have none right now).
    admin = _user("admin")
    assert monitor.loop_monitor(user=admin, by="scene", now=timezone.now()).totals.overdue > 0


def test_the_back_test_works_on_a_window_inside_the_past(city):
    result = backtest.backtest(start=TODAY - timedelta(days=540), days=180, policy=scoring.current_policy())
    assert result["n_inspections"] > result["n_critical"] > 0
    assert 0 <= result["auc"] <= 1
    # Its first half comes from the imported records of the previous system.
    assert result["n_enterprises"] > 1
    assert HistoricalInspection.objects.filter(inspected_on__lt=TODAY - timedelta(days=730)).exists()
    assert not HistoricalInspection.objects.filter(inspected_on__gte=TODAY - timedelta(days=730)).exists()


# --- the spread of the past ----------------------------------------------------------------------------


def test_findings_of_every_severity_and_every_conclusion(city):
    assert set(Finding.objects.values_list("severity", flat=True)) == {"minor", "major", "critical"}
    assert set(Inspection.objects.values_list("conclusion", flat=True)) == set(Inspection.Conclusion.values)
    sources = set(InspectionTask.objects.values_list("source", flat=True))
    assert {"random", "risk", "manual", "complaint", "reinspection"} <= sources
    assert set(InspectionTask.objects.values_list("status", flat=True)) == {"planned", "done", "cancelled"}
    assert set(HistoricalFinding.objects.values_list("severity", flat=True)) == {"minor", "major", "critical"}


def test_orders_are_closed_on_time_late_left_overdue_escalated_and_running(city):
    now = timezone.now()
    orders = RectificationOrder.objects
    assert orders.filter(status="closed", closed_at__lte=F("deadline")).exists()
    assert orders.filter(status="closed", closed_at__gt=F("deadline")).exists()
    assert orders.filter(status__in=OPEN, deadline__lt=now).exists()  # overdue
    assert orders.filter(status="escalated").exists()
    assert orders.filter(status__in=OPEN, deadline__gt=now).exists()  # still running
    assert orders.filter(status="submitted").exists()  # waiting for the inspectors
    assert Rectification.objects.filter(status="rejected").exists()
    assert orders.filter(reinspection_tasks__inspection__status="submitted", status="closed").exists()


def test_complaints_are_verified_dismissed_and_the_rest(city):
    statuses = set(Complaint.objects.values_list("status", flat=True))
    assert {"verified", "unfounded", "dismissed", "duplicate"} <= statuses
    for complaint in Complaint.objects.filter(status="duplicate"):
        original = complaint.duplicate_of
        assert original.status != "duplicate" and original.enterprise_id == complaint.enterprise_id
        assert original.created_at < complaint.created_at
    for complaint in Complaint.objects.filter(status__in=["verified", "unfounded"]):
        inspection = Inspection.objects.get(task__complaint=complaint)
        found = inspection.findings.exists() or inspection.conclusion != "pass"
        assert found == (complaint.status == "verified")
    for complaint in Complaint.objects.filter(status="tasked"):
        assert complaint.tasks.filter(status="planned").exists()


def test_self_inspections_some_contradicted_by_a_later_inspection(city):
    assert SelfInspection.objects.filter(status="submitted").count() > N // 2
    assert set(SelfIdentifiedIssue.objects.values_list("status", flat=True)) == {"open", "fixed"}
    contradicted = Finding.objects.filter(
        inspection__enterprise__self_inspections__submitted_at__lt=F("inspection__submitted_at"),
        inspection__enterprise__self_inspections__answers__result="compliant",
        inspection__enterprise__self_inspections__answers__item__code=F("item__code"),
    )
    assert contradicted.exists()
    assert EnterpriseScore.objects.filter(risk_self_discrepancy__gt=0).exists()


def test_credit_events_of_every_kind(city):
    assert set(CreditEvent.objects.values_list("kind", flat=True)) == set(CreditEvent.Kind.values)
    for enterprise in Enterprise.objects.filter(licence_status="revoked"):
        assert enterprise.credit_events.filter(kind="dishonesty").exists()
        assert enterprise.score.credit == "D"


# --- the platform's rules hold -------------------------------------------------------------------------


def test_records_hash_as_the_submit_services_hash_them(city):
    for inspection in Inspection.objects.all():
        content = canonical(inspection_content(inspection))
        assert hashlib.sha256(content.encode()).hexdigest() == inspection.content_hash, inspection.pk
    for self_inspection in SelfInspection.objects.all():
        assert self_inspection_content_hash(self_inspection=self_inspection) == self_inspection.content_hash


def test_signatures_are_stored_with_their_hash(city):
    signatures = Signature.objects.all()
    for name, digest in set(signatures.values_list("image", "sha256")):
        with signatures.filter(image=name).first().image.open("rb") as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == digest
    for inspection in Inspection.objects.prefetch_related("signatures", "task__inspectors"):
        signed = {s.inspector_id for s in inspection.signatures.all() if s.role == "inspector"}
        assert signed == {i.pk for i in inspection.task.inspectors.all()}
        representative = [s for s in inspection.signatures.all() if s.role == "representative"]
        assert len(representative) == (0 if inspection.representative_refused else 1)


def test_every_record_answers_its_checklist_and_its_findings_and_orders_agree(city):
    items: dict[tuple, set[int]] = {}  # the snapshot's applicable items, per scene and versions
    supervising = set(Scene.departments.through.objects.values_list("scene_id", "department_id"))
    inspections = Inspection.objects.select_related("task", "enterprise__scene").prefetch_related(
        "answers", "findings__item", "checklists", "task__inspectors__user"
    )
    for inspection in inspections:
        key = (inspection.enterprise.scene_id, tuple(sorted(c.pk for c in inspection.checklists.all())))
        if key not in items:
            items[key] = {item.pk for item in inspection_items(inspection)}
        answers = {a.item_id: a for a in inspection.answers.all()}
        assert set(answers) == items[key]
        findings = list(inspection.findings.all())
        assert {f.answer_id for f in findings} == {
            a.pk for a in answers.values() if a.result == "non_compliant"
        }
        assert all(f.severity == f.item.severity for f in findings)
        assert (inspection.conclusion == "pass") == (not findings)
        order = RectificationOrder.objects.filter(inspection=inspection).first()
        assert (order is not None) == (inspection.conclusion == "rectify")
        if order:
            assert order.deadline == inspection.rectify_deadline > inspection.submitted_at
            assert order.issued_at == inspection.submitted_at
            assert {f.order_id for f in findings} == {order.pk}
        task = inspection.task
        assert task.status == "done"
        assert task.due_from <= timezone.localdate(inspection.submitted_at) <= task.due_to
        assert (inspection.enterprise.scene_id, task.department_id) in supervising
        team = list(task.inspectors.all())
        assert len(team) >= 2 and all(i.department_id == task.department_id for i in team)
    # Every inspector sent had jurisdiction there (the rule the services check), for one of each pair.
    for task in InspectionTask.objects.select_related("enterprise").prefetch_related("inspectors__user")[:60]:
        for inspector in task.inspectors.all():
            assert permissions.can_verify_orders(inspector.user, task.enterprise)


def test_orders_move_only_as_the_services_allow(city):
    now = timezone.now()
    for order in RectificationOrder.objects.prefetch_related("rectifications"):
        rectifications = sorted(order.rectifications.all(), key=lambda r: r.submitted_at)
        assert sum(r.status == "pending" for r in rectifications) <= 1
        assert all(r.submitted_at >= order.issued_at for r in rectifications)
        for earlier, later in itertools.pairwise(rectifications):
            assert earlier.status == "rejected" and earlier.reviewed_at <= later.submitted_at
        if order.status == "closed":
            accepted = rectifications[-1]
            assert accepted.status == "accepted" and accepted.reviewed_at == order.closed_at
        elif order.status == "submitted":
            assert rectifications[-1].status == "pending"
        elif order.status == "returned":
            assert rectifications[-1].status == "rejected"
        elif order.status == "escalated":
            # Only an overdue order is escalated.
            assert order.deadline < order.escalated_at <= now and order.case_note
        else:
            assert not rectifications
        # No deadline falls on today: an order is overdue, or not, all day long.
        assert timezone.localdate(order.deadline) != TODAY


def test_nothing_in_the_past_happened_after_now(city):
    now = timezone.now()
    moments = [
        (Inspection, "submitted_at"),
        (Rectification, "submitted_at"),
        (Rectification, "reviewed_at"),
        (RectificationOrder, "closed_at"),
        (RectificationOrder, "escalated_at"),
        (Complaint, "created_at"),
        (Complaint, "triaged_at"),
        (Evaluation, "created_at"),
        (SelfInspection, "submitted_at"),
        (SelfIdentifiedIssue, "fixed_at"),
        (InspectionTask, "created_at"),
        (InspectionTask, "cancelled_at"),
        (CreditEvent, "created_at"),
    ]
    for model, field in moments:
        assert not model.objects.filter(**{f"{field}__gt": now}).exists(), (model.__name__, field)
    assert not CreditEvent.objects.filter(occurred_on__gte=TODAY).exists()
    # Closed businesses have no open tasks; open tasks' windows have not all passed.
    open_tasks = InspectionTask.objects.filter(status="planned")
    assert not open_tasks.exclude(enterprise__licence_status="active").exists()
    assert open_tasks.filter(due_to__gte=TODAY).exists()


def test_businesses_act_through_their_own_accounts(city):
    members = set(EnterpriseMembership.objects.values_list("enterprise_id", "user_id"))
    for enterprise_id, user_id in Rectification.objects.values_list(
        "order__enterprise_id", "submitted_by_id"
    ):
        assert (enterprise_id, user_id) in members
    for enterprise_id, user_id in Evaluation.objects.values_list(
        "inspection__enterprise_id", "created_by_id"
    ):
        assert (enterprise_id, user_id) in members
    for enterprise_id, user_id in SelfInspection.objects.values_list("enterprise_id", "submitted_by_id"):
        assert (enterprise_id, user_id) in members
    # The staff of the past cannot sign in.
    staff = get_user_model().objects.filter(
        Q(username__startswith="insp1") | Q(username__startswith="owner_")
    )
    assert staff.exists() and not any(user.has_usable_password() for user in staff)


def test_the_business_login_has_a_past_and_still_its_task_for_today(city):
    enterprise = demo.business_enterprise()
    open_tasks = InspectionTask.objects.filter(enterprise=enterprise, status__in=["planned", "in_progress"])
    task = open_tasks.get()
    assert sorted(i.user.username for i in task.inspectors.all()) == ["inspector", "inspector2"]
    assert task.due_from == TODAY
    inspections = Inspection.objects.filter(enterprise=enterprise)
    assert inspections.count() >= 3
    assert inspections.filter(evaluation__isnull=True).exists()  # one left to rate
    waiting = RectificationOrder.objects.get(enterprise=enterprise, status="issued")
    assert not waiting.is_overdue
    assert SelfInspection.objects.filter(enterprise=enterprise, submitted_by__username="business").exists()


def test_the_audit_chain_still_verifies(city):
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("audit chain ok")


# --- running it again --------------------------------------------------------------------------------


def test_running_again_adds_no_past(city):
    before = _counts()
    out = io.StringIO()
    call_command(
        "seed_demo", "--enterprises", str(N), "--password", PASSWORD, stdout=out, stderr=io.StringIO()
    )
    assert _counts() == before
    assert "demo past: already there for demo enterprises #0-#119 (seed 2026)" in out.getvalue()
    assert AuditEvent.objects.filter(action="demo.history").count() == 1
    assert verify_chain().ok


def test_other_departments_sent_their_data_through_the_sources_ingest(city, client):
    assert "other departments' data:" in city.output
    batches = SourceBatch.objects.select_related("source")
    assert sorted({b.source.code for b in batches}) == [
        "hotline_12345",
        "kitchen_cameras",
        "licence_register",
        "urban_management",
    ]
    assert AuditEvent.objects.filter(action="source.batch").count() >= batches.count()
    demo_enterprises = Enterprise.objects.count()
    assert EnterpriseAttribute.objects.values("enterprise").distinct().count() == demo_enterprises
    kinds = dict(Signal.objects.values_list("kind").annotate(n=Count("pk")))
    assert kinds["sanitation_complaint"] > 2 * demo_enterprises
    assert kinds["camera_alert"] > 0 and kinds["penalty"] > 0
    # Two hotline rows name businesses not registered here: kept and counted, never dropped.
    assert Signal.objects.filter(Signal.unmatched_q()).count() == 2
    assert not Signal.objects.filter(occurred_at__gte=NOW).exists()
    # The example off-site factors wait as a candidate, and they change the scores once adopted.
    candidate = ScoringPolicy.objects.get(adopted_at__isnull=True)
    assert "nearby_sanitation" in [d["name"] for d in candidate.params["offsite"]]
    scoring.policy_adopt(actor=None, policy=candidate)
    scoring.recompute_all(policy=candidate)
    scores = EnterpriseScore.objects.all()
    assert scores.filter(risk_offsite__gt=0).count() > demo_enterprises * 0.9
    assert scores.filter(offsite__has_key="nearby_sanitation").count() > demo_enterprises / 3
    client.force_login(_user("regulator"))
    ranked = scores.filter(offsite__has_key="nearby_sanitation").order_by("-risk").first().enterprise
    page = client.get(f"/ranking/enterprises/{ranked.uscc}/").content.decode()
    assert 'id="nearby-nearby_sanitation"' in page and 'id="register-facts"' in page


def test_another_seed_does_not_retell_a_database_that_has_a_past(city):
    before = _counts()
    out = io.StringIO()
    call_command("seed_demo", "--enterprises", str(N), "--seed", "7", stdout=out, stderr=io.StringIO())
    assert _counts() == before
    assert "--seed 7 not used: this database's past was told with seed 2026" in out.getvalue()


def test_growing_the_demo_gives_only_the_new_enterprises_a_past(city):
    old = set(Enterprise.objects.values_list("pk", flat=True))
    inspections_before = Inspection.objects.count()
    call_command(
        "seed_demo",
        "--enterprises",
        str(N + 8),
        "--password",
        PASSWORD,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    events = list(AuditEvent.objects.filter(action="demo.history").order_by("seq"))
    assert [(e.data["start"], e.data["stop"], e.data["seed"]) for e in events] == [
        (0, N, 2026),
        (N, N + 8, 2026),
    ]
    assert Inspection.objects.filter(enterprise__in=old).count() == inspections_before
    new = Enterprise.objects.exclude(pk__in=old)
    assert new.count() == 8
    assert (
        SelfInspection.objects.filter(enterprise__in=new).exists()
        or Inspection.objects.filter(enterprise__in=new).exists()
    )
    assert EnterpriseScore.objects.filter(enterprise__in=new).count() == 8


def test_items_of_the_past_are_the_scenes_current_ones(city):
    used = set(Finding.objects.values_list("item_id", flat=True)) | set(
        SelfInspectionAnswer.objects.values_list("item_id", flat=True)
    )
    assert not ChecklistItem.objects.filter(pk__in=used).exclude(checklist__status="published").exists()
