"""The inspectors' consistency report (supervision/monitor/consistency.py and its page): the
statistics on hand-computed examples, the strata known before the visit, the flags, who sees
which inspectors, the filters' refusals, the period's default on a frozen clock, the CSV, the
page's query count, and that nothing that scores enterprises reads it."""

import ast
import csv
import io
import itertools
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from core.models import AuditEvent, Department, District, Scene
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import Finding, Inspection, InspectionAnswer, InspectionTask, Result
from supervision.monitor import consistency
from supervision.monitor.consistency import (
    AS_EXPECTED,
    LENIENT,
    STRICTER,
    TOO_FEW,
    consistency_report,
    judge,
    poisson_interval,
)
from tests.factories import EnterpriseFactory, InspectorFactory, RegulatorFactory, UserFactory, make_checklist

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=TZ)
URL = "/monitor/consistency/"
PERIOD = {"first": date(2025, 1, 1), "last": date(2025, 6, 30)}
_days = itertools.count()


def read_csv(response) -> list[list[str]]:
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


class Visits:
    """Submitted inspections built straight with the ORM: a task with its inspectors, the
    inspection, and a finding per severity given (on the catering checklist's items)."""

    def __init__(self):
        self.creator = UserFactory(username="planner")
        self.items = list(make_checklist("catering", "market_regulation", items=3).items.order_by("position"))

    def __call__(
        self,
        inspectors,
        *severities: str,
        enterprise=None,
        at: datetime | None = None,
        department: str = "market_regulation",
        source: str = InspectionTask.Source.MANUAL,
    ) -> Inspection:
        enterprise = enterprise or EnterpriseFactory()
        # A distinct instant per visit in the period (order matters for "earlier" only when asked).
        at = at or datetime(2025, 3, 1, 9, 0, tzinfo=TZ).replace(minute=next(_days) % 60)
        task = InspectionTask.objects.create(
            enterprise=enterprise,
            department=Department.objects.get(code=department),
            source=source,
            due_from=at.date(),
            due_to=at.date(),
            status=InspectionTask.Status.DONE,
            created_by=self.creator,
        )
        task.inspectors.set(inspectors)
        inspection = Inspection.objects.create(
            task=task,
            enterprise=enterprise,
            started_by=self.creator,
            status=Inspection.Status.SUBMITTED,
            submitted_at=at,
        )
        for item, severity in zip(self.items, severities, strict=False):
            answer = InspectionAnswer.objects.create(
                inspection=inspection, item=item, result=Result.NON_COMPLIANT, updated_by=self.creator
            )
            Finding.objects.create(inspection=inspection, answer=answer, item=item, severity=severity)
        return inspection

    def many(self, inspectors, count: int, recorded: int, severity: str = "critical", **kwargs) -> None:
        """``count`` visits to fresh enterprises, the first ``recorded`` of them with a finding."""
        for index in range(count):
            self(inspectors, *([severity] if index < recorded else []), **kwargs)


@pytest.fixture(autouse=True)
def frozen():
    # The page's default period is the last 12 months; the visits are in the first half of 2025.
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture(autouse=True)
def _english_pages(client):
    # Pages speak Chinese by default; the assertions read the English source strings.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def visits(db):
    return Visits()


def inspector(name: str, department: str = "market_regulation", districts=("110105",)):
    return InspectorFactory(
        user=UserFactory(username=name, first_name=name),
        department=Department.objects.get(code=department),
        districts=list(districts),
    )


def by_inspector(rows) -> dict:
    return {row.inspector_id: row for row in rows}


# --- the statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "lower", "upper"),
    [
        # Exact (Garwood) 95% limits for a Poisson count, as tabulated (e.g. Ulm 1990, Table 1).
        (0, 0.0, 3.689),
        (1, 0.0253, 5.572),
        (2, 0.2422, 7.225),
        (4, 1.090, 10.242),
        (10, 4.795, 18.390),
        (15, 8.395, 24.740),
        (100, 81.364, 121.627),
    ],
)
def test_the_poisson_interval_matches_the_tables(observed, lower, upper):
    low, high = poisson_interval(observed)
    assert low == pytest.approx(lower, abs=5e-4)
    assert high == pytest.approx(upper, abs=5e-4)


