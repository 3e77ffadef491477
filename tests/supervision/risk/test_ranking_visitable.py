"""The visit ranking lists the businesses that can be visited (core's Enterprise.visitable_q, the
rule plans and draws use): closed ones (licence suspended, revoked or deregistered) only when the
licence filter asks, as closures to check. The page says what the score ranks and what each order
ranks, and a business with an open rectification order shows it in its row, linked for those who
may open it.

The clock is frozen: order deadlines and "overdue" depend on today."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from core.models import AuditEvent, Department, Enterprise
from supervision.inspections.permissions import orders_visible_to
from supervision.models import EnterpriseScore, Inspection, InspectionTask, RectificationOrder
from supervision.risk import selectors as ranking
from tests.factories import EnterpriseFactory, InspectorFactory, make_score

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LIST = "/ranking/"
API = "/api/v1/ranking"
CLOSED = (
    Enterprise.LicenceStatus.SUSPENDED,
    Enterprise.LicenceStatus.REVOKED,
    Enterprise.LicenceStatus.DEREGISTERED,
)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def client():
    """Pages in English, the language the assertions are written in (Chinese is the default)."""
    return Client(headers={"Accept-Language": "en"})


def logged_in(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def world(ranking_world):
    """RankingWorld's five open businesses, and three closed Chaoyang caterers above them all, as
    in the demo, where a closed licence's maxed factor put them at the top."""
    ranking_world.closed = {
        status: EnterpriseFactory(licence_status=status, name=f"closed {status}") for status in CLOSED
    }
    for n, enterprise in enumerate(ranking_world.closed.values()):
        make_score(enterprise, risk=99 - n, tier=4)
    return ranking_world


OPEN_BY_RISK = ["haidian", "chaoyang", "dongcheng", "street", "hotel"]


def names(world, enterprises) -> list[str]:
    by_pk = {e.pk: key for key, e in vars(world).items() if isinstance(e, Enterprise)}
    by_pk.update({e.pk: str(status) for status, e in world.closed.items()})
    return [by_pk[e.pk] for e in enterprises]


def ranked(world, user, **raw) -> list[str]:
    filters = ranking.ranking_filters_parse(**raw)
    return names(world, [score.enterprise for score in ranking.ranking(user=user, filters=filters)])


