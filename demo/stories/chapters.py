"""The chapters of an enterprise's story, told in order by ``tell``: its visits (or, for the
business login's enterprise, a short scripted past), the public's reports, its self-inspections,
the tasks still ahead, the credit events its licence and conduct imply, and the previous system's
records from the year before the platform."""

from datetime import datetime, timedelta

from django.utils import timezone

from demo import texts
from demo.stories.model import (
    AWAITING,
    CARELESS,
    DELINQUENT,
    ESCALATED,
    EXEMPLARY,
    HISTORY_DAYS,
    ISSUED,
    LATE,
    LEGACY_DAYS,
    LISTED,
    ON_TIME,
    ORDINARY,
    OVERDUE,
    QUIET_SCENES,
    REINSPECTED,
    RETURNED,
    ROUTINE_SOURCES,
    VISITS_BY_RISK,
    Answer,
    Complaint,
    LegacyVisit,
    SelfCheck,
    Story,
    Visit,
    at_work,
    distinct_days,
    poisson,
    weighted,
)
from demo.stories.teller import Teller

LEGACY_FINDINGS = {EXEMPLARY: 0.3, ORDINARY: 0.8, CARELESS: 1.6, DELINQUENT: 2.5, LISTED: 3.0}
# Small demos still show every way an order goes: the first enterprises each have one more visit,
# whose order goes a given way. Demo index -> (how its order goes, severity of its finding, days ago).
SHOWCASE = {
    1: (REINSPECTED, "major", 160),
    2: (LATE, "minor", 230),
    3: (OVERDUE, "major", 45),
    4: (ESCALATED, "critical", 100),
    5: (RETURNED, "major", 130),
    6: (AWAITING, "minor", 5),
    7: (ON_TIME, "major", 60),
}


def tell(t: Teller) -> Story:
    if t.subject.departments:
        if t.subject.index == 0:
            business_login_past(t)
        else:
            routine_visits(t)
            showcase(t)
            complaints(t)
        self_checks(t)
        future_tasks(t)
    licence_events(t)
    listing(t)
    case_penalty(t)
    legacy(t)
    return t.story


# --- the business login's enterprise: a short, complete past to try the loop on ---------------------


def business_login_past(t: Teller) -> None:
    department = t.subject.departments[0]
    checklist = t.checklists[department]
    t.visit(department, "random", t.today - timedelta(days=420), clean=True, rating=5)
    t.visit(
        department,
        "risk",
        t.today - timedelta(days=210),
        clean=True,
        force=t.item(checklist, "major"),
        story=ON_TIME,
        rating=4,
    )
    # Last week's visit left an order waiting for the business's answer, and a visit to rate.
    t.visit(
        department,
        "manual",
        t.today - timedelta(days=6),
        clean=True,
        force=t.item(checklist, "minor"),
        story=ISSUED,
        rating=0,
    )
    day = t.today - timedelta(days=300)
    complaint = Complaint(at_work(t.rng, day, 8, 21), t.rng.choice(complaint_texts(t)), "")
    t.story.complaints.append(complaint)
    dismiss(t, complaint, complaint.created_at + timedelta(hours=5), t.lead(department))


# --- routine visits -----------------------------------------------------------------------------------


def routine_visits(t: Teller) -> None:
    if t.last < t.first:
        return
    span = (t.last - t.first).days + 1
    mean = VISITS_BY_RISK[t.subject.inherent_risk] * t.habits.visits * span / HISTORY_DAYS
    days = distinct_days(t.rng, poisson(t.rng, mean), t.first, t.last, gap=20)
    obstructed = False
    # A delinquent business's first inspection finds something critical: such businesses are
    # why critical findings exist, and small demos then still show one.
    force_critical = t.conduct in (DELINQUENT, LISTED)
    for day in days:
        department = t.department()
        if not obstructed and t.rng.random() < t.habits.obstructs:
            obstructed = True
            t.cancelled(department, day, texts.OBSTRUCTION_REASON)
            t.credit(
                "refusal",
                day,
                department,
                reference=t.reference(department, "现笔", day),
                note=texts.REFUSAL_EVENT_NOTE,
            )
            continue
        if t.rng.random() < 0.04:
            t.cancelled(department, day, t.rng.choice(texts.CANCEL_REASONS))
            continue
        source = weighted(t.rng, dict(ROUTINE_SOURCES))
        note = t.rng.choice(texts.MANUAL_TASK_NOTES) if source == "manual" else ""
        force = None
        if force_critical:
            force = t.item(t.checklists[department], "critical")
            force_critical = False
        t.visit(department, source, day, note=note, force=force)


def showcase(t: Teller) -> None:
    wanted = SHOWCASE.get(t.subject.index)
    if wanted is None or not t.active:
        return
    story, severity, days = wanted
    day = t.today - timedelta(days=days)
    if day >= t.first:
        department = t.subject.departments[0]
        force = t.item(t.checklists[department], severity)
        t.visit(department, "random", day, clean=True, force=force, story=story)