def test_the_poisson_interval_holds_for_large_counts():
    # Against the normal approximation, which is good at this size.
    low, high = poisson_interval(10_000)
    assert low == pytest.approx(10_000 - 1.96 * 100, abs=2)
    assert high == pytest.approx(10_001 + 1.96 * 100, abs=2)


@pytest.mark.parametrize(
    ("observed", "expected", "inspections", "flag"),
    [
        (10, 4.0, 20, STRICTER),  # interval 1.20 - 4.60
        (10, 5.0, 20, AS_EXPECTED),  # interval 0.96 - 3.68
        (0, 4.0, 20, LENIENT),  # interval 0 - 0.92
        (0, 3.0, 20, AS_EXPECTED),  # interval 0 - 1.23
        (10, 4.0, 19, TOO_FEW),  # strict, but under the minimum
        (0, 4.0, 19, TOO_FEW),
        (3, 0.0, 20, STRICTER),  # nobody else recorded any
        (0, 0.0, 20, AS_EXPECTED),
    ],
)
def test_the_flags(observed, expected, inspections, flag):
    assert judge(observed=observed, expected=expected, inspections=inspections, minimum=20).flag == flag


def test_the_ratio_and_its_interval():
    verdict = judge(observed=10, expected=4.0, inspections=20, minimum=20)
    assert verdict.ratio == 2.5
    assert verdict.lower == pytest.approx(4.795 / 4, abs=1e-3)
    assert verdict.upper == pytest.approx(18.390 / 4, abs=1e-3)
    assert judge(observed=0, expected=0.0, inspections=20, minimum=20).ratio is None


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2025, 6, 30), date(2024, 7, 1)),
        (date(2025, 1, 1), date(2024, 1, 2)),
        (date(2024, 2, 29), date(2023, 3, 1)),
        (date(2025, 3, 1), date(2024, 3, 2)),
    ],
)
def test_the_default_period_is_the_last_12_months(today, first):
    assert consistency.default_period(today) == (first, today)


# --- the report on hand-computed examples -----------------------------------------------------------


def test_a_joint_inspection_counts_for_each_inspector_and_own_inspections_are_left_out(visits, admin_user):
    """One stratum (catering, market regulation, planned, no earlier inspection): 11 inspections,
    5 with a critical finding. X: 4 alone (3 found) and 1 joint with Y (found); Y: 4 alone (1 found)
    and the joint one; Z: 2 alone (none found).

    X: O = 4; others' inspections 11 - 5 = 6 with 5 - 4 = 1 found: E = 5 x 1/6 = 0.833, O/E = 4.8,
       interval (1.090, 10.242) / 0.833 = (1.308, 12.290): stricter (n = 5 >= 5).
    Y: O = 2; others 6 with 3 found: E = 5 x 0.5 = 2.5, O/E = 0.8, (0.097, 2.890): as expected.
    Z: O = 0; others 9 with 5 found: E = 2 x 5/9 = 1.111, upper 3.689 / 1.111 = 3.320: too few."""
    x, y, z = inspector("x"), inspector("y"), inspector("z")
    visits.many([x], 4, recorded=3)
    visits([x, y], "critical")
    visits.many([y], 4, recorded=1)
    visits.many([z], 2, recorded=0)

    rows = by_inspector(consistency_report(user=admin_user, minimum=5, **PERIOD))

    assert (rows[x.pk].inspections, rows[x.pk].observed) == (5, 4)
    assert rows[x.pk].expected == pytest.approx(5 / 6)
    assert rows[x.pk].ratio == pytest.approx(4.8)
    assert rows[x.pk].judgement.lower == pytest.approx(1.0899 * 6 / 5, abs=1e-3)
    assert rows[x.pk].judgement.upper == pytest.approx(10.2416 * 6 / 5, abs=1e-3)
    assert rows[x.pk].flag == STRICTER

    assert (rows[y.pk].inspections, rows[y.pk].observed, rows[y.pk].expected) == (5, 2, 2.5)
    assert rows[y.pk].ratio == pytest.approx(0.8)
    assert rows[y.pk].judgement.lower == pytest.approx(0.2422 / 2.5, abs=1e-3)
    assert rows[y.pk].judgement.upper == pytest.approx(7.2247 / 2.5, abs=1e-3)
    assert rows[y.pk].flag == AS_EXPECTED

    assert (rows[z.pk].inspections, rows[z.pk].observed) == (2, 0)
    assert rows[z.pk].expected == pytest.approx(10 / 9)
    assert rows[z.pk].ratio == 0
    assert rows[z.pk].judgement.upper == pytest.approx(3.6889 * 9 / 10, abs=1e-3)
    assert rows[z.pk].flag == TOO_FEW


