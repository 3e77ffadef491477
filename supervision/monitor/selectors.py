"""Reads for regulators watching the loop: closure and overdue counts per group, the ratings
businesses give inspections (一业一评), and the inspectors who may be sent to an enterprise.

Everything is aggregated in the database (conditional COUNTs, one GROUP BY per table) and
limited to the enterprises the user has in scope. The median time to close is an ordered-set
aggregate on PostgreSQL; elsewhere only the (group, duration) pairs of closed orders are fetched.
"""

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from core import permissions
from core.errors import DomainError
from core.models import Department, District, Enterprise, Inspector, Scene
from supervision.inspections.permissions import tasks_visible_to
from supervision.inspections.selectors import overdue_q
from supervision.models import Evaluation, InspectionTask, RectificationOrder

GROUPINGS = ("district", "scene", "department")
OVERDUE_LIST_SIZE = 50
Status = RectificationOrder.Status

# District paths are "<city>/<district>/<street>/" with 6-digit city and district codes (the
# District.code validator), so the first 14 characters name the district an order rolls up to,
# streets included. An enterprise registered at city level keeps the 7-character city path.
_DISTRICT_PATH_LENGTH = 14

_DURATION = ExpressionWrapper(F("closed_at") - F("issued_at"), output_field=DurationField())
_CLOSED = Q(status=Status.CLOSED, closed_at__isnull=False)


class MonitorError(DomainError):
    status = 400


