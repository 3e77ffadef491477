"""The risk ranking for regulators: orders, filters, scope, pages, exports, the distribution chart,
one enterprise's breakdown with its credit events, and the business's own score on the landing."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.codes import code_issue
from core.models import AuditEvent, Complaint, District
from history.models import HistoricalFinding, HistoricalInspection
from supervision.models import CreditEvent, EnterpriseScore
from supervision.risk import scoring
from supervision.risk import selectors as ranking
from supervision.risk.views import ranking as views_ranking
from tests.factories import EnterpriseFactory, make_score


@pytest.fixture
def client():
    """Pages in English, the language the assertions are written in (Chinese is the default)."""
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def world(ranking_world):
    return ranking_world


LIST = "/ranking/"


def ranked(user, **raw) -> list:
    filters = ranking.ranking_filters_parse(**raw)
    return [score.enterprise for score in ranking.ranking(user=user, filters=filters)]


def page_usccs(response) -> list[str]:
    return [row["score"].enterprise.uscc for row in response.context["rows"]]


# --- the selector: order, filters, scope -----------------------------------------------------------


def test_the_ranking_puts_the_highest_risk_first(world, admin_user):
    assert world.names(ranked(admin_user)) == ["haidian", "chaoyang", "dongcheng", "street", "hotel"]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("risk", ["haidian", "chaoyang", "dongcheng", "street", "hotel"]),
        # Closest supervision first; within a tier, the higher risk.
        ("tier", ["haidian", "chaoyang", "dongcheng", "street", "hotel"]),
        # Seriously untrustworthy (D) first.
        ("credit", ["dongcheng", "chaoyang", "haidian", "street", "hotel"]),
        ("overdue", ["chaoyang", "dongcheng", "haidian", "street", "hotel"]),
    ],
)
def test_each_order_sorts_as_named(world, admin_user, order, expected):
    assert world.names(ranked(admin_user, order=order)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # A district includes its streets.
        ({"district": "110105"}, ["chaoyang", "street", "hotel"]),
        ({"district": "110105001"}, ["street"]),
        ({"district": "110000"}, ["haidian", "chaoyang", "dongcheng", "street", "hotel"]),
        ({"scene": "medical"}, ["haidian"]),
        # The scenes the health commission supervises: medical and hotel (not catering).
        ({"department": "health"}, ["haidian", "hotel"]),
        ({"department": "market_regulation"}, ["chaoyang", "dongcheng", "street"]),
        ({"tier": "4"}, ["haidian", "chaoyang", "dongcheng"]),
        ({"risk_level": "medium"}, ["street"]),
        ({"credit": "a"}, ["street", "hotel"]),
        ({"district": "110105", "tier": "4", "credit": "C"}, ["chaoyang"]),
    ],
)
def test_each_filter_narrows_the_ranking(world, admin_user, raw, expected):
    assert world.names(ranked(admin_user, **raw)) == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("city_regulator", ["chaoyang", "dongcheng", "street"]),
        ("chaoyang_regulator", ["chaoyang", "street", "hotel"]),
        ("haidian_regulator", ["haidian"]),
        ("health_regulator", ["haidian", "hotel"]),
        ("business_user", []),
        ("inspector_user", []),
        ("outsider", []),
    ],
)
def test_a_user_ranks_only_their_scope(world, request, who, expected):
    assert world.names(ranked(request.getfixturevalue(who))) == expected


def test_a_filter_outside_the_scope_finds_nothing_rather_than_widening_it(world, chaoyang_regulator):
    assert ranked(chaoyang_regulator, district="110108") == []


def test_unknown_filter_values_are_named_not_taken_for_an_empty_ranking(db):
    with pytest.raises(ranking.RankingError) as caught:
        ranking.ranking_filters_parse(
            district="999999", scene="spaceport", department="nasa", tier="5", risk_level="extreme",
            credit="E", order="name",
        )  # fmt: skip
    assert caught.value.code == "invalid_filter"
    assert set(caught.value.details) == {
        "district", "scene", "department", "tier", "risk_level", "credit", "order",
    }  # fmt: skip


# --- the page ------------------------------------------------------------------------------------------


def test_the_page_lists_the_ranking_with_its_factors(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(LIST)
    assert response.status_code == 200
    assert world.by_uscc(page_usccs(response)) == ["haidian", "chaoyang", "dongcheng", "street", "hotel"]
    body = response.content.decode()
    assert reverse("ranking:detail", args=[world.chaoyang.uscc]) in body
    # The stacked bar: the violation factor's segment, 80 points wide on the 0-100 scale.
    assert 'class="f-violations" x="0.00" y="0" width="80.00"' in body


def test_the_page_applies_the_filters_and_the_order(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(LIST, {"district": "110105", "order": "tier"})
    assert world.by_uscc(page_usccs(response)) == ["chaoyang", "street", "hotel"]


def test_an_unknown_filter_value_is_a_400_with_the_reason_beside_the_field(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(LIST, {"district": "999999", "tier": "9"})
    assert response.status_code == 400
    assert page_usccs(response) == []
    body = response.content.decode()
    assert "Unknown district code 999999." in body
    assert "A tier is 1, 2, 3 or 4." in body


def test_a_district_regulator_never_sees_another_districts_rows_on_the_page(
    client, world, chaoyang_regulator
):
    client.force_login(chaoyang_regulator)
    for params in ({}, {"district": "110101"}, {"district": "110108"}, {"order": "credit"}):
        body = client.get(LIST, params).content.decode()
        assert world.dongcheng.uscc not in body
        assert world.haidian.uscc not in body


def test_the_page_is_paginated_without_counting(client, world, admin_user, monkeypatch):
    monkeypatch.setattr(views_ranking, "PAGE_SIZE", 2)
    client.force_login(admin_user)
    first = client.get(LIST, {"district": "110000"})
    assert world.by_uscc(page_usccs(first)) == ["haidian", "chaoyang"]
    assert first.context["page"].has_next
    assert "page=2" in first.content.decode()
    last = client.get(LIST, {"district": "110000", "page": "3"})
    assert world.by_uscc(page_usccs(last)) == ["hotel"]
    assert [row["position"] for row in last.context["rows"]] == [5]
    assert not last.context["page"].has_next
    assert "page=4" not in last.content.decode()


def test_the_page_costs_the_same_number_of_queries_for_any_number_of_rows(
    client, world, city_regulator, django_assert_max_num_queries
):
    client.force_login(city_regulator)
    client.get(LIST)  # warm the session and the content types
    with CaptureQueriesContext(connection) as few:
        client.get(LIST, {"district": "110105"})
    for n in range(30):
        make_score(EnterpriseFactory(), risk=n, tier=1 + n % 4)
    # 13, the same for any number of rows: the ranking prefetches its policy instead of joining it
    # (one query per page, not per row), and the header's unread-notifications COUNT (issue 18) is
    # one more on every signed-in page.
    with django_assert_max_num_queries(13), CaptureQueriesContext(connection) as many:
        response = client.get(LIST, {"district": "110105"})
    assert len(response.context["rows"]) == 32
    assert len(many) == len(few)


@pytest.mark.parametrize("who", ["business_user", "inspector_user", "outsider"])
@pytest.mark.parametrize(
    "url",
    [LIST, "/ranking/distribution/", "/ranking/policies/", "/ranking/policies/1/", "/ranking/runs/1/"],
)
def test_other_roles_find_no_ranking_pages(client, world, request, who, url):
    scoring.current_policy()
    client.force_login(request.getfixturevalue(who))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["business_user", "inspector_user"])
def test_other_roles_find_no_breakdown_even_of_their_own_enterprise(client, world, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("ranking:detail", args=[world.chaoyang.uscc])).status_code == 404


def test_the_page_speaks_chinese_by_default(world, admin_user):
    chinese = Client()
    chinese.force_login(admin_user)
    body = chinese.get(LIST).content.decode()
    assert '<html lang="zh-hans">' in body


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- exports -------------------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export_holds_the_filtered_rows_and_is_audited(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(LIST, {"district": "110105", "order": "risk", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Rank", "Unified social credit code", "Name"]
    assert "violation history" in header
    assert world.by_uscc([row[1] for row in body]) == ["chaoyang", "street", "hotel"]
    assert [row[0] for row in body] == ["1", "2", "3"]
    chaoyang = dict(zip(header, body[0], strict=True))
    assert chaoyang["Risk score"] == "80.0"
    assert chaoyang["Tier"] == "4"
    assert chaoyang["Credit rating"] == "C"
    assert chaoyang["Overdue orders"] == "2"
    event = AuditEvent.objects.get(action="export.ranking")
    assert event.actor == admin_user
    assert event.data["rows"] == 3
    assert event.data["format"] == "csv"
    assert event.data["filters"]["district"] == "110105"


def test_a_district_regulator_exports_only_their_district(client, world, chaoyang_regulator):
    client.force_login(chaoyang_regulator)
    for params in ({"format": "csv"}, {"format": "csv", "district": "110101"}):
        usccs = [row[1] for row in csv_rows(client.get(LIST, params))[1:]]
        assert world.dongcheng.uscc not in usccs
        assert world.haidian.uscc not in usccs
    xlsx = client.get(LIST, {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True).active
    usccs = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert world.by_uscc(usccs) == ["chaoyang", "street", "hotel"]


def test_the_xlsx_export_opens_with_the_header_and_the_rows(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(LIST, {"tier": "4", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ranking-')
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Rank", "Unified social credit code", "Name")
    assert world.by_uscc([row[1] for row in rows[1:]]) == ["haidian", "chaoyang", "dongcheng"]
    assert rows[1][5] == 90
    event = AuditEvent.objects.get(action="export.ranking")
    assert event.data["rows"] == 3 and event.data["format"] == "xlsx"
    assert event.data["filters"]["tier"] == 4


def test_an_xlsx_over_the_cap_is_refused_with_a_message_and_not_audited(
    client, world, admin_user, monkeypatch
):
    monkeypatch.setattr(views_ranking, "XLSX_MAX_ROWS", 2)
    client.force_login(admin_user)
    response = client.get(LIST, {"format": "xlsx"})
    assert response.status_code == 400
    assert "A spreadsheet holds at most 2 rows; this ranking has 5." in response.content.decode()
    assert not AuditEvent.objects.filter(action="export.ranking").exists()
    # CSV has no cap.
    assert len(csv_rows(client.get(LIST, {"format": "csv"}))) == 6


def test_an_export_with_an_unknown_filter_exports_nothing(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(LIST, {"format": "csv", "scene": "spaceport"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="export.ranking").exists()


def test_a_name_that_looks_like_a_formula_stays_text_in_the_export(client, world, admin_user):
    world.hotel.name = '=HYPERLINK("http://evil.example","x")'
    world.hotel.save()
    client.force_login(admin_user)
    rows = csv_rows(client.get(LIST, {"format": "csv"}))
    assert rows[-1][2] == "'" + world.hotel.name


# --- the distribution ----------------------------------------------------------------------------------


def test_the_distribution_counts_each_district_by_tier(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get("/ranking/distribution/")
    assert response.status_code == 200
    table = response.context["table"]
    counts = {row.label: row.counts for row in table.rows}
    assert counts == {"Dongcheng": (0, 0, 0, 1), "Chaoyang": (1, 0, 1, 1), "Haidian": (0, 0, 0, 1)}
    assert [row.label for row in table.rows] == ["Dongcheng", "Chaoyang", "Haidian"]  # by division code
    assert table.totals == (1, 0, 1, 3) and table.total == 5
    assert 'class="tier-4"' in response.content.decode()


def test_a_district_regulators_distribution_goes_down_to_streets_of_their_district(
    client, world, chaoyang_regulator
):
    client.force_login(chaoyang_regulator)
    table = client.get("/ranking/distribution/").context["table"]
    assert table.base == District.objects.get(code="110105")
    counts = {row.label: row.counts for row in table.rows}
    # Enterprises registered at district level form the district's own row.
    assert counts == {"Chaoyang": (1, 0, 0, 1), "Jianwai Subdistrict": (0, 0, 1, 0)}


def test_the_distribution_follows_the_filters(client, world, admin_user):
    client.force_login(admin_user)
    table = client.get("/ranking/distribution/", {"scene": "catering"}).context["table"]
    assert table.totals == (0, 0, 1, 2)
    assert client.get("/ranking/distribution/", {"credit": "Z"}).status_code == 400


# --- one enterprise's breakdown ------------------------------------------------------------------------


@pytest.fixture
def scored(enterprise):
    """Catering in Chaoyang, scored for real: two imported findings, a complaint, no self-inspection."""
    visit = HistoricalInspection.objects.create(
        enterprise=enterprise, source="lives", inspected_on=date.today() - timedelta(days=200), kind="Routine"
    )
    HistoricalFinding.objects.create(inspection=visit, severity="critical", description="未做留样")
    HistoricalFinding.objects.create(inspection=visit, severity="minor", description="地面不洁")
    Complaint.objects.create(enterprise=enterprise, text="饭菜有异味", status=Complaint.Status.NEW)
    scoring.recompute_enterprise(enterprise_id=enterprise.pk)
    return enterprise


def test_the_breakdown_adds_up_to_the_score(scored):
    explanation = ranking.score_explain(enterprise=scored)
    score = explanation.score
    assert [row.name for row in explanation.factors] == list(scoring.FACTORS)
    assert explanation.total == pytest.approx(score.risk)
    assert sum(row.maximum for row in explanation.factors) == pytest.approx(100)
    for row in explanation.factors:
        assert 0 <= row.feature <= 1 + 1e-9
        assert row.feature * row.maximum == pytest.approx(row.contribution)
    by_name = {row.name: row for row in explanation.factors}
    assert by_name["violations"].contribution > 0
    assert by_name["self_missing"].feature == pytest.approx(1)
    assert by_name["scene"].feature == pytest.approx(2 / 3)  # catering: inherent risk 3 of 1..4
    assert sorted(fact.severity for fact in explanation.findings) == ["critical", "minor"]
    assert [c.text for c in explanation.complaints] == ["饭菜有异味"]
    assert explanation.tier_rule["tier"] == score.tier


def test_the_breakdown_page_shows_each_factor_the_tier_and_the_facts(client, scored, city_regulator):
    client.force_login(city_regulator)
    response = client.get(reverse("ranking:detail", args=[scored.uscc]))
    assert response.status_code == 200
    body = response.content.decode()
    for factor in scoring.FACTORS:
        assert f'data-factor="{factor}"' in body
    score = EnterpriseScore.objects.get(enterprise=scored)
    rule = scoring.current_policy().params["tiers"][str(score.tier)]
    percent = f"{100 * rule['draw_ratio']:g}%"
    assert f"{percent} of the tier is drawn for a random inspection each year." in body
    assert "未做留样" in body and "饭菜有异味" in body
    assert 'id="credit-event-form"' in body


def test_an_enterprise_without_a_score_says_so(client, enterprise, city_regulator):
    client.force_login(city_regulator)
    response = client.get(reverse("ranking:detail", args=[enterprise.uscc]))
    assert response.status_code == 200
    assert "has not been scored yet" in response.content.decode()


@pytest.mark.parametrize("who", ["haidian_regulator", "health_regulator"])
def test_a_regulator_out_of_scope_gets_404_for_the_breakdown(client, world, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("ranking:detail", args=[world.chaoyang.uscc])).status_code == 404


# --- credit events -------------------------------------------------------------------------------------


def post_event(client, enterprise, **fields):
    data = {"kind": "penalty", "occurred_on": "", "ends_on": "", "reference": "", "note": "", **fields}
    return client.post(reverse("ranking:credit-event-new", args=[enterprise.uscc]), data)


def test_a_regulator_records_a_penalty_and_the_enterprise_is_rescored(client, enterprise, city_regulator):
    scoring.recompute_enterprise(enterprise_id=enterprise.pk)
    before = EnterpriseScore.objects.get(enterprise=enterprise)
    assert before.credit_penalties == 0
    client.force_login(city_regulator)
    yesterday = timezone.localdate() - timedelta(days=1)
    response = post_event(
        client, enterprise, occurred_on=yesterday.isoformat(), reference="京市监罚〔2025〕1号"
    )
    assert response.status_code == 302
    event = CreditEvent.objects.get(enterprise=enterprise)
    assert (event.kind, event.occurred_on, event.recorded_by) == ("penalty", yesterday, city_regulator)
    after = EnterpriseScore.objects.get(enterprise=enterprise)
    assert after.credit_penalties == 1
    assert after.credit_points == before.credit_points + 10
    audit = AuditEvent.objects.get(action="scoring.credit_event_record")
    assert audit.actor == city_regulator and audit.data["event"] == event.pk
    assert "京市监罚〔2025〕1号" in client.get(response["Location"]).content.decode()


def test_a_dishonesty_listing_makes_the_credit_rating_d(client, enterprise, chaoyang_regulator):
    client.force_login(chaoyang_regulator)
    yesterday = timezone.localdate() - timedelta(days=1)
    ends = yesterday + timedelta(days=365)
    response = post_event(
        client, enterprise, kind="dishonesty", occurred_on=yesterday.isoformat(), ends_on=ends.isoformat()
    )
    assert response.status_code == 302
    assert EnterpriseScore.objects.get(enterprise=enterprise).credit == "D"


def test_a_bad_credit_event_is_refused_field_by_field_and_nothing_is_saved(
    client, enterprise, city_regulator
):
    client.force_login(city_regulator)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = post_event(
        client, enterprise, kind="fine", occurred_on=tomorrow.isoformat(), ends_on=tomorrow.isoformat()
    )
    assert response.status_code == 422
    errors = response.context["errors"]
    assert set(errors) == {"kind", "occurred_on", "ends_on"}
    assert "The date is in the future." in response.content.decode()
    response = post_event(client, enterprise, occurred_on="31/12/2024")
    assert response.status_code == 422
    assert response.context["errors"] == {"occurred_on": "Give a date as YYYY-MM-DD."}
    assert not CreditEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="scoring.credit_event_record").exists()


@pytest.mark.parametrize("who", ["haidian_regulator", "inspector_user", "business_user"])
def test_only_a_regulator_with_the_enterprise_in_scope_records_credit_events(
    client, enterprise, request, who
):
    client.force_login(request.getfixturevalue(who))
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert post_event(client, enterprise, occurred_on=yesterday).status_code == 404
    assert not CreditEvent.objects.exists()


# --- the business's own score --------------------------------------------------------------------------


def test_a_business_sees_its_own_tier_and_why_on_the_landing(client, scored, business_user):
    token = code_issue(enterprise=scored).token
    client.force_login(business_user)
    response = client.get(f"/c/{token}")
    assert response.status_code == 200
    assert response.context["scan"].view == "business"
    body = response.content.decode()
    assert 'id="own-score"' in body
    score = EnterpriseScore.objects.get(enterprise=scored)
    assert f"Tier {score.tier}" in body
    assert "violation history" in body
    # The regulator's facts stay with the regulator: no complaint text on the business's page.
    assert "饭菜有异味" not in body


def test_the_public_card_shows_no_score_breakdown(client, scored):
    token = code_issue(enterprise=scored).token
    body = client.get(f"/c/{token}").content.decode()
    assert 'id="own-score"' not in body


@pytest.mark.parametrize("order", ["credit", "overdue"])
def test_split_orders_read_like_one_ordering_across_page_boundaries(db, order):
    """Ranking by credit / overdue reads the few differing rows first, then the rest by risk:
    every slice and the full iteration equal one ORDER BY over everything."""
    from tests.factories import UserFactory

    ranking_module = ranking
    policy = scoring.current_policy()
    for n, enterprise in enumerate(EnterpriseFactory.create_batch(9)):
        EnterpriseScore.objects.create(
            enterprise=enterprise,
            policy=policy,
            as_of=timezone.now(),
            risk=10 + (n * 7) % 9,
            risk_level="low",
            credit="ABACADABA"[n],
            tier=1,
            overdue_orders=[0, 2, 0, 1, 0, 0, 3, 0, 1][n],
        )
    admin = UserFactory(is_superuser=True)
    ranked = ranking_module.ranking(user=admin, filters=ranking_module.RankingFilters(order=order))
    expected = list(
        EnterpriseScore.objects.order_by(*ranking_module.ORDERS[order]).values_list("pk", flat=True)
    )
    assert [s.pk for s in ranked] == expected
    assert ranked.count() == 9
    for start in range(0, 9):
        for size in (1, 2, 4, 9):
            assert [s.pk for s in ranked[start : start + size]] == expected[start : start + size]