def page_names(world, response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return names(world, [row["score"].enterprise for row in response.context["rows"]])


def api_names(world, response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    by_code = {e.uscc: e for e in Enterprise.objects.all()}
    return names(world, [by_code[item["uscc"]] for item in response.json()["items"]])


# --- which businesses ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", CLOSED)
def test_the_default_ranking_leaves_out_each_closed_licence_status(world, admin_user, status):
    closed = world.closed[status]
    client = logged_in(admin_user)
    assert ranked(world, admin_user) == OPEN_BY_RISK
    assert closed.uscc not in client.get(LIST).content.decode()
    assert closed.uscc not in {item["uscc"] for item in client.get(API).json()["items"]}
    # ... and the closure list has it.
    assert status in ranked(world, admin_user, licence="closed")


def test_the_closed_filter_lists_only_closed_businesses_by_risk(world, admin_user):
    assert ranked(world, admin_user, licence="closed") == ["suspended", "revoked", "deregistered"]


def test_all_lists_every_licence_status_in_one_order(world, admin_user):
    assert ranked(world, admin_user, licence="all") == [
        "suspended", "revoked", "deregistered", *OPEN_BY_RISK,
    ]  # fmt: skip


def test_open_is_the_default_and_says_so(world, admin_user):
    assert ranked(world, admin_user, licence="open") == ranked(world, admin_user) == OPEN_BY_RISK
    assert ranking.ranking_filters_parse().licence == "open"


def test_the_licence_filter_keeps_the_scope(world, chaoyang_regulator, haidian_regulator):
    assert ranked(world, chaoyang_regulator, licence="all") == [
        "suspended", "revoked", "deregistered", "chaoyang", "street", "hotel",
    ]  # fmt: skip
    # Haidian's regulator has none of the closed Chaoyang businesses.
    assert ranked(world, haidian_regulator, licence="closed") == []


@pytest.mark.parametrize("licence", ["", "open", "closed", "all"])
@pytest.mark.parametrize("order", ["risk", "tier", "credit", "overdue"])
def test_the_page_and_the_api_list_the_same_businesses_in_the_same_order(world, admin_user, licence, order):
    client = logged_in(admin_user)
    params = {"order": order, "licence": licence}
    assert page_names(world, client.get(LIST, params)) == api_names(world, client.get(API, params))


@pytest.mark.parametrize("order", ["credit", "overdue"])
def test_split_orders_leave_out_closed_businesses_in_both_parts(world, admin_user, order):
    # A closed business rated D with overdue orders: first in the head of either split order.
    EnterpriseScore.objects.filter(enterprise=world.closed[Enterprise.LicenceStatus.REVOKED]).update(
        credit="D", overdue_orders=5
    )
    assert "revoked" not in ranked(world, admin_user, order=order)
    assert ranked(world, admin_user, order=order, licence="closed")[0] == "revoked"


# --- what the page says about them ---------------------------------------------------------------------


def test_the_closed_list_is_titled_as_closures_to_check_and_says_why(world, admin_user):
    response = logged_in(admin_user).get(LIST, {"licence": "closed"})
    body = response.content.decode()
    assert "<title>Closures to check" in body
    assert "Closures to check: businesses whose licence is suspended, revoked or deregistered" in body
    assert "Plans and random draws skip these businesses" in body
    assert "check that they really stopped trading" in body
    # Each row names its status.
    for status in ("suspended", "revoked", "deregistered"):
        assert f'<span class="badge licence-closed">{status}</span>' in body


def test_the_default_page_says_closed_businesses_are_left_out_and_links_to_them(world, admin_user):
    body = logged_in(admin_user).get(LIST, {"district": "110105", "page": "1"}).content.decode()
    assert "<h1>Risk ranking</h1>" in body
    assert "Businesses whose licence is suspended, revoked or deregistered are left out" in body
    # The link keeps the other filters, starts again at page 1.
    assert 'href="?district=110105&amp;licence=closed">List them to check their closure</a>' in body
    assert "licence-closed" not in body


def test_every_licence_status_has_its_own_heading(world, admin_user):
    body = logged_in(admin_user).get(LIST, {"licence": "all"}).content.decode()
    assert "<h1>Risk ranking, every licence status</h1>" in body
    assert "are left out" not in body


def test_the_filter_form_offers_the_three_lists_with_open_chosen_by_default(world, admin_user):
    body = logged_in(admin_user).get(LIST).content.decode()
    assert '<select name="licence">' in body
    assert '<option value="open" selected>Open businesses (licence active)</option>' in body
    assert '<option value="closed">Closed: licence suspended, revoked or deregistered</option>' in body
    assert '<option value="all">Every licence status</option>' in body


def test_the_page_says_what_the_risk_score_ranks(world, admin_user):
    body = logged_in(admin_user).get(LIST).content.decode()
    assert "Eight estimate the risk of a serious violation" in body
    assert "measures how due a visit is" in body
    assert "drops to zero right after an inspection" in body
    # Version 1's weights: visit_gap 15 of 100.
    assert "Policy version 1: up to 15 of the 100 points measure how due a visit is" in body


def test_due_points_follow_the_policys_weights(db):
    from supervision.risk import scoring

    policy = scoring.current_policy()
    assert ranking.due_points(policy) == pytest.approx(15.0)
    policy.weights = {**policy.weights, "visit_gap": 0}
    assert ranking.due_points(policy) == 0.0


@pytest.mark.parametrize("order", ["risk", "tier", "credit", "overdue"])
def test_each_order_is_explained_beside_the_selector(world, admin_user, order):
    body = logged_in(admin_user).get(LIST, {"order": order}).content.decode()
    assert (
        f'<p class="muted small rk-meaning" id="order-meaning">{escape(ranking.ORDER_MEANINGS[order])}</p>'
        in body
    )
    assert 'aria-describedby="order-meaning"' in body
    for name, meaning in ranking.ORDER_MEANINGS.items():
        assert f'<dd data-order="{name}">{escape(meaning)}</dd>' in body


def test_the_api_documents_what_it_ranks_and_the_licence_filter(db):
    document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"][API]["get"]
    assert "Eight estimate the risk of a serious violation" in operation["description"]
    assert "visit_gap" in operation["description"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert "closed" in parameters["licence"]["description"]
    for meaning in ranking.ORDER_MEANINGS.values():
        assert meaning in parameters["order"]["description"]


def test_the_distribution_counts_open_businesses_unless_asked(world, admin_user):
    client = logged_in(admin_user)
    assert client.get("/ranking/distribution/").context["table"].total == 5
    assert client.get("/ranking/distribution/", {"licence": "closed"}).context["table"].total == 3
    assert client.get("/ranking/distribution/", {"licence": "all"}).context["table"].total == 8


def test_the_export_follows_the_licence_filter_and_names_each_status(world, admin_user):
    client = logged_in(admin_user)

    def rows(params):
        response = client.get(LIST, {**params, "format": "csv"})
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    assert {row["Licence status"] for row in rows({})} == {"active"}
    assert len(rows({})) == 5
    closed = rows({"licence": "closed"})
    assert [row["Licence status"] for row in closed] == ["suspended", "revoked", "deregistered"]
    assert (
        AuditEvent.objects.filter(action="export.ranking").latest("pk").data["filters"]["licence"] == "closed"
    )


# --- refused filters -------------------------------------------------------------------------------------


def test_an_unknown_licence_value_is_a_400_with_the_reason_beside_the_field(world, admin_user):
    client = logged_in(admin_user)
    page = client.get(LIST, {"licence": "sleeping"})
    assert page.status_code == 400
    assert page.context["rows"] == []
    assert "List open, closed or all businesses." in page.content.decode()
    api = client.get(API, {"licence": "sleeping"})
    assert api.status_code == 400
    assert api.json()["code"] == "invalid_filter"
    assert set(api.json()["details"]) == {"licence"}


@pytest.mark.parametrize(
    "key", ["district", "scene", "department", "tier", "risk_level", "credit", "order", "licence"]
)
@pytest.mark.parametrize("value", ["\x00", "110105\x00", "a\x00b"])
def test_a_nul_byte_in_a_filter_is_refused_never_a_500(world, admin_user, key, value):
    """PostgreSQL refuses NUL in a query parameter: the request is refused at the door
    (core.middleware), before any lookup, with the error page or the API's invalid_characters."""
    client = logged_in(admin_user)
    for url in (LIST, "/ranking/distribution/"):
        response = client.get(url, {key: value})
        assert response.status_code == 400, (url, response.status_code)
        assert "control character" in response.content.decode()
    response = client.get(API, {key: value})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_characters"
    assert response.json()["details"] == {"in": "query", "name": key}


@pytest.mark.parametrize("key", ["district", "scene", "department"])
def test_a_code_with_a_nul_byte_is_named_with_the_byte_shown(world, admin_user, key):
    """The refusal names the parameter holding the byte; a byte in the name itself is shown escaped."""
    client = logged_in(admin_user)
    body = client.get(API, {key: "a\x00b"}).json()
    assert body["details"]["name"] == key and key in body["message"]
    details = client.get(API, {f"{key}\x00": "1"}).json()["details"]
    assert details == {"in": "query", "name": f"{key}\\x00"}


def test_a_nul_byte_in_an_export_is_refused_and_exports_nothing(world, admin_user):
    response = logged_in(admin_user).get(LIST, {"district": "\x00", "format": "csv"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="export.ranking").exists()


# --- the open order in the row ---------------------------------------------------------------------------


@pytest.fixture
def ordered(order):
    """The conftest loop's enterprise (a Chaoyang caterer) inspected just now: two findings (minor,
    major), one order due in 7 days; scored low, as a fresh inspection leaves its visit gap empty."""
    make_score(order.enterprise, risk=12, tier=2, open_orders=1)
    return order


def test_a_business_with_an_open_order_shows_it_with_its_deadline_and_a_link(ordered, chaoyang_regulator):
    assert timezone.localdate(ordered.deadline).isoformat() == "2025-06-09"
    response = logged_in(chaoyang_regulator).get(LIST)
    [row] = response.context["rows"]
    assert row["score"].open_order == ordered
    body = response.content.decode()
    url = reverse("loop:order", args=[ordered.pk])
    assert f'<a href="{url}">Open order {ordered.number}</a>' in body
    assert "due 2025-06-09" in body
    assert "overdue</span>" not in body


def test_the_api_gives_the_open_order_with_its_page(ordered, chaoyang_regulator):
    [item] = logged_in(chaoyang_regulator).get(API).json()["items"]
    assert item["licence_status"] == "active"
    assert item["open_order"] == {
        "id": ordered.pk,
        "number": ordered.number,
        "status": "issued",
        "deadline": item["open_order"]["deadline"],
        "overdue": False,
        "url": reverse("loop:order", args=[ordered.pk]),
    }
    assert datetime.fromisoformat(item["open_order"]["deadline"]) == ordered.deadline
    assert item["more_open_orders"] == 0


def test_a_business_without_an_open_order_shows_none(world, admin_user):
    response = logged_in(admin_user).get(LIST)
    assert all(row["score"].open_order is None for row in response.context["rows"])
    assert all(item["open_order"] is None for item in logged_in(admin_user).get(API).json()["items"])


def test_an_order_past_its_deadline_is_marked_overdue(ordered, chaoyang_regulator, time_machine):
    time_machine.move_to(NOW + timedelta(days=8), tick=False)
    body = logged_in(chaoyang_regulator).get(LIST).content.decode()
    assert 'due 2025-06-09 <span class="badge risk-high">overdue</span>' in body
    [item] = logged_in(chaoyang_regulator).get(API).json()["items"]
    assert item["open_order"]["overdue"] is True


def test_a_closed_order_is_no_longer_shown(ordered, chaoyang_regulator):
    RectificationOrder.objects.filter(pk=ordered.pk).update(
        status=RectificationOrder.Status.CLOSED, closed_at=timezone.now()
    )
    [row] = logged_in(chaoyang_regulator).get(LIST).context["rows"]
    assert row["score"].open_order is None


@pytest.mark.parametrize("who", ["admin_user", "city_regulator", "chaoyang_regulator"])
def test_every_ranker_may_open_the_order_the_row_links(ordered, request, who):
    """The link is shown to every ranker because every ranker may open it: the ranking's scope
    lies inside supervision.inspections.permissions.orders_visible_to's."""
    user = request.getfixturevalue(who)
    client = logged_in(user)
    linked = [row["score"].open_order for row in client.get(LIST).context["rows"] if row["score"].open_order]
    assert linked == [ordered]
    assert orders_visible_to(user).filter(pk=ordered.pk).exists()
    assert client.get(reverse("loop:order", args=[ordered.pk])).status_code == 200


def test_a_regulator_out_of_scope_sees_no_link_and_could_not_open_it(ordered, haidian_regulator):
    client = logged_in(haidian_regulator)
    url = reverse("loop:order", args=[ordered.pk])
    for licence in ("open", "closed", "all"):
        assert url not in client.get(LIST, {"licence": licence}).content.decode()
        assert [item["open_order"] for item in client.get(API, {"licence": licence}).json()["items"]] == []
    assert client.get(url).status_code == 404


def test_an_inspector_out_of_scope_sees_no_ranking_and_no_order(ordered):
    haidian_inspector = InspectorFactory(districts=["110108"]).user
    client = logged_in(haidian_inspector)
    assert client.get(LIST).status_code == 404
    assert client.get(API).status_code == 403
    assert client.get(reverse("loop:order", args=[ordered.pk])).status_code == 404


def test_an_inspector_in_scope_still_has_no_ranking(ordered, lead):
    # The team's inspector may open the order itself, but the ranking is a regulator's tool.
    client = logged_in(lead)
    assert client.get(LIST).status_code == 404
    assert client.get(reverse("loop:order", args=[ordered.pk])).status_code == 200


# --- cost --------------------------------------------------------------------------------------------------


def bare_order(
    enterprise, *, number: str, days: int, actor, status=RectificationOrder.Status.ISSUED
) -> RectificationOrder:
    """An order with no findings (listing needs only the order), made now, due in ``days`` (past
    if < 0)."""
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=Department.objects.get(code="market_regulation"),
        status=InspectionTask.Status.DONE,
        due_from=NOW.date(),
        due_to=NOW.date(),
        created_by=actor,
    )
    inspection = Inspection.objects.create(
        task=task,
        enterprise=enterprise,
        status=Inspection.Status.SUBMITTED,
        started_by=actor,
        submitted_at=NOW,
    )
    return RectificationOrder.objects.create(
        number=number,
        enterprise=enterprise,
        inspection=inspection,
        deadline=NOW + timedelta(days=days),
        status=status,
    )


def test_the_page_reads_the_open_orders_of_all_its_rows_in_one_query(
    world, city_regulator, admin_user, django_assert_max_num_queries
):
    client = logged_in(city_regulator)
    client.get(LIST)  # warm the session and the content types
    bare_order(world.chaoyang, number="RO-1", days=3, actor=admin_user)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for n in range(30):
        enterprise = EnterpriseFactory()
        make_score(enterprise, risk=n, tier=1, open_orders=2)
        bare_order(enterprise, number=f"RO-{n}-a", days=5, actor=admin_user)
        bare_order(enterprise, number=f"RO-{n}-b", days=2, actor=admin_user)
    with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    rows = response.context["rows"]
    assert len(rows) == 33
    assert len(many) == len(few)
    order_queries = [q["sql"] for q in many if "rectificationorder" in q["sql"]]
    assert len(order_queries) == 1
    # The earliest deadline first, the other counted.
    marked = {
        row["score"].open_order.number: row["score"].more_open_orders
        for row in rows
        if row["score"].open_order
    }
    assert marked["RO-0-b"] == 1 and marked["RO-1"] == 0
    assert "and 1 more" in response.content.decode()


def test_the_api_reads_the_open_orders_in_one_query(world, admin_user, django_assert_max_num_queries):
    client = logged_in(admin_user)
    client.get(API)
    with CaptureQueriesContext(connection) as few:
        client.get(API)
    for n in range(10):
        enterprise = EnterpriseFactory()
        make_score(enterprise, risk=n, tier=1)
        bare_order(enterprise, number=f"RO-{n}", days=5, actor=admin_user)
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as many:
        items = client.get(API).json()["items"]
    assert sum(1 for item in items if item["open_order"]) == 10
    assert len(many) == len(few)
    assert len([q for q in many if "rectificationorder" in q["sql"]]) == 1