# --- the public's reports -----------------------------------------------------------------------------


def complaint_texts(t: Teller) -> tuple[str, ...]:
    return texts.COMPLAINTS.get(t.subject.scene, ()) + texts.GENERAL_COMPLAINTS


def contact(t: Teller) -> str:
    rng, chance = t.rng, t.rng.random()
    if chance < 0.5:
        return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    if chance < 0.6:
        return f"citizen{rng.randint(100, 9999)}@example.cn"
    return ""


def complaints(t: Teller) -> None:
    if t.last < t.first:
        return
    span = (t.last - t.first).days + 1
    rng = t.rng
    quiet = 0.5 if t.subject.scene in QUIET_SCENES else 1.0
    mean = t.habits.complaints * quiet * span / HISTORY_DAYS
    reports = []  # (day, text, a repeat of an earlier report)
    for day in distinct_days(rng, poisson(rng, mean), t.first, t.last, gap=3):
        text = rng.choice(complaint_texts(t))
        reports.append((day, text, False))
        # People report the same thing again when nothing seems to happen.
        again = day + timedelta(days=rng.randint(1, 14))
        if rng.random() < 0.12 and again <= t.last:
            reports.append((again, text, True))
    for day, text, repeat in sorted(reports, key=lambda report: report[0]):
        complaint = Complaint(at_work(rng, day, 7, 21), text, contact(t))
        t.story.complaints.append(complaint)
        triage(t, complaint, repeat=repeat)


def dismiss(t: Teller, complaint: Complaint, at: datetime, regulator: int) -> None:
    complaint.status, complaint.triaged_at, complaint.triaged_by = "dismissed", at, regulator
    complaint.triage_note = t.rng.choice(texts.DISMISS_REASONS)


def triage(t: Teller, complaint: Complaint, *, repeat: bool = False) -> None:
    """Dismissed, merged into an earlier report, or checked by a complaint task (whose
    inspection verifies it or finds it unfounded); the last few days' reports wait."""
    rng = t.rng
    department = t.subject.departments[0]
    regulator = t.lead(department)
    triaged_at = complaint.created_at + timedelta(minutes=rng.randint(120, 6 * 24 * 60))
    if triaged_at > t.end_of_past:
        return
    earlier = [
        other
        for other in t.story.complaints
        if other is not complaint
        and other.status != "duplicate"
        and timedelta(0) < complaint.created_at - other.created_at <= timedelta(days=45)
    ]
    chance = rng.random()
    if earlier and chance < (0.8 if repeat else 0.05):
        complaint.status, complaint.triaged_at, complaint.triaged_by = "duplicate", triaged_at, regulator
        complaint.duplicate_of = earlier[-1]
        return
    if chance < 0.35:
        dismiss(t, complaint, triaged_at, regulator)
        return
    day = timezone.localdate(triaged_at) + timedelta(days=rng.randint(1, 6))
    if day > t.last and not t.open_tasks_allowed:
        dismiss(t, complaint, triaged_at, regulator)
        return
    complaint.status, complaint.triaged_at, complaint.triaged_by = "tasked", triaged_at, regulator
    if day > t.last:
        # Not visited yet: the complaint task is still open.
        due_from = timezone.localdate(triaged_at)
        t.story.visits.append(
            Visit(
                department=department,
                source="complaint",
                created_by=regulator,
                created_at=triaged_at,
                due_from=due_from,
                due_to=due_from + timedelta(days=7),
                inspectors=t.team(department),
                status="planned",
                complaint=complaint,
            )
        )
        return
    founded = rng.random() < t.habits.founded
    visit = t.visit(
        department,
        "complaint",
        day,
        created=(triaged_at, regulator),
        complaint=complaint,
        force=t.item(t.checklists[department], None) if founded else None,
        clean=not founded,
    )
    complaint.status = "verified" if visit.findings or visit.conclusion != "pass" else "unfounded"


# --- the business checking itself ---------------------------------------------------------------------


def self_checks(t: Teller) -> None:
    rng = t.rng
    if t.last < t.first:
        return
    span = (t.last - t.first).days + 1
    count = poisson(rng, t.habits.self_checks * span / 365)
    if t.subject.index == 0:
        count = max(count, 1)  # the business login sees its latest self-inspection
    items = [item for checklist in t.subject.checklists for item in checklist.items]
    for day in distinct_days(rng, count, t.first, t.last, gap=60):
        started = at_work(rng, day, 8, 17)
        check = SelfCheck(started, started + timedelta(minutes=rng.randint(10, 180)), [])
        for item in items:
            chance = rng.random()
            if chance < t.habits.self_flags:
                check.answers.append(Answer(item, "non_compliant", rng.choice(texts.SELF_CHECK_NOTES)))
                fixed_at = check.submitted_at + timedelta(minutes=rng.randint(24 * 60, 20 * 24 * 60))
                if rng.random() < 0.8 and fixed_at <= t.end_of_past:
                    check.fixes[item.pk] = (fixed_at, rng.choice(texts.SELF_FIX_NOTES))
            elif chance < t.habits.self_flags + 0.02:
                check.answers.append(Answer(item, "not_applicable"))
            else:
                check.answers.append(Answer(item, "compliant"))
        t.story.self_checks.append(check)