class _Median(Aggregate):
    """percentile_cont(0.5): the mean of the two middle values for an even count, like statistics.median."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = DurationField()


def _median_in_database() -> bool:
    return connection.vendor == "postgresql"


def _days(value: timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 86400).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- filters -------------------------------------------------------------------------------------------


EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)


def date_range_parse(*, start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """``?from=&to=`` as dates (both inclusive); empty means open-ended."""
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError:
        raise MonitorError(_("Give dates as YYYY-MM-DD."), code="invalid_date") from None
    # Days outside what the records can hold would overflow the conversion to local midnight.
    if any(day and not EARLIEST <= day <= LATEST for day in (first, last)):
        raise MonitorError(
            _("Give dates between %(earliest)s and %(latest)s.") % {"earliest": EARLIEST, "latest": LATEST},
            code="invalid_date",
        )
    if first and last and last < first:
        raise MonitorError(_("The date range ends before it starts."), code="invalid_range")
    return first, last


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _range_q(field: str, first: date | None, last: date | None) -> Q:
    # Bounds as local-midnight instants (not __date lookups) so that the index on the column serves.
    q = Q()
    if first:
        q &= Q(**{f"{field}__gte": _day_start(first)})
    if last:
        q &= Q(**{f"{field}__lt": _day_start(last + timedelta(days=1))})
    return q


def _enterprise_q(user, prefix: str) -> Q:
    scope = permissions.enterprise_scope_q(user)
    if scope is None:
        return Q()
    return Q(**{f"{prefix}enterprise__in": Enterprise.objects.filter(scope)})


def orders_in_scope(*, user, issued_from: date | None = None, issued_to: date | None = None):
    return RectificationOrder.objects.filter(
        _enterprise_q(user, ""), _range_q("issued_at", issued_from, issued_to)
    )


# --- the loop monitor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopRow:
    key: object
    label: str
    open: int
    overdue: int
    closed: int
    closed_on_time: int
    escalated: int
    median_days: Decimal | None

    @property
    def closed_on_time_pct(self) -> Decimal | None:
        return _percent(self.closed_on_time, self.closed)


@dataclass(frozen=True)
class LoopTable:
    by: str
    rows: list[LoopRow]
    totals: LoopRow


def _group_expression(by: str):
    if by == "district":
        return Substr("enterprise__district__path", 1, _DISTRICT_PATH_LENGTH)
    if by == "scene":
        return F("enterprise__scene")
    return F("inspection__task__department")


def _group_labels(by: str, keys: list) -> dict:
    """Key -> (sort key, label). Labels follow the active language (BilingualName.display_name)."""
    if by == "district":
        rows = District.objects.filter(path__in=keys)
        return {d.path: (d.code, d.display_name) for d in rows}
    model = Scene if by == "scene" else Department
    return {row.pk: (row.code, row.display_name) for row in model.objects.filter(pk__in=keys)}


def _metrics(now: datetime) -> dict:
    return {
        "open": Count("pk", filter=Q(status__in=(Status.ISSUED, Status.SUBMITTED, Status.RETURNED))),
        "overdue": Count("pk", filter=overdue_q(now=now)),
        "closed": Count("pk", filter=Q(status=Status.CLOSED)),
        "closed_on_time": Count("pk", filter=_CLOSED & Q(closed_at__lte=F("deadline"))),
        "escalated": Count("pk", filter=Q(status=Status.ESCALATED)),
    }


def loop_monitor(
    *,
    user,
    by: str,
    now: datetime,
    issued_from: date | None = None,
    issued_to: date | None = None,
) -> LoopTable:
    """Per group and in total: open, overdue (at ``now``), closed, closed within the deadline,
    escalated, and the median days from issue to close. Groups without orders are not listed."""
    if by not in GROUPINGS:
        raise MonitorError(_("Group by district, scene or department."), code="invalid_grouping")
    orders = orders_in_scope(user=user, issued_from=issued_from, issued_to=issued_to)
    metrics = _metrics(now)
    if _median_in_database():
        metrics["median"] = _Median(_DURATION, filter=_CLOSED)
    grouped = list(
        orders.annotate(group=_group_expression(by)).values("group").annotate(**metrics).order_by("group")
    )
    totals = orders.aggregate(**metrics)
    if not _median_in_database():
        durations: dict[object, list[float]] = {}
        closed = orders.filter(_CLOSED).annotate(group=_group_expression(by), duration=_DURATION)
        for group, duration in closed.values_list("group", "duration").iterator(chunk_size=5000):
            durations.setdefault(group, []).append(duration.total_seconds())
        for row in grouped:
            values = durations.get(row["group"])
            row["median"] = timedelta(seconds=statistics.median(values)) if values else None
        everything = [seconds for values in durations.values() for seconds in values]
        totals["median"] = timedelta(seconds=statistics.median(everything)) if everything else None

    labels = _group_labels(by, [row["group"] for row in grouped])

    def make(key, label, values) -> LoopRow:
        return LoopRow(
            key=key,
            label=label,
            open=values["open"],
            overdue=values["overdue"],
            closed=values["closed"],
            closed_on_time=values["closed_on_time"],
            escalated=values["escalated"],
            median_days=_days(values["median"]),
        )

    rows = [make(row["group"], labels.get(row["group"], ("", str(row["group"])))[1], row) for row in grouped]
    rows.sort(key=lambda row: labels.get(row.key, (str(row.key), ""))[0])
    return LoopTable(by=by, rows=rows, totals=make(None, _("Total"), totals))


def overdue_orders(
    *,
    user,
    now: datetime,
    issued_from: date | None = None,
    issued_to: date | None = None,
    limit: int = OVERDUE_LIST_SIZE,
) -> list[RectificationOrder]:
    """The longest-overdue orders first (served by the (status, deadline) index)."""
    return list(
        orders_in_scope(user=user, issued_from=issued_from, issued_to=issued_to)
        .filter(overdue_q(now=now))
        .select_related("enterprise__district", "enterprise__scene")
        .order_by("deadline", "pk")[:limit]
    )


# --- ratings (一业一评) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingRow:
    key: int
    label: str
    department: str
    count: int
    low: int
    mean: Decimal | None

    @property
    def low_pct(self) -> Decimal | None:
        return _percent(self.low, self.count)


def _evaluations(*, user, created_from: date | None, created_to: date | None) -> QuerySet[Evaluation]:
    return Evaluation.objects.filter(
        _enterprise_q(user, "inspection__"), _range_q("created_at", created_from, created_to)
    )


_RATING_METRICS = {
    "count": Count("pk"),
    "low": Count("pk", filter=Q(rating__lte=2)),
    "mean": Avg("rating"),
}


def _mean(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ratings_by_inspector_qs(*, user, created_from: date | None = None, created_to: date | None = None):
    """One row per inspector: an evaluation counts for every inspector of the rated inspection's task.
    Values rows (inspector id and the metrics), worst mean first, for paging; see ratings_rows."""
    return (
        _evaluations(user=user, created_from=created_from, created_to=created_to)
        .values(inspector=F("inspection__task__inspectors"))
        .annotate(**_RATING_METRICS)
        .order_by("mean", "-count", "inspector")
    )


def ratings_rows(values: list[dict]) -> list[RatingRow]:
    """Name the inspectors of a page of ratings_by_inspector_qs rows (one query)."""
    inspectors = Inspector.objects.select_related("user", "department").in_bulk(
        [row["inspector"] for row in values]
    )
    rows = []
    for row in values:
        inspector = inspectors.get(row["inspector"])
        rows.append(
            RatingRow(
                key=row["inspector"],
                label=str(inspector) if inspector else str(row["inspector"]),
                department=inspector.department.display_name if inspector else "",
                count=row["count"],
                low=row["low"],
                mean=_mean(row["mean"]),
            )
        )
    return rows


def ratings_by_department(
    *, user, created_from: date | None = None, created_to: date | None = None
) -> list[RatingRow]:
    """One row per department of the rated inspections' tasks (each evaluation counts once)."""
    values = list(
        _evaluations(user=user, created_from=created_from, created_to=created_to)
        .values(department=F("inspection__task__department"))
        .annotate(**_RATING_METRICS)
        .order_by("department")
    )
    departments = Department.objects.in_bulk([row["department"] for row in values])
    rows = [
        RatingRow(
            key=row["department"],
            label=departments[row["department"]].display_name,
            department=departments[row["department"]].display_name,
            count=row["count"],
            low=row["low"],
            mean=_mean(row["mean"]),
        )
        for row in values
    ]
    rows.sort(key=lambda row: departments[row.key].code)
    return rows


# --- planning -----------------------------------------------------------------------------------------


# The jurisdiction rule lives in core.permissions; the planning form reads it from there.
inspectors_for_enterprise = permissions.inspectors_with_jurisdiction


def tasks_in_scope(*, user, status: str | None = None) -> QuerySet[InspectionTask]:
    tasks = tasks_visible_to(user)
    if status:
        tasks = tasks.filter(status=status)
    return (
        tasks.select_related("enterprise", "department")
        .prefetch_related("inspectors__user")
        .order_by("-created_at", "-pk")
    )