def test_strict_lenient_and_as_expected_on_twenty_inspections_each(visits, admin_user):
    """60 inspections in one stratum, 22 found: K 15 of 20, L 0 of 20, M 7 of 20.
    K: others 40 with 7 found, E = 20 x 0.175 = 3.5, O/E = 4.29, lower 8.395 / 3.5 = 2.40: stricter.
    L: others 40 with 22 found, E = 11, upper 3.689 / 11 = 0.335: more lenient.
    M: others 40 with 15 found, E = 7.5, O/E = 0.93, (0.375, 1.923): as expected."""
    k, lenient, m = inspector("k"), inspector("l"), inspector("m")
    visits.many([k], 20, recorded=15)
    visits.many([lenient], 20, recorded=0)
    visits.many([m], 20, recorded=7)

    rows = by_inspector(consistency_report(user=admin_user, **PERIOD))

    assert rows[k.pk].expected == pytest.approx(3.5)
    assert rows[k.pk].judgement.lower == pytest.approx(8.3954 / 3.5, abs=1e-3)
    assert rows[k.pk].flag == STRICTER
    assert rows[lenient.pk].expected == pytest.approx(11)
    assert rows[lenient.pk].judgement.upper == pytest.approx(3.6889 / 11, abs=1e-3)
    assert rows[lenient.pk].flag == LENIENT
    assert rows[m.pk].expected == pytest.approx(7.5)
    assert rows[m.pk].ratio == pytest.approx(7 / 7.5)
    assert rows[m.pk].judgement.lower == pytest.approx(2.8144 / 7.5, abs=1e-3)
    assert rows[m.pk].judgement.upper == pytest.approx(14.4227 / 7.5, abs=1e-3)
    assert rows[m.pk].flag == AS_EXPECTED
    # The default minimum sample is 20: one fewer and nobody is flagged.
    fewer = by_inspector(consistency_report(user=admin_user, minimum=21, **PERIOD))
    assert {row.flag for row in fewer.values()} == {TOO_FEW}


def test_the_reason_for_the_visit_is_a_stratum(visits, admin_user):
    """Planned: A 2 (1 found), B 2 (0 found). Complaint: A 1 (found), B 3 (2 found).
    A: planned others 2 with 0 found -> 0; complaint others 3 with 2 -> 1 x 2/3: E = 0.667.
    B: planned others 2 with 1 -> 2 x 0.5 = 1; complaint others 1 with 1 -> 3 x 1: E = 4.
    (Pooled, A's E would be 3 x 2/5 = 1.2.)"""
    a, b = inspector("a"), inspector("b")
    visits.many([a], 2, recorded=1)
    visits.many([b], 2, recorded=0)
    visits.many([a], 1, recorded=1, source=InspectionTask.Source.COMPLAINT)
    visits.many([b], 3, recorded=2, source=InspectionTask.Source.COMPLAINT)

    rows = by_inspector(consistency_report(user=admin_user, **PERIOD))

    assert (rows[a.pk].observed, rows[a.pk].expected) == (2, pytest.approx(2 / 3))
    assert (rows[b.pk].observed, rows[b.pk].expected) == (2, pytest.approx(4))