def licence_events(t: Teller) -> None:
    """A revoked licence is a penalty and a dishonesty listing; a suspension is a penalty."""
    if t.closure is None or t.subject.licence_status == "deregistered":
        return
    department, day = t.main_department(), t.closure
    if t.subject.licence_status == "revoked":
        t.credit(
            "penalty",
            day,
            department,
            reference=t.reference(department, "罚", day),
            note=texts.REVOCATION_NOTE,
        )
        t.list_dishonest(day, department)
    else:
        t.credit(
            "penalty",
            day,
            department,
            reference=t.reference(department, "罚", day),
            note=texts.SUSPENSION_NOTE,
        )


def case_penalty(t: Teller) -> None:
    """A penalty this year from a case that began elsewhere (a report, another office's check)."""
    if not t.active or t.rng.random() >= t.habits.penalised:
        return
    first = max(t.first, t.today - timedelta(days=330))
    if first <= t.yesterday:
        day = first + timedelta(days=t.rng.randint(0, (t.yesterday - first).days))
        department = t.main_department()
        t.credit(
            "penalty",
            day,
            department,
            reference=t.reference(department, "罚", day),
            note=t.rng.choice(texts.PENALTY_NOTES),
        )


def listing(t: Teller) -> None:
    """A listed business still trading was put on the serious-dishonesty list this year."""
    if t.conduct != LISTED or not t.active:
        return
    first = max(t.first, t.today - timedelta(days=300))
    if first > t.yesterday:
        first = t.yesterday
    day = first + timedelta(days=t.rng.randint(0, (t.yesterday - first).days))
    t.list_dishonest(day, t.main_department())


# --- what is still ahead ------------------------------------------------------------------------------


def future_tasks(t: Teller) -> None:
    """Some tasks are planned already: this month's, and next month's (a plan for next month
    finds them "already planned"). More of them where a visit is overdue."""
    if not t.open_tasks_allowed:
        return
    rng = t.rng
    recent = [
        visit
        for visit in t.story.visits
        if visit.status == "done" and timezone.localdate(visit.submitted_at) > t.today - timedelta(days=300)
    ]
    chance = 0.2 if t.conduct != EXEMPLARY and not recent else 0.04
    draw = rng.random()
    if draw < chance:
        start = (t.today.replace(day=1) + timedelta(days=32)).replace(day=1)
        due_from = max(t.today + timedelta(days=1), start + timedelta(days=rng.randint(-5, 10)))
        due_to = due_from + timedelta(days=rng.randint(7, 25))
        created_on = t.today - timedelta(days=rng.randint(1, 10))
    elif draw < chance + 0.03:
        due_from = t.today - timedelta(days=rng.randint(0, 6))
        due_to = t.today + timedelta(days=rng.randint(2, 14))
        created_on = due_from - timedelta(days=rng.randint(1, 7))
    else:
        return
    # Next month's are the lead department's own plans.
    department = t.subject.departments[0] if draw < chance else t.department()
    t.story.visits.append(
        Visit(
            department=department,
            source=weighted(rng, dict(ROUTINE_SOURCES)),
            created_by=t.lead(department),
            created_at=at_work(rng, created_on),
            due_from=due_from,
            due_to=due_to,
            inspectors=t.team(department),
            status="planned",
        )
    )


# --- before the platform: the previous system's records ----------------------------------------------


def legacy(t: Teller) -> None:
    rng = t.rng
    first = t.go_live - timedelta(days=LEGACY_DAYS)
    if t.subject.opened_on:
        first = max(first, t.subject.opened_on + timedelta(days=14))
    last = t.go_live - timedelta(days=1)
    if last < first:
        return
    span = (last - first).days + 1
    mean = VISITS_BY_RISK[t.subject.inherent_risk] * t.habits.visits * 0.6 * span / 365
    severities = {"minor": 60, "major": 30, "critical": 10}
    if t.conduct in (DELINQUENT, LISTED):
        severities = {"minor": 45, "major": 35, "critical": 20}
    for day in distinct_days(rng, poisson(rng, mean), first, last, gap=20):
        findings = []
        for _n in range(poisson(rng, LEGACY_FINDINGS[t.conduct])):
            severity = weighted(rng, severities)
            findings.append((severity, *rng.choice(texts.LEGACY_VIOLATIONS[severity])))
        lost = sum({"minor": 2, "major": 4, "critical": 8}[f[0]] for f in findings)
        kind = weighted(rng, dict(texts.LEGACY_KINDS))
        t.story.legacy.append(LegacyVisit(day, kind, max(40, 100 - lost), findings))
