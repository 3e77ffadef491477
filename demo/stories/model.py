"""The words of a story (demo.stories): the inputs (Subject, City), what a story is made of
(Visit, Order, Complaint, SelfCheck, CreditEvent, LegacyVisit), how a business behaves (CONDUCT)
and the small helpers of time and chance every part uses."""

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

HISTORY_DAYS = 730  # the platform's own past: two years
LEGACY_DAYS = 365  # before that, a year of the previous system's records (imported history)

EXEMPLARY, ORDINARY, CARELESS, DELINQUENT, LISTED = (
    "exemplary",
    "ordinary",
    "careless",
    "delinquent",
    "listed",
)
CONDUCTS = (EXEMPLARY, ORDINARY, CARELESS, DELINQUENT, LISTED)
CONDUCT_WEIGHTS = (26, 44, 19, 9, 2)
# Small demos still show every kind of business: the first indices go round the conducts.
FIRST_CONDUCTS = (
    ORDINARY,
    EXEMPLARY,
    CARELESS,
    DELINQUENT,
    LISTED,
    ORDINARY,
    EXEMPLARY,
    CARELESS,
    DELINQUENT,
)

# How an order past its deadline ended.
ON_TIME, RETURNED, LATE, REINSPECTED, OVERDUE, ESCALATED = (
    "on_time",
    "returned",
    "late",
    "reinspected",
    "overdue",
    "escalated",
)
# How an order before its deadline stands.
ISSUED, AWAITING, SENT_BACK = "issued", "awaiting", "sent_back"
# No office leaves an order overdue for months: older ones were answered late or escalated.
OVERDUE_AT_MOST_DAYS = 120

# Visits per two years by the scene's inherent risk (1 low .. 4 very high).
VISITS_BY_RISK = {1: 0.5, 2: 0.8, 3: 1.4, 4: 2.2}
ROUTINE_SOURCES = (("random", 45), ("risk", 35), ("manual", 20))
# Scenes the public does not walk into draw fewer reports.
QUIET_SCENES = {"construction", "hazardous_chemicals", "food_production"}


@dataclass(frozen=True)
class Conduct:
    visits: float  # multiplier of the scene's visit rate
    findings: dict  # severity -> chance that an item of that severity is not compliant
    stories: dict  # story -> weight, for an order past its deadline
    rated: float  # chance the business rates an inspection
    complaints: float  # complaints in two years
    founded: float  # chance a complaint check finds something
    self_checks: float  # self-inspections a year
    self_flags: float  # chance a self-inspection answer says "not compliant"
    obstructs: float  # chance it once refuses inspectors entry
    penalised: (
        float  # chance of a penalty this year from a case no visit of ours began (a report, another office)
    )


CONDUCT = {
    EXEMPLARY: Conduct(
        visits=0.7,
        findings={"minor": 0.03, "major": 0.01, "critical": 0.002},
        stories={ON_TIME: 80, RETURNED: 6, LATE: 6, REINSPECTED: 8},
        rated=0.65,
        complaints=0.15,
        founded=0.2,
        self_checks=1.5,
        self_flags=0.04,
        obstructs=0.0,
        penalised=0.0,
    ),
    ORDINARY: Conduct(
        visits=1.0,
        findings={"minor": 0.07, "major": 0.03, "critical": 0.008},
        stories={ON_TIME: 60, RETURNED: 10, LATE: 17, REINSPECTED: 8, OVERDUE: 3, ESCALATED: 2},
        rated=0.5,
        complaints=0.5,
        founded=0.45,
        self_checks=0.9,
        self_flags=0.03,
        obstructs=0.0,
        penalised=0.04,
    ),
    CARELESS: Conduct(
        visits=1.5,
        findings={"minor": 0.13, "major": 0.06, "critical": 0.02},
        stories={ON_TIME: 38, RETURNED: 12, LATE: 30, REINSPECTED: 5, OVERDUE: 8, ESCALATED: 7},
        rated=0.35,
        complaints=1.2,
        founded=0.65,
        self_checks=0.5,
        self_flags=0.02,
        obstructs=0.02,
        penalised=0.2,
    ),
    DELINQUENT: Conduct(
        visits=2.0,
        findings={"minor": 0.2, "major": 0.1, "critical": 0.05},
        stories={ON_TIME: 22, RETURNED: 8, LATE: 32, OVERDUE: 15, ESCALATED: 23},
        rated=0.2,
        complaints=2.0,
        founded=0.8,
        self_checks=0.25,
        self_flags=0.01,
        obstructs=0.12,
        penalised=0.45,
    ),
    LISTED: Conduct(
        visits=2.2,
        findings={"minor": 0.22, "major": 0.12, "critical": 0.07},
        stories={ON_TIME: 12, LATE: 28, OVERDUE: 20, ESCALATED: 40},
        rated=0.15,
        complaints=2.4,
        founded=0.85,
        self_checks=0.15,
        self_flags=0.01,
        obstructs=0.25,
        penalised=0.5,
    ),
}

# --- the inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    pk: int
    code: str
    severity: str
    position: int
    department: str


@dataclass(frozen=True)
class ChecklistVersion:
    pk: int
    department: str
    version: int
    items: tuple[Item, ...]  # those that apply to the enterprise, by position


