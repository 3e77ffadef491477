"""The teller of one enterprise's story: where its past begins and ends, who it is, and the
visits and orders its chapters (demo.stories.chapters) call for."""

import random
import uuid
from datetime import date, datetime, timedelta

from django.utils import timezone

from demo import texts
from demo.rows import person_name
from demo.stories.model import (
    AWAITING,
    CONDUCT,
    CONDUCT_WEIGHTS,
    CONDUCTS,
    DELINQUENT,
    ESCALATED,
    FIRST_CONDUCTS,
    HISTORY_DAYS,
    ISSUED,
    LATE,
    LISTED,
    ON_TIME,
    OVERDUE,
    OVERDUE_AT_MOST_DAYS,
    REINSPECTED,
    RETURNED,
    ROUTINE_SOURCES,
    SENT_BACK,
    Answer,
    ChecklistVersion,
    City,
    Complaint,
    CreditEvent,
    Evaluation,
    Item,
    Order,
    Rectification,
    Story,
    Subject,
    Visit,
    at_work,
    between,
    weighted,
)

SEVERITY_ORDER = ("critical", "major", "minor")
RATINGS = {
    "pass": {5: 55, 4: 30, 3: 10, 2: 3, 1: 2},
    "rectify": {5: 30, 4: 35, 3: 20, 2: 10, 1: 5},
    "refer": {5: 5, 4: 15, 3: 30, 2: 25, 1: 25},
}
LISTING_YEARS = 3


