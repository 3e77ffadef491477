"""Risk-driven plans: the visits the tier frequencies require, highest risk first, within a capacity.

Due: an enterprise of a tier with an interval (the CURRENT scoring policy's
``tiers[<tier>].interval_days``) is due in a period when it was never inspected, or when its last
inspection plus the interval falls on or before the period's last day. Draw-only tiers (no
interval) are never due here; double-random draws cover them. The due reason is "never
inspected", "overdue by N days" (its due date lies N days before the period starts) or "due
within the period" (on its due date).

Order and capacity: due enterprises are taken by descending risk score (then by id). Capacity is
in inspector-days and each task costs ``inspectors_per_task`` of them — one day of each inspector
sent. Each due enterprise, in order, is

- "already planned" when the department has an open task for it overlapping the period (no cost);
- "over capacity" when the remaining capacity is less than one task;
- "not enough eligible inspectors" when the eligibility rules leave too few (no cost);
- otherwise scheduled, with inspectors assigned.

Nothing due is dropped: every due enterprise is an entry, scheduled or unplaced with its reason.

Inspectors: the plan assigns them itself, by the eligibility rules of draws (jurisdiction, not
the last inspection's inspectors, no declared conflict, under the optional maximum of tasks in
the period) and, unlike a draw, deterministically: the least loaded first (tasks in the period
plus those given earlier in this plan), then by id. The regulator reads them in the preview and
may re-plan single tasks by hand after confirming.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from planning import draws, eligibility, joint
from planning.common import (
    MAX_CAPACITY,
    Area,
    area_check,
    area_enterprises,
    max_tasks_check,
    period_check,
    refuse,
    team_size_check,
)
from planning.models import PlanEntry, RiskPlan, Status
from supervision.models import InspectionTask
from supervision.risk import scoring

OPEN = (InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS)
BATCH = 1000


def tier_intervals(policy) -> dict[int, int]:
    """Tier -> interval in days, for the tiers that have one."""
    return {
        int(tier): int(rule["interval_days"])
        for tier, rule in policy.params["tiers"].items()
        if rule.get("interval_days")
    }


def due_q(*, intervals: dict[int, int], period_to: date) -> Q:
    """Enterprises (filtered through their score) due by the end of the period."""
    q = Q(pk__in=[])
    for tier, days in intervals.items():
        q |= Q(score__tier=tier) & (
            Q(score__last_inspected_on__isnull=True)
            | Q(score__last_inspected_on__lte=period_to - timedelta(days=days))
        )
    return q


def due_reason(*, last: date | None, interval: int, period_from: date) -> tuple[str, date | None, int]:
    """(reason, due date, days overdue at the start of the period)."""
    if last is None:
        return PlanEntry.DueReason.NEVER_INSPECTED, None, 0
    due_on = last + timedelta(days=interval)
    if due_on < period_from:
        return PlanEntry.DueReason.OVERDUE, due_on, (period_from - due_on).days
    return PlanEntry.DueReason.DUE_IN_PERIOD, due_on, 0


def _open_task_of(area: Area, period_from: date, period_to: date):
    """The department's open task for the enterprise overlapping the period, as a subquery."""
    return (
        InspectionTask.objects.filter(
            Q(department=area.department) | Q(departments=area.department),
            enterprise=OuterRef("pk"),
            status__in=OPEN,
            due_from__lte=period_to,
            due_to__gte=period_from,
        )
        .order_by("pk")
        .values("pk")[:1]
    )