@dataclass(frozen=True)
class Subject:
    """One demo enterprise as its story needs it."""

    index: int
    pk: int
    uscc: str
    scene: str
    inherent_risk: int
    district: str
    licence_status: str
    opened_on: date | None
    representative: str
    checklists: tuple[ChecklistVersion, ...]  # the scene's current versions, by department code
    departments: tuple[str, ...]  # supervising departments with a checklist, the scene's lead first
    teams: dict  # department -> ids of its inspectors with jurisdiction here (at least two)
    owner: int  # user id of the business account


@dataclass(frozen=True)
class City:
    """What every story shares: the day, the officials and the rules of deadlines."""

    today: date
    leads: dict  # department -> user id of its city-wide regulator
    inspector_users: dict  # inspector id -> user id
    rectify_days: dict  # severity -> days (settings.RECTIFY_DAYS)

    @property
    def end_of_past(self) -> datetime:
        return at_minute(self.today - timedelta(days=1), 21 * 60)


# --- the story ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    item: Item
    result: str  # supervision.models.Result
    note: str = ""
    at: datetime | None = None


@dataclass
class Rectification:
    submitted_at: datetime
    note: str
    status: str = "pending"  # pending | accepted | rejected
    reviewed_at: datetime | None = None
    reviewed_by: int | None = None
    review_note: str = ""


@dataclass
class Order:
    story: str
    deadline: datetime
    status: str
    rectifications: list[Rectification] = field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: int | None = None
    escalated_at: datetime | None = None
    case_note: str = ""
    entry_texts: list[str] = field(default_factory=list)  # one per finding, in answer order


@dataclass
class Evaluation:
    rating: int
    comment: str
    created_at: datetime


@dataclass
class Complaint:
    created_at: datetime
    text: str
    contact: str
    status: str = "new"
    triaged_at: datetime | None = None
    triaged_by: int | None = None
    triage_note: str = ""
    duplicate_of: "Complaint | None" = None


@dataclass
class Visit:
    """A task and, when it was carried out, its inspection."""

    department: str
    source: str
    created_by: int
    created_at: datetime
    due_from: date
    due_to: date
    inspectors: tuple[int, ...]
    status: str  # planned | done | cancelled
    note: str = ""
    complaint: Complaint | None = None
    origin: Order | None = None  # the order a re-inspection checks
    cancelled_at: datetime | None = None
    cancelled_by: int | None = None
    cancel_reason: str = ""
    checklist: ChecklistVersion | None = None
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    submission_id: uuid.UUID | None = None
    answers: list[Answer] = field(default_factory=list)
    conclusion: str = ""
    record_note: str = ""
    representative: str = ""
    refusal_note: str = ""  # the representative refused to sign
    signed_at: datetime | None = None
    order: Order | None = None
    evaluation: Evaluation | None = None

    @property
    def findings(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.result == "non_compliant"]


@dataclass
class SelfCheck:
    started_at: datetime
    submitted_at: datetime
    answers: list[Answer]
    fixes: dict = field(default_factory=dict)  # item pk -> (fixed_at, note) of the issues fixed


@dataclass
class CreditEvent:
    kind: str  # penalty | dishonesty | refusal
    occurred_on: date
    recorded_by: int
    reference: str = ""
    note: str = ""
    ends_on: date | None = None


@dataclass
class LegacyVisit:
    inspected_on: date
    kind: str
    score: int
    findings: list[tuple[str, str, str]]  # (severity, violation type, description)


@dataclass
class Story:
    subject: Subject
    conduct: str
    visits: list[Visit] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    self_checks: list[SelfCheck] = field(default_factory=list)
    credit_events: list[CreditEvent] = field(default_factory=list)
    legacy: list[LegacyVisit] = field(default_factory=list)


# --- time and chance ---------------------------------------------------------------------------------------


def at_minute(day: date, minute_of_day: int) -> datetime:
    """``day`` at a minute of the local clock, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60)))


def at_work(rng: random.Random, day: date, start_hour: int = 9, end_hour: int = 17) -> datetime:
    """A moment of ``day`` in office hours (local time)."""
    return at_minute(day, rng.randint(start_hour * 60, end_hour * 60 - 1))


def between(
    rng: random.Random, start: datetime, end: datetime, low: float = 0.0, high: float = 1.0
) -> datetime:
    """A moment in the part [low, high] of (start, end), to the second."""
    seconds = (end - start).total_seconds()
    return start + timedelta(seconds=int(seconds * rng.uniform(low, high)))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count from ``rng.random()`` alone (Knuth), stable across Python versions."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def distinct_days(rng: random.Random, count: int, first: date, last: date, gap: int) -> list[date]:
    """Up to ``count`` days in [first, last], sorted, at least ``gap`` days apart."""
    span = (last - first).days
    if span < 0:
        return []
    days: list[date] = []
    for _attempt in range(count * 4):
        if len(days) == count:
            break
        day = first + timedelta(days=rng.randint(0, span))
        if all(abs((day - other).days) >= gap for other in days):
            days.append(day)
    return sorted(days)


def weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[key] for key in keys])[0]
