"""The back-test page: who may use it, running one or two policies, the chart, calibrating."""

import copy
from datetime import date, timedelta

import pytest
from django.urls import reverse

from core.models import District
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import BacktestRun, ScoringPolicy
from supervision.risk import scoring
from tests.factories import EnterpriseFactory, RegulatorFactory

pytestmark = pytest.mark.django_db

START = date(2015, 9, 1)


def inspect(enterprise, on: date, *severities: str) -> None:
    inspection = HistoricalInspection.objects.create(
        enterprise=enterprise, source="lives", inspected_on=on, kind="Routine - Unscheduled"
    )
    for severity in severities:
        HistoricalFinding.objects.create(inspection=inspection, severity=severity)


@pytest.fixture
def client(client):
    """The page texts these tests read are the English ones."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def history():
    """Ten restaurants; the five with an earlier critical violation have another in the window."""
    for n in range(10):
        shop = EnterpriseFactory()
        repeat = n % 2 == 0
        inspect(shop, START - timedelta(days=120 + n), *(["critical"] if repeat else ["minor"]))
        inspect(shop, START - timedelta(days=60 + n), *(["critical"] if repeat else []))
        inspect(shop, START + timedelta(days=n * 3), *(["critical"] if repeat else ["minor"]))


@pytest.fixture
def candidate():
    weights = {**scoring.DEFAULT_WEIGHTS, "violations": 60}
    return scoring.policy_create(
        actor=None,
        weights=weights,
        params=copy.deepcopy(scoring.DEFAULT_PARAMS),
        note="more violations",
        adopt=False,
    )


@pytest.fixture
def city_regulator(db):
    """A market-regulation lead for the whole city: may manage scoring."""
    return RegulatorFactory(district=None).user


@pytest.fixture
def district_regulator(db):
    return RegulatorFactory(district=District.objects.get(code="110105")).user


INDEX = reverse("backtest:index")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin_user", 200),
        ("city_regulator", 200),
        ("district_regulator", 403),
        ("inspector_user", 403),
        ("business_user", 403),
        ("outsider", 403),
    ],
)
def test_only_those_who_manage_scoring_reach_the_page(client, request, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(INDEX).status_code == status
    # Past the gate a form without history is refused by the service (422 / 400), never 403.
    posts = [
        client.post(INDEX, {"start": "2015-09-01", "days": "30", "a": "1"}),
        client.post(reverse("backtest:calibrate"), {"before": "2015-09-01"}),
        client.get(reverse("backtest:detail", kwargs={"pk": 1})),
    ]
    assert [r.status_code == 403 for r in posts] == [status == 403] * 3


def test_anonymous_users_are_sent_to_sign_in(client):
    for response in (
        client.get(INDEX),
        client.post(INDEX, {"start": "2015-09-01", "days": "30"}),
        client.post(reverse("backtest:calibrate"), {"before": "2015-09-01"}),
        client.get(reverse("backtest:detail", kwargs={"pk": 1})),
    ):
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_refused_users_start_nothing(client, history, inspector_user):
    client.force_login(inspector_user)
    client.post(INDEX, {"start": "2015-09-01", "days": "30", "a": "1"})
    client.post(reverse("backtest:calibrate"), {"before": "2015-09-01"})
    assert BacktestRun.objects.count() == 0
    assert ScoringPolicy.objects.filter(adopted_at__isnull=True).count() == 0


def test_it_runs_two_policies_side_by_side_and_draws_the_chart(client, history, candidate, city_regulator):
    current = scoring.current_policy()
    client.force_login(city_regulator)
    response = client.post(
        INDEX, {"start": "2015-09-01", "days": "30", "a": current.version, "b": candidate.version}
    )

    a, b = BacktestRun.objects.order_by("pk")
    assert (a.policy, b.policy) == (current, candidate)
    assert a.created_by == city_regulator and a.start == START and a.days == 30
    assert response.status_code == 302
    assert response.url == reverse("backtest:detail", kwargs={"pk": a.pk}) + f"?vs={b.pk}"
    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "10 inspections of 10 enterprises; 5 found a critical violation" in html
    assert f"v{current.version}" in html and f"v{candidate.version}" in html
    for series in ("actual", "random", "a", "b"):
        assert f'class="series-{series}"' in html
    assert f"{a.result['auc']:.3f}" in html and f"{a.result['days_earlier']:+.2f}" in html
    # The past runs list both.
    listing = client.get(INDEX).content.decode()
    assert f"#{a.pk}" in listing and f"#{b.pk}" in listing


def test_one_policy_draws_one_ranked_line(client, history, city_regulator):
    client.force_login(city_regulator)
    response = client.post(
        INDEX, {"start": "2015-09-01", "days": "30", "a": scoring.current_policy().version}
    )
    html = client.get(response.url).content.decode()
    assert 'class="series-a"' in html and 'class="series-b"' not in html


def test_a_run_of_another_window_is_not_compared(client, history, candidate, city_regulator):
    client.force_login(city_regulator)
    client.post(INDEX, {"start": "2015-09-01", "days": "30", "a": scoring.current_policy().version})
    client.post(INDEX, {"start": "2015-09-01", "days": "20", "a": candidate.version})
    first, second = BacktestRun.objects.order_by("pk")
    html = client.get(
        reverse("backtest:detail", kwargs={"pk": first.pk}) + f"?vs={second.pk}"
    ).content.decode()
    assert 'class="series-b"' not in html


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"start": "2015-13-01", "days": "30"}, "as a date"),
        ({"start": "2015-09-01", "days": "0"}, "from 1 to 366"),
        ({"start": "2015-09-01", "days": "400"}, "from 1 to 366"),
        ({"start": "2015-09-01", "days": "30", "a": "999"}, "Choose a policy version"),
        ({"start": "2016-09-01", "days": "30"}, "No inspections between 2016-09-01 and 2016-09-30"),
    ],
)
def test_bad_input_is_shown_on_the_form(client, history, city_regulator, form, message):
    client.force_login(city_regulator)
    data = {"a": str(scoring.current_policy().version), **form}
    response = client.post(INDEX, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert BacktestRun.objects.count() == 0


def test_calibrate_creates_a_candidate_and_offers_to_compare_it(client, history, city_regulator):
    client.force_login(city_regulator)
    current = scoring.current_policy()
    response = client.post(
        reverse("backtest:calibrate"), {"before": "2015-09-01", "months": "3", "note": "q3"}
    )

    candidate = ScoringPolicy.objects.get(adopted_at__isnull=True)
    assert candidate.created_by == city_regulator and candidate.note.startswith("q3 | calibrated")
    assert response.status_code == 302
    page = client.get(response.url)
    html = page.content.decode()
    assert f"Candidate version {candidate.version} was fitted" in html
    assert f'<option value="{candidate.version}" selected>' in html
    assert f'<option value="{current.version}" selected>' in html


def test_calibrate_shows_why_it_cannot_fit(client, city_regulator):
    shop = EnterpriseFactory()
    inspect(shop, date(2015, 1, 1))
    inspect(shop, date(2015, 7, 10))
    client.force_login(city_regulator)
    response = client.post(reverse("backtest:calibrate"), {"before": "2015-09-01", "months": "1"})
    assert response.status_code == 422
    assert "a fit needs both kinds" in response.content.decode()
    assert not ScoringPolicy.objects.filter(adopted_at__isnull=True).exists()


def test_a_run_that_does_not_exist_is_404(client, city_regulator):
    client.force_login(city_regulator)
    assert client.get(reverse("backtest:detail", kwargs={"pk": 12345})).status_code == 404