def test_the_lead_department_and_the_scene_are_strata(visits, admin_user):
    """Catering / market regulation: A 2 (2 found), B 2 (0 found). Catering / fire: B 2 (2 found)
    and C 2 (2 found). Retail / market regulation: A 1 (0 found), C 1 (1 found).
    A: catering-MR others (B) 2 with 0 -> 0; retail others (C) 1 with 1 -> 1: E = 1, O = 2."""
    a, b, c = inspector("a"), inspector("b"), inspector("c")
    retail = Scene.objects.get(code="retail")
    visits.many([a], 2, recorded=2)
    visits.many([b], 2, recorded=0)
    visits.many([b], 2, recorded=2, department="fire_rescue")
    visits.many([c], 2, recorded=2, department="fire_rescue")
    visits([a], enterprise=EnterpriseFactory(scene=retail))
    visits([c], "critical", enterprise=EnterpriseFactory(scene=retail))

    rows = by_inspector(consistency_report(user=admin_user, **PERIOD))

    assert (rows[a.pk].inspections, rows[a.pk].observed, rows[a.pk].expected) == (3, 2, 1.0)
    # B: catering-MR others (A) 2 with 2 -> 2 x 1; fire others (C) 2 with 2 -> 2 x 1.
    assert (rows[b.pk].inspections, rows[b.pk].observed, rows[b.pk].expected) == (4, 2, 4.0)


def test_a_stratum_nobody_else_inspected_is_not_compared(visits, admin_user):
    a, b = inspector("a"), inspector("b")
    visits.many([a], 2, recorded=1)
    visits.many([b], 2, recorded=1)
    visits([a], "critical", source=InspectionTask.Source.REINSPECTION)  # only A re-inspected

    row = by_inspector(consistency_report(user=admin_user, **PERIOD))[a.pk]

    assert (row.inspections, row.observed, row.not_compared) == (2, 1, 1)
    assert row.expected == pytest.approx(1.0)


def test_the_severity_threshold(visits, admin_user):
    """Major or critical: A's major findings count too."""
    a, b = inspector("a"), inspector("b")
    visits.many([a], 3, recorded=3, severity="major")
    visits.many([b], 3, recorded=1)

    critical = by_inspector(consistency_report(user=admin_user, **PERIOD))
    serious = by_inspector(consistency_report(user=admin_user, severity="major", **PERIOD))

    assert (critical[a.pk].observed, critical[a.pk].expected) == (0, 1.0)
    assert (serious[a.pk].observed, serious[a.pk].expected) == (3, 1.0)
    assert serious[b.pk].expected == 3.0


def test_drafts_and_visits_outside_the_period_do_not_count(visits, admin_user):
    a = inspector("a")
    visits([a], "critical", at=datetime(2024, 12, 31, 23, 59, tzinfo=TZ))
    visits([a], at=datetime(2025, 1, 1, 0, 0, tzinfo=TZ))
    draft = visits([a], "critical")
    Inspection.objects.filter(pk=draft.pk).update(status=Inspection.Status.DRAFT)

    rows = consistency_report(user=admin_user, **PERIOD)

    assert [(row.inspections + row.not_compared, row.observed) for row in rows] == [(1, 0)]


# --- the history before the period: no look-ahead ---------------------------------------------------------


def history_by_scene(severity: str = "critical") -> dict:
    """The history column of the stratum totals of PERIOD, by scene."""
    rows = consistency._aggregates(
        **PERIOD, severities=consistency.SEVERITIES[severity], inspectors=Q(), visits=Q()
    )
    found: dict = {}
    for inspector_id, _department, scene, _source, history, *_counts in rows:
        if inspector_id is None:
            found.setdefault(Scene.objects.get(pk=scene).code, set()).add(history)
    return found