def _batches(rows: Iterable, size: int) -> Iterable[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def plan_generate(
    *,
    actor,
    area: Area,
    period_from: date,
    period_to: date,
    capacity: int,
    inspectors_per_task: int = 2,
    max_tasks_per_inspector: int | None = None,
) -> RiskPlan:
    """Record a draft plan with every due enterprise as an entry. Checks run before any write."""
    area_check(actor=actor, area=area)
    period_check(period_from=period_from, period_to=period_to)
    team_size_check(inspectors_per_task)
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise refuse(
            _("Give a capacity between 1 and %(n)d inspector-days.") % {"n": MAX_CAPACITY}, "invalid_capacity"
        )
    if capacity < inspectors_per_task:
        raise refuse(
            _("A task costs %(n)d inspector-days; the capacity does not fit one.")
            % {"n": inspectors_per_task},
            "invalid_capacity",
        )
    max_tasks_check(max_tasks_per_inspector, optional=True)
    policy = scoring.current_policy()
    intervals = tier_intervals(policy)
    rows = (
        area_enterprises(area=area)
        .filter(due_q(intervals=intervals, period_to=period_to))
        .annotate(open_task=Subquery(_open_task_of(area, period_from, period_to)))
        .order_by("-score__risk", "pk")
        .values_list(
            "pk", "district__path", "score__risk", "score__tier", "score__last_inspected_on", "open_task"
        )
    )
    inspectors = eligibility.area_inspectors(area=area)
    ids = [inspector_id for inspector_id, _paths in inspectors]
    index = eligibility.JurisdictionIndex(inspectors)
    loads = eligibility.inspector_loads(inspector_ids=ids, period_from=period_from, period_to=period_to)
    remaining = capacity
    entries: list[PlanEntry] = []
    for batch in _batches(rows.iterator(chunk_size=BATCH), BATCH):
        # The exclusions matter only while a task still fits.
        open_ids = [row[0] for row in batch if row[5] is None] if remaining >= inspectors_per_task else []
        last = eligibility.last_inspection_pairs(enterprise_ids=open_ids, inspector_ids=ids)
        declared = eligibility.declared_conflict_pairs(enterprise_ids=open_ids, inspector_ids=ids)
        for pk, path, risk, tier, last_on, open_task in batch:
            reason, due_on, overdue = due_reason(
                last=last_on, interval=intervals[tier], period_from=period_from
            )
            entry = PlanEntry(
                position=len(entries) + 1,
                enterprise_id=pk,
                risk=risk,
                tier=tier,
                last_inspected_on=last_on,
                due_reason=reason,
                due_on=due_on,
                overdue_days=overdue,
                existing_task_id=open_task,
            )
            entries.append(entry)
            if open_task is not None:
                entry.outcome = PlanEntry.Outcome.ALREADY_PLANNED
                continue
            if remaining < inspectors_per_task:
                entry.outcome = PlanEntry.Outcome.OVER_CAPACITY
                continue
            eligible, _excluded = eligibility.screen(
                enterprise_id=pk,
                path=path,
                index=index,
                last=last,
                declared=declared,
                load=loads.__getitem__,
                max_tasks=max_tasks_per_inspector,
            )
            if len(eligible) < inspectors_per_task:
                entry.outcome = PlanEntry.Outcome.NO_INSPECTORS
                continue
            team = sorted(sorted(eligible, key=lambda i: (loads[i], i))[:inspectors_per_task])
            for inspector_id in team:
                loads[inspector_id] += 1
            entry.outcome, entry.inspector_ids = PlanEntry.Outcome.SCHEDULED, team
            remaining -= inspectors_per_task
    with transaction.atomic():
        plan = RiskPlan.objects.create(
            department=area.department,
            district=area.district,
            period_from=period_from,
            period_to=period_to,
            capacity=capacity,
            inspectors_per_task=inspectors_per_task,
            max_tasks_per_inspector=max_tasks_per_inspector,
            capacity_used=capacity - remaining,
            policy_version=policy.version,
            created_by=actor,
        )
        for entry in entries:
            entry.plan = plan
        PlanEntry.objects.bulk_create(entries, batch_size=BATCH)
        outcomes = {outcome: 0 for outcome in PlanEntry.Outcome.values}
        for entry in entries:
            outcomes[entry.outcome] += 1
        audit_record(
            actor=actor,
            action="plan.generate",
            target=plan,
            data={
                "department": area.department.code,
                "district": area.district.code if area.district else None,
                "period": [period_from, period_to],
                "capacity": capacity,
                "capacity_used": plan.capacity_used,
                "policy_version": policy.version,
                "outcomes": outcomes,
            },
        )
    return plan


def plan_confirm(*, plan: RiskPlan, actor) -> RiskPlan:
    """Create the scheduled tasks (source "risk"), merge them into joint tasks where other
    departments have a visit planned, and freeze the plan. All or nothing."""
    with transaction.atomic():
        plan = (
            RiskPlan.objects.select_for_update(of=("self",))
            .select_related("department", "district")
            .get(pk=plan.pk)
        )
        area = Area(plan.department, plan.district)
        area_check(actor=actor, area=area)
        if plan.status != Status.DRAFT:
            raise refuse(_("This plan is already confirmed."), "already_confirmed", 409)
        if plan.period_to < timezone.localdate():
            raise refuse(_("The period is in the past; generate a new plan."), "period_in_past")
        entries = list(
            plan.entries.filter(outcome=PlanEntry.Outcome.SCHEDULED)
            .select_related("enterprise__district")
            .order_by("position")
        )
        if not entries:
            # Confirming would plan nothing yet read as "tasks planned"; the plan stays a draft
            # that says plainly why nothing could be scheduled.
            raise refuse(_("This plan schedules no visit: there is nothing to confirm."), "plan_empty", 409)
        # Another plan or a hand-planned task may have booked these visits since the preview.
        booked = list(
            area_enterprises(area=area)
            .filter(pk__in=[entry.enterprise_id for entry in entries])
            .annotate(open_task=Subquery(_open_task_of(area, plan.period_from, plan.period_to)))
            .filter(open_task__isnull=False)
            .values_list("uscc", flat=True)
        )
        if booked:
            raise refuse(
                _("Some of these enterprises have had a task planned since; generate the plan again."),
                "plan_stale",
                409,
                details={"enterprises": sorted(booked)},
            )
        draws.refuse_new_conflicts([(i, e.enterprise_id) for e in entries for i in e.inspector_ids])
        tasks, joint_ids = joint.tasks_create_joined(
            entries=entries,
            actor=actor,
            period_from=plan.period_from,
            period_to=plan.period_to,
            source=InspectionTask.Source.RISK,
            origin={"plan": plan.pk},
        )
        plan.status, plan.confirmed_at, plan.confirmed_by = Status.CONFIRMED, timezone.now(), actor
        plan.save(update_fields=["status", "confirmed_at", "confirmed_by"])
        audit_record(
            actor=actor,
            action="plan.confirm",
            target=plan,
            data={"tasks": [task.pk for task in tasks], "joint": joint_ids},
        )
    return plan