class Teller:
    """The state of one story being told, and the moves that keep the platform's rules."""

    def __init__(self, subject: Subject, city: City, rng: random.Random):
        self.subject, self.city, self.rng = subject, city, rng
        self.today = city.today
        self.yesterday = city.today - timedelta(days=1)
        self.end_of_past = city.end_of_past
        self.go_live = city.today - timedelta(days=HISTORY_DAYS)
        opened = subject.opened_on
        self.first = max(self.go_live, opened + timedelta(days=14)) if opened else self.go_live
        self.active = subject.licence_status == "active"
        # The day the licence stopped (revoked, suspended) or the business closed (deregistered):
        # nothing happens there after it.
        self.closure = None if self.active else self.today - timedelta(days=self._closure_days())
        self.last = self.yesterday if self.closure is None else self.closure - timedelta(days=1)
        # The business login's enterprise keeps one open task, the demo's task for today (demo.seed).
        self.open_tasks_allowed = self.active and subject.index != 0
        self.checklists = {checklist.department: checklist for checklist in subject.checklists}
        self.conduct = self._conduct()
        self.habits = CONDUCT[self.conduct]
        self.story = Story(subject, self.conduct)

    # --- who the business is ----------------------------------------------------------------------------

    def _closure_days(self) -> int:
        status = self.subject.licence_status
        if status == "deregistered":
            return self.rng.randint(60, 600)
        if status == "revoked":
            return self.rng.randint(20, 300)
        return self.rng.randint(10, 120)  # suspended

    def _conduct(self) -> str:
        if self.subject.licence_status == "revoked":
            return LISTED
        if self.subject.licence_status == "suspended":
            return DELINQUENT
        if self.subject.index < len(FIRST_CONDUCTS):
            return FIRST_CONDUCTS[self.subject.index]
        return self.rng.choices(CONDUCTS, weights=CONDUCT_WEIGHTS)[0]

    def department(self) -> str:
        departments = self.subject.departments
        if len(departments) == 1:
            return departments[0]
        others = 45 / (len(departments) - 1)
        return self.rng.choices(departments, weights=[55] + [others] * (len(departments) - 1))[0]

    def team(self, department: str) -> tuple[int, ...]:
        return tuple(sorted(self.rng.sample(self.subject.teams[department], 2)))

    def lead(self, department: str) -> int:
        return self.city.leads[department]

    def user(self, inspector: int) -> int:
        return self.city.inspector_users[inspector]

    def item(self, checklist: ChecklistVersion, severity: str | None) -> Item:
        matching = [item for item in checklist.items if severity is None or item.severity == severity]
        return self.rng.choice(matching or list(checklist.items))

    def window(self, day: date) -> tuple[datetime, date, date]:
        """When a routine task for ``day`` was planned, and its due window around the day."""
        planned_on = day - timedelta(days=self.rng.randint(5, 25))
        due_from = min(day, planned_on + timedelta(days=self.rng.randint(0, 3)))
        due_to = max(day, due_from + timedelta(days=self.rng.randint(7, 30)))
        return at_work(self.rng, planned_on), due_from, due_to

    def cancelled(self, department: str, day: date, reason: str) -> Visit:
        created_at, due_from, due_to = self.window(day)
        lead = self.lead(department)
        visit = Visit(
            department=department,
            source=weighted(self.rng, dict(ROUTINE_SOURCES)),
            created_by=lead,
            created_at=created_at,
            due_from=due_from,
            due_to=due_to,
            inspectors=self.team(department),
            status="cancelled",
            cancelled_at=at_work(self.rng, day),
            cancelled_by=lead,
            cancel_reason=reason,
        )
        self.story.visits.append(visit)
        return visit

    # --- an inspection, and what came of it ---------------------------------------------------------------

    def visit(
        self,
        department: str,
        source: str,
        day: date,
        *,
        note: str = "",
        created: tuple[datetime, int] | None = None,
        complaint: Complaint | None = None,
        origin: Order | None = None,
        team: tuple[int, ...] | None = None,
        force: Item | None = None,
        clean: bool = False,
        story: str | None = None,
        rating: int | None = None,
    ) -> Visit:
        """A task carried out on ``day``. ``created``: (moment, user) it was planned, else a routine
        window before the day; ``force``: an item found not compliant whatever the conduct;
        ``clean``: no other item is; ``story`` / ``rating``: how its order ends / its rating
        (0: none), where the dates allow it."""
        rng = self.rng
        checklist = self.checklists[department]
        if created is None:
            created_at, due_from, due_to = self.window(day)
            created_by = self.lead(department)
        else:
            created_at, created_by = created
            due_from = timezone.localdate(created_at)
            due_to = due_from + timedelta(days=7)
        visit = Visit(
            department=department,
            source=source,
            created_by=created_by,
            created_at=created_at,
            due_from=due_from,
            due_to=max(due_to, day),
            inspectors=team or self.team(department),
            status="done",
            note=note,
            complaint=complaint,
            origin=origin,
            checklist=checklist,
        )
        visit.started_at = at_work(rng, day, 9, 16)
        visit.submitted_at = visit.started_at + timedelta(minutes=rng.randint(25, 110))
        visit.submission_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        visit.answers = self._answers(checklist, visit, force=force, clean=clean)
        findings = visit.findings
        if not findings:
            visit.conclusion = "pass"
        elif (
            any(a.item.severity == "critical" for a in findings)
            and self.conduct in (DELINQUENT, LISTED)
            and rng.random() < 0.4
        ):
            visit.conclusion = "refer"
        else:
            visit.conclusion = "rectify"
        visit.record_note = rng.choice(texts.RECORD_NOTES[visit.conclusion])
        visit.representative = self.subject.representative if rng.random() < 0.6 else person_name(rng)
        refuses = 0.15 if self.conduct in (DELINQUENT, LISTED) else 0.02
        if rng.random() < refuses:
            visit.refusal_note = rng.choice(texts.REFUSAL_NOTES)
        visit.signed_at = visit.submitted_at - timedelta(minutes=rng.randint(1, 8))
        self.story.visits.append(visit)
        if visit.conclusion == "rectify":
            visit.order = self._order(visit, story)
        elif visit.conclusion == "refer":
            self.penalty_after(visit.submitted_at, department)
        self._rate(visit, rating)
        return visit

    def _answers(self, checklist: ChecklistVersion, visit: Visit, *, force: Item | None, clean: bool):
        rng, chance = self.rng, self.habits.findings
        answers = []
        for item in checklist.items:
            at = between(rng, visit.started_at, visit.submitted_at, 0.1, 0.95)
            if item == force or (not clean and rng.random() < chance[item.severity]):
                answers.append(Answer(item, "non_compliant", rng.choice(texts.FINDING_NOTES), at))
            elif rng.random() < 0.03:
                answers.append(Answer(item, "not_applicable", "", at))
            else:
                answers.append(Answer(item, "compliant", "", at))
        return answers

    def _rate(self, visit: Visit, rating: int | None) -> None:
        rng = self.rng
        if rating == 0 or (rating is None and rng.random() >= self.habits.rated):
            return
        stars = rating or weighted(rng, RATINGS[visit.conclusion])
        created_at = visit.submitted_at + timedelta(minutes=rng.randint(60, 10 * 24 * 60))
        if created_at > self.end_of_past:
            return
        visit.evaluation = Evaluation(stars, rng.choice(texts.EVALUATION_COMMENTS[stars]), created_at)

    # --- orders -------------------------------------------------------------------------------------------

    def _order(self, visit: Visit, wanted: str | None) -> Order:
        rng = self.rng
        worst = min((a.item.severity for a in visit.findings), key=SEVERITY_ORDER.index)
        deadline = visit.submitted_at + timedelta(days=self.city.rectify_days[worst])
        if timezone.localdate(deadline) == self.today:
            # The inspector gave one more day (a deadline may be set by hand): an order due today
            # would be overdue or not depending on the hour.
            deadline += timedelta(days=1)
        order = Order(story="", deadline=deadline, status="issued")
        order.entry_texts = [rng.choice(texts.RECTIFICATION_ENTRIES) for _finding in visit.findings]
        if deadline > self.end_of_past:
            pending = {ISSUED: 50, AWAITING: 40, SENT_BACK: 10}
            self._pending(visit, order, wanted if wanted in pending else weighted(rng, pending))
        else:
            past = {ON_TIME, RETURNED, LATE, REINSPECTED, OVERDUE, ESCALATED}
            self._past(visit, order, wanted if wanted in past else weighted(rng, self.habits.stories))
        return order

    def _answer(self, order: Order, at: datetime) -> Rectification:
        rectification = Rectification(at, self.rng.choice(texts.RECTIFICATION_NOTES))
        order.rectifications.append(rectification)
        order.status = "submitted"
        return rectification

    def _review(self, order: Order, at: datetime, reviewer: int, *, accepted: bool) -> None:
        rectification = order.rectifications[-1]
        rectification.reviewed_at, rectification.reviewed_by = at, self.user(reviewer)
        if accepted:
            rectification.status = "accepted"
            order.status, order.closed_at, order.closed_by = "closed", at, self.user(reviewer)
        else:
            rectification.status = "rejected"
            rectification.review_note = self.rng.choice(texts.REJECTION_NOTES)
            order.status = "returned"

    def _pending(self, visit: Visit, order: Order, story: str) -> None:
        """An order still running: waiting for the business, or for the inspectors."""
        order.story = story
        issued, end, reviewer = visit.submitted_at, self.end_of_past, visit.inspectors[0]
        if story == AWAITING:
            self._answer(order, between(self.rng, issued, end, 0.1, 0.9))
        elif story == SENT_BACK:
            self._answer(order, between(self.rng, issued, end, 0.1, 0.5))
            self._review(order, between(self.rng, issued, end, 0.6, 0.9), reviewer, accepted=False)

    def _past(self, visit: Visit, order: Order, story: str) -> None:
        """An order whose deadline has passed: closed in time or late, re-inspected, left overdue or
        escalated. Stories the dates or the licence do not allow become the nearest one they do."""
        rng = self.rng
        issued, deadline, end = visit.submitted_at, order.deadline, self.end_of_past
        reviewer = visit.inspectors[0]
        deadline_day = timezone.localdate(deadline)
        if story == OVERDUE and (
            not self.active or deadline_day < self.today - timedelta(OVERDUE_AT_MOST_DAYS)
        ):
            story = LATE if rng.random() < 0.6 else ESCALATED
        if story == ESCALATED and deadline + timedelta(days=3) > end:
            story = OVERDUE if self.active else LATE
        if story == REINSPECTED:
            story = self._reinspected(visit, order)
        order.story = story
        if story == ON_TIME:
            answered = between(rng, issued, deadline, 0.15, 0.6)
            self._answer(order, answered)
            self._review(order, between(rng, answered, deadline, 0.1, 0.9), reviewer, accepted=True)
        elif story == RETURNED:
            self._answer(order, between(rng, issued, deadline, 0.05, 0.3))
            self._review(order, between(rng, issued, deadline, 0.3, 0.45), reviewer, accepted=False)
            self._answer(order, between(rng, issued, deadline, 0.5, 0.7))
            self._review(order, between(rng, issued, deadline, 0.75, 0.95), reviewer, accepted=True)
        elif story == LATE:
            answered = between(rng, deadline, min(deadline + timedelta(days=20), end), 0.02, 0.7)
            self._answer(order, answered)
            reviewed = answered + timedelta(minutes=rng.randint(120, 4 * 24 * 60))
            if reviewed <= end:
                self._review(order, reviewed, reviewer, accepted=True)
        elif story in (OVERDUE, ESCALATED):
            if rng.random() < 0.3:
                self._answer(order, between(rng, issued, deadline, 0.1, 0.4))
                self._review(order, between(rng, issued, deadline, 0.5, 0.9), reviewer, accepted=False)
            if story == ESCALATED:
                start = deadline + timedelta(days=3)
                order.status = "escalated"
                order.escalated_at = between(rng, start, min(deadline + timedelta(days=30), end), 0, 1)
                order.case_note = rng.choice(texts.CASE_NOTES)
                if rng.random() < 0.7:
                    self.penalty_after(order.escalated_at, visit.department)

    def _reinspected(self, visit: Visit, order: Order) -> str:
        """The business answers in time and the inspectors go back to look (order_reinspect); the
        re-inspection passes and the order is accepted. ON_TIME when the dates leave no room."""
        rng = self.rng
        answered = between(rng, visit.submitted_at, order.deadline, 0.1, 0.5)
        planned = answered + timedelta(minutes=rng.randint(120, 24 * 60))
        day = timezone.localdate(planned) + timedelta(days=rng.randint(1, 5))
        if day > self.last:
            return ON_TIME
        self._answer(order, answered)
        reviewer = visit.inspectors[0]
        again = self.visit(
            visit.department,
            "reinspection",
            day,
            created=(planned, self.user(reviewer)),
            origin=order,
            team=visit.inspectors,
            clean=True,
            rating=0,
        )
        self._review(
            order, again.submitted_at + timedelta(minutes=rng.randint(10, 60)), reviewer, accepted=True
        )
        return REINSPECTED

    # --- credit events ------------------------------------------------------------------------------------

    def reference(self, department: str, word: str, day: date) -> str:
        abbreviation = texts.DEPARTMENT_ABBREVIATIONS.get(department, "")
        return f"京{abbreviation}{word}〔{day.year}〕{self.rng.randint(100, 9999)}号"

    def credit(self, kind: str, day: date, department: str, **fields) -> None:
        self.story.credit_events.append(CreditEvent(kind, day, self.lead(department), **fields))

    def penalty_after(self, moment: datetime, department: str, note: str = "") -> None:
        day = timezone.localdate(moment) + timedelta(days=self.rng.randint(20, 60))
        if day <= self.yesterday:
            note = note or self.rng.choice(texts.PENALTY_NOTES)
            self.credit(
                "penalty", day, department, reference=self.reference(department, "罚", day), note=note
            )

    def main_department(self) -> str:
        return self.subject.departments[0] if self.subject.departments else next(iter(self.city.leads))

    def list_dishonest(self, day: date, department: str) -> None:
        self.credit(
            "dishonesty",
            day,
            department,
            ends_on=day + timedelta(days=365 * LISTING_YEARS),
            reference=self.reference(department, "失信", day),
            note=texts.DISHONESTY_NOTE,
        )