def test_the_history_is_the_record_before_the_period(visits):
    """The period starts on 1 January 2025 (local): midnight in Beijing is 16:00 UTC on 31 December.
    Each subject enterprise is of its own scene, so the strata tell them apart."""
    a = inspector("a")
    new, clean, found, imported, imported_on_the_first, found_in_the_period = (
        EnterpriseFactory(scene=Scene.objects.get(code=code))
        for code in ("catering", "retail", "hotel", "pharmacy", "entertainment", "childcare")
    )
    for enterprise in (new, clean, found, imported, imported_on_the_first, found_in_the_period):
        visits([a], enterprise=enterprise)
    visits([a], "major", enterprise=clean, at=datetime(2024, 12, 31, 23, 59, tzinfo=TZ))
    visits([a], "critical", enterprise=found, at=datetime(2024, 5, 1, tzinfo=TZ))
    # Just after the period began: an outcome of the period, not a prior.
    visits([a], "critical", enterprise=found_in_the_period, at=datetime(2025, 1, 1, 0, 1, tzinfo=TZ))
    old = HistoricalInspection.objects.create(
        enterprise=imported, source="lives", inspected_on=date(2024, 12, 31), kind="Routine"
    )
    HistoricalFinding.objects.create(inspection=old, severity="critical")
    first_day = HistoricalInspection.objects.create(
        enterprise=imported_on_the_first, source="lives", inspected_on=date(2025, 1, 1), kind="Routine"
    )
    HistoricalFinding.objects.create(inspection=first_day, severity="critical")

    assert history_by_scene() == {
        "catering": {consistency.HISTORY_NONE},
        "retail": {consistency.HISTORY_CLEAN},  # a major finding only
        "hotel": {consistency.HISTORY_FOUND},
        "pharmacy": {consistency.HISTORY_FOUND},
        "entertainment": {consistency.HISTORY_NONE},
        "childcare": {consistency.HISTORY_NONE},
    }
    assert history_by_scene("major")["retail"] == {consistency.HISTORY_FOUND}


def test_the_history_is_a_stratum(visits, admin_user):
    """A: 2 visits to enterprises with a critical finding before the period (both found); B: 2 such
    (1 found) and 2 to enterprises without a record (0 found). A: others' "found" stratum rate
    1/2, E = 1; pooled it would be 1/4 x 2 = 0.5."""
    a, b, earlier = inspector("a"), inspector("b"), inspector("earlier")
    risky = [EnterpriseFactory() for _ in range(4)]
    for enterprise in risky:
        visits([earlier], "critical", enterprise=enterprise, at=datetime(2024, 6, 1, tzinfo=TZ))
    visits([a], "critical", enterprise=risky[0])
    visits([a], "critical", enterprise=risky[1])
    visits([b], "critical", enterprise=risky[2])
    visits([b], enterprise=risky[3])
    visits.many([b], 2, recorded=0)

    row = by_inspector(consistency_report(user=admin_user, **PERIOD))[a.pk]

    assert (row.inspections, row.observed, row.expected) == (2, 2, 1.0)


# --- who sees whom -------------------------------------------------------------------------------------


@pytest.fixture
def teams(visits):
    """Chaoyang market regulation (cy: 3 visits in Chaoyang), Dongcheng market regulation (dc: 3 in
    Chaoyang, 3 in Dongcheng), Chaoyang fire (fire: 3 in Chaoyang, fire's own tasks); all catering."""
    cy, dc, fire = inspector("cy"), inspector("dc", districts=("110101",)), inspector("fire", "fire_rescue")
    dongcheng = District.objects.get(code="110101")
    visits.many([cy], 3, recorded=1)
    visits.many([dc], 3, recorded=2)
    for index in range(3):
        visits([dc], *(["critical"] if index < 2 else []), enterprise=EnterpriseFactory(district=dongcheng))
    visits.many([fire], 3, recorded=1, department="fire_rescue")
    return {"cy": cy, "dc": dc, "fire": fire}


def listed(client, user, query: str = "") -> set[str]:
    client.force_login(user)
    response = client.get(URL + query)
    assert response.status_code == 200
    return {row.label for row in response.context["rows"]}


def test_a_regulator_sees_the_inspectors_of_their_department_in_their_scope(client, teams, regulator_user):
    # Market regulation, the whole city: its own inspectors, not the fire inspector.
    assert listed(client, regulator_user) == {str(teams["cy"]), str(teams["dc"])}


def test_a_district_regulator_sees_only_visits_in_their_district(client, teams):
    chaoyang_mr = RegulatorFactory(district=District.objects.get(code="110105")).user
    response_rows = listed(client, chaoyang_mr)
    assert response_rows == {str(teams["cy"]), str(teams["dc"])}  # dc also visited Chaoyang
    rows = {row.label: row for row in client.get(URL).context["rows"]}
    assert rows[str(teams["dc"])].inspections + rows[str(teams["dc"])].not_compared == 3
    dongcheng_only = RegulatorFactory(district=District.objects.get(code="110101")).user
    assert listed(client, dongcheng_only) == {str(teams["dc"])}
    haidian = RegulatorFactory(district=District.objects.get(code="110108")).user
    assert listed(client, haidian) == set()


def test_another_department_does_not_see_them(client, teams, health_regulator):
    assert listed(client, health_regulator) == set()


def test_the_fire_department_sees_its_own(client, teams):
    fire_regulator = RegulatorFactory(department=Department.objects.get(code="fire_rescue")).user
    assert listed(client, fire_regulator) == {str(teams["fire"])}


def test_an_admin_sees_everyone_and_filters_by_department_and_district(client, teams, admin_user):
    assert listed(client, admin_user) == {str(teams[name]) for name in ("cy", "dc", "fire")}
    assert listed(client, admin_user, "?department=fire_rescue") == {str(teams["fire"])}
    assert listed(client, admin_user, "?district=110101") == {str(teams["dc"])}


def test_the_reference_is_the_same_whoever_looks(client, teams, admin_user, regulator_user):
    """The expected rates come from every inspection of the period: a narrower scope changes whose
    rows are shown, not the figures of a row."""
    client.force_login(admin_user)
    everyone = {row.label: row.expected for row in client.get(URL).context["rows"]}
    client.force_login(regulator_user)
    mine = {row.label: row.expected for row in client.get(URL).context["rows"]}
    assert mine == {label: everyone[label] for label in mine}


@pytest.mark.parametrize("query", ["", "?format=csv"])
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        (None, 302),
        ("business_user", 404),
        ("inspector_user", 404),
        ("outsider", 404),
        ("regulator_user", 200),
        ("admin_user", 200),
    ],
)
def test_permissions(db, client, request, query, persona, expected):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    response = client.get(URL + query)
    assert response.status_code == expected
    if persona is None:
        assert response["Location"].startswith(reverse("login"))


def test_an_inspector_in_the_report_does_not_see_it(client, teams):
    client.force_login(teams["cy"].user)
    assert client.get(URL).status_code == 404


def test_a_district_regulator_cannot_choose_another_district_or_department(client, teams):
    chaoyang_mr = RegulatorFactory(district=District.objects.get(code="110105")).user
    client.force_login(chaoyang_mr)
    response = client.get(URL + "?district=110101")
    assert response.status_code == 400
    assert "Choose a district from the list." in response.content.decode()
    assert client.get(URL + "?department=fire_rescue").status_code == 400
    assert client.get(URL + "?district=110105001").status_code == 200


# --- the filters' refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2025-13-01", "Give dates as YYYY-MM-DD."),
        ("?to=yesterday", "Give dates as YYYY-MM-DD."),
        ("?from=2025-01-01%00", "control character"),  # refused at the door (core.middleware)
        ("?from=0001-01-01", "Give a date between 1990-01-01 and 2100-12-31."),
        ("?to=9999-12-31", "Give a date between 1990-01-01 and 2100-12-31."),
        ("?from=2025-06-01&to=2025-05-01", "The date range ends before it starts."),
        ("?department=nonexistent", "Choose a department from the list."),
        ("?department=market%00regulation", "control character"),  # refused at the door (core.middleware)
        ("?district=%00", "control character"),  # refused at the door (core.middleware)
        ("?district=999999", "Choose a district from the list."),
        ("?severity=minor", "Choose a severity from the list."),
        ("?severity=%00", "control character"),  # refused at the door (core.middleware)
        ("?minimum=abc", "Give the minimum number of inspections as a whole number."),
        ("?minimum=%00", "control character"),  # refused at the door (core.middleware)
        ("?minimum=2", "The minimum number of inspections is at least 5."),
        ("?minimum=100000", "The minimum number of inspections is at most 1000."),
    ],
)
def test_bad_filters_are_refused_on_the_page(client, admin_user, query, message):
    client.force_login(admin_user)
    for suffix in ("", "&format=csv"):
        response = client.get(URL + query + suffix)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(action="export.inspector_consistency").exists()


def test_a_bad_sort_or_page_falls_back(client, teams, admin_user):
    client.force_login(admin_user)
    for query in ("?sort=inspector", "?page=abc"):
        response = client.get(URL + query)
        assert response.status_code == 200
        assert response.context["sort"] == "-ratio"
    # A NUL is no sort or page to fall back from: refused at the door (core.middleware), never a 500.
    for query in ("?sort=%00", "?page=%00"):
        response = client.get(URL + query)
        assert response.status_code == 400
        assert "control character" in response.content.decode()


# --- the period's default, on a frozen clock -------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "first", "last"),
    [
        # 23:30 in Beijing is 15:30 UTC, the same day.
        (datetime(2024, 12, 31, 23, 30, tzinfo=TZ), "2024-01-01", "2024-12-31"),
        # 00:30 in Beijing is 16:30 UTC the day before: the local day has already turned.
        (datetime(2025, 1, 1, 0, 30, tzinfo=TZ), "2024-01-02", "2025-01-01"),
    ],
)
def test_the_default_period_is_the_last_12_months_in_local_days(
    client, visits, admin_user, clock, first, last
):
    a, b = inspector("a"), inspector("b")
    # Either side of local midnight starting 2024-01-02: 15:50 and 16:10 UTC on 1 January.
    visits([a], "critical", at=datetime(2024, 1, 1, 23, 50, tzinfo=TZ))
    visits([a], at=datetime(2024, 1, 2, 0, 10, tzinfo=TZ))
    visits([b], at=datetime(2024, 6, 1, 10, 0, tzinfo=TZ))
    client.force_login(admin_user)
    with time_machine.travel(clock, tick=False):
        response = client.get(URL)
    assert response.status_code == 200
    assert (response.context["values"]["from"], response.context["values"]["to"]) == (first, last)
    rows = {row.label: row for row in response.context["rows"]}
    a_row = rows[str(a)]
    if first == "2024-01-01":
        assert (a_row.inspections + a_row.not_compared, a_row.observed) == (2, 1)
    else:
        assert (a_row.inspections + a_row.not_compared, a_row.observed) == (1, 0)


def test_one_end_of_the_period_given(client, admin_user):
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        only_to = client.get(URL + "?to=2025-03-31").context["values"]
        only_from = client.get(URL + "?from=2025-03-01").context["values"]
    assert (only_to["from"], only_to["to"]) == ("2024-04-01", "2025-03-31")
    assert (only_from["from"], only_from["to"]) == ("2025-03-01", "2025-06-30")


# --- the page, its sorting, paging and CSV ----------------------------------------------------------------


@pytest.fixture
def ranked(visits):
    """K stricter, L more lenient, M as expected (see test_strict_lenient_and_as_expected...)."""
    people = {name: inspector(name) for name in ("k", "l", "m")}
    visits.many([people["k"]], 20, recorded=15)
    visits.many([people["l"]], 20, recorded=0)
    visits.many([people["m"]], 20, recorded=7)
    return people


def test_the_page_shows_the_figures_the_flags_and_the_method(client, ranked, regulator_user):
    client.force_login(regulator_user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert [row.label for row in response.context["rows"]] == [str(ranked[n]) for n in ("k", "m", "l")]
    assert "Stricter than expected" in html
    assert "More lenient than expected" in html
    assert "Within the expected range" in html
    assert "4.29" in html  # K: 15 / 3.5
    assert "at least 20 compared inspections" in html
    assert "never feeds an enterprise" in html
    assert 'aria-current="page"' in html and reverse("monitor:consistency") in html


def test_sorting_by_ratio_and_by_n(client, visits, ranked, admin_user):
    small = inspector("small")
    visits.many([small], 2, recorded=2)
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):

        def order(sort):
            return [row.label for row in client.get(URL + f"?sort={sort}").context["rows"]]

        assert order("ratio")[0] == str(ranked["l"])
        assert order("-ratio")[-1] == str(ranked["l"])
        assert order("-n")[-1] == str(small)
        assert order("n")[0] == str(small)


def test_the_list_is_paginated(client, visits, admin_user, monkeypatch):
    from supervision.monitor import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for name in ("p1", "p2", "p3"):
        visits.many([inspector(name)], 2, recorded=1)
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        first = client.get(URL + "?sort=n")
        second = client.get(URL + "?sort=n&page=2")
    assert len(first.context["rows"]) == 2 and first.context["page"].has_next
    assert len(second.context["rows"]) == 1 and not second.context["page"].has_next
    assert "sort=n&amp;page=2" in first.content.decode()


def test_the_csv_has_every_row_and_is_audited(client, ranked, regulator_user):
    client.force_login(regulator_user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(URL + "?minimum=20&sort=-n&format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="inspector-consistency-2025-06-30.csv"'
    header, *lines = read_csv(response)
    assert header[:4] == ["Inspector", "Department", "Inspections compared", "Not compared"]
    k = next(line for line in lines if line[0] == str(ranked["k"]))
    assert k[2:] == ["20", "0", "15", "3.500", "4.286", "2.399", "7.069", "Stricter than expected"]
    assert len(lines) == 3
    event = AuditEvent.objects.get(action="export.inspector_consistency")
    assert event.data == {
        "from": "2024-07-01",
        "to": "2025-06-30",
        "severity": "critical",
        "department": None,
        "district": None,
        "minimum": 20,
        "sort": "-n",
        "rows": 3,
    }


def test_viewing_the_page_is_not_an_export(client, ranked, regulator_user):
    client.force_login(regulator_user)
    client.get(URL)
    assert not AuditEvent.objects.filter(action="export.inspector_consistency").exists()


def test_the_queries_do_not_grow_with_inspectors_or_inspections(
    client, visits, admin_user, regulator_user, django_assert_max_num_queries
):
    for index in range(12):
        visits.many([inspector(f"q{index}"), inspector(f"r{index}")], 3, recorded=index % 3)
    for user in (admin_user, regulator_user):
        client.force_login(user)
        # Session, user, roles (3), the filters' departments and districts, the one statement of
        # the report, the names of the page's inspectors, and the header's unread-notifications
        # COUNT that every signed-in page pays once (issue 18; not rendered for the CSV below).
        with django_assert_max_num_queries(10):
            assert client.get(URL).status_code == 200
        # The same, and the audit chain's (lock the head, write the event, move the head).
        with django_assert_max_num_queries(14):
            assert client.get(URL + "?format=csv").status_code == 200


# --- it never feeds a score ---------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_nothing_outside_the_monitor_reads_the_report():
    """The report is for regulators only: no score, ranking, plan or draw may read it (the features
    contract of import-linter already keeps supervision.risk from importing the monitor at all,
    inside functions too)."""
    root = Path(settings.BASE_DIR)
    monitor = root / "supervision" / "monitor"
    readers = [
        str(path.relative_to(root))
        for package in ("core", "checklists", "history", "supervision", "planning", "demo", "config")
        for path in (root / package).rglob("*.py")
        if not path.is_relative_to(monitor)
        and any(name.startswith("supervision.monitor.consistency") for name in _imports(path))
    ]
    assert readers == []
    scoring = [
        str(path.relative_to(root))
        for path in (root / "supervision" / "risk").rglob("*.py")
        if any(name.startswith("supervision.monitor") for name in _imports(path))
    ]
    assert scoring == []
