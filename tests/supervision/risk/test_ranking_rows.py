"""The ranking's rows are built in Python (supervision.risk.views.ranking._table_rows), not by the
template: each row must read exactly as the template that used to render it (kept below as the
reference) would have rendered it, in both languages, with names, labels and orders that need
escaping; its links are the ones reverse() gives; its numbers round as the floatformat filter does.

The clock is frozen: "overdue" depends on today."""

import random
from datetime import date

import pytest
from django.template import engines
from django.template.defaultfilters import floatformat
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from core.models import Enterprise
from core.pagination import PageUrls
from supervision.models import RectificationOrder
from supervision.risk.views import ranking as views_ranking
from tests.factories import EnterpriseFactory, make_score
from tests.supervision.risk.test_ranking_visitable import NOW, bare_order

LIST = "/ranking/"

# The row as risk/ranking.html rendered it before the rows were built in Python.
REFERENCE = """{% load i18n %}{% translate "Credit rating" as l_credit_rating %}{% translate "District" as l_district %}{% translate "Enterprise" as l_enterprise %}{% translate "Factors" as l_factors %}{% translate "Follow-up" as l_follow_up %}{% translate "Last inspected on" as l_last_inspected_on %}{% translate "Overdue orders" as l_overdue_orders %}{% translate "Risk level" as l_risk_level %}{% translate "Risk score" as l_risk_score %}{% translate "Scene" as l_scene %}{% translate "Tier" as l_tier %}{% for row in rows %}{% with score=row.score enterprise=row.score.enterprise %}
    <tr data-uscc="{{ enterprise.uscc }}">
      <td class="rk-num" data-label="#">{{ row.position }}</td>
      <td data-label="{{ l_enterprise }}"><a href="{% url 'ranking:detail' enterprise.uscc %}">{{ enterprise.name }}</a><br><span class="muted mono small">{{ enterprise.uscc }}</span>{% if not enterprise.is_visitable %} <span class="badge licence-closed">{{ enterprise.get_licence_status_display }}</span>{% endif %}</td>
      <td class="rk-nowrap" data-label="{{ l_district }}">{{ enterprise.district }}</td>
      <td class="rk-nowrap" data-label="{{ l_scene }}">{{ enterprise.scene }}</td>
      <td class="rk-num" data-label="{{ l_risk_score }}">{{ score.risk|floatformat:1 }}</td>
      <td data-label="{{ l_factors }}"><svg class="rk-stack" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="{{ l_factors }}">{{ row.bars }}</svg></td>
      <td data-label="{{ l_risk_level }}"><span class="badge risk-{{ score.risk_level }}">{{ score.get_risk_level_display }}</span></td>
      <td data-label="{{ l_credit_rating }}"><span class="badge credit-{{ score.credit }}">{{ score.credit }}</span></td>
      <td data-label="{{ l_tier }}"><span class="badge tier-{{ score.tier }}">{{ score.tier }}</span></td>
      <td class="rk-num" data-label="{{ l_overdue_orders }}">{{ score.overdue_orders }}</td>
      <td class="rk-follow" data-label="{{ l_follow_up }}">{% with order=score.open_order %}{% if order %}<a href="{% url 'loop:order' order.pk %}">{% blocktranslate with number=order.number %}Open order {{ number }}{% endblocktranslate %}</a><br><span class="small">{% blocktranslate with day=order.deadline|date:"Y-m-d" %}due {{ day }}{% endblocktranslate %}{% if order.is_overdue %} <span class="badge risk-high">{% translate "overdue" %}</span>{% elif order.status != "issued" %} · {{ order.get_status_display }}{% endif %}{% if score.more_open_orders %} · {% blocktranslate count n=score.more_open_orders %}and {{ n }} more{% plural %}and {{ n }} more{% endblocktranslate %}{% endif %}</span>{% else %}–{% endif %}{% endwith %}</td>
      <td class="rk-nowrap" data-label="{{ l_last_inspected_on }}">{{ score.last_inspected_on|date:"Y-m-d"|default:"–" }}</td>
    </tr>
  {% endwith %}{% endfor %}"""  # noqa: E501 (the template as it was, line by line)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def rows_world(admin_user):
    """Rows of every kind: a closed business whose name and district need escaping with an overdue
    order and two more, orders returned, escalated and simply issued, a business never inspected
    and one without any order, scores that round half up."""
    hostile = EnterpriseFactory(
        name="<img src=x onerror=\"alert(1)\"> & 'Co'", licence_status=Enterprise.LicenceStatus.REVOKED
    )
    hostile.district.name_en = "Chaoyang <b>&</b>"
    hostile.district.save()
    make_score(hostile, risk=97.25, tier=4, credit="D", overdue=1, open_orders=3)
    bare_order(hostile, number="RO<1>&", days=-3, actor=admin_user)
    bare_order(hostile, number="RO-1b", days=5, actor=admin_user)
    bare_order(hostile, number="RO-1c", days=9, actor=admin_user)
    for n, (status, days) in enumerate(
        [
            (RectificationOrder.Status.RETURNED, 4),
            (RectificationOrder.Status.ESCALATED, -10),
            (RectificationOrder.Status.ISSUED, 2),
            (RectificationOrder.Status.SUBMITTED, -1),
        ]
    ):
        enterprise = EnterpriseFactory()
        score = make_score(enterprise, risk=80 - n * 10.05, tier=1 + n, credit="ABCD"[n], open_orders=2)
        score.last_inspected_on = date(2024, 12, 31 - n)
        score.save()
        bare_order(enterprise, number=f"RO-{n}", days=days, actor=admin_user, status=status)
        if n == 1:
            bare_order(enterprise, number=f"RO-{n}-more", days=days + 1, actor=admin_user)
    make_score(EnterpriseFactory(licence_status=Enterprise.LicenceStatus.SUSPENDED), risk=0.05, tier=1)
    make_score(EnterpriseFactory(), risk=12.35, tier=2)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("licence", ["all", "open", "closed"])
def test_each_row_reads_as_the_template_rendered_it(rows_world, admin_user, language, licence):
    client = Client(headers={"Accept-Language": language})
    client.force_login(admin_user)
    response = client.get(LIST, {"licence": licence})
    rows = response.context["rows"]
    assert rows
    built = "".join(row["html"] for row in rows)
    assert built in response.content.decode()
    with translation.override(language):
        expected = engines["django"].from_string(REFERENCE).render({"rows": rows})
    assert built == expected


def test_the_rows_escape_what_they_show(rows_world, admin_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(admin_user)
    body = client.get(LIST, {"licence": "all"}).content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#x27;Co&#x27;" in body
    assert "Chaoyang &lt;b&gt;&amp;&lt;/b&gt;" in body
    assert "Open order RO&lt;1&gt;&amp;</a>" in body
    assert "<img src=x" not in body and "<b>&</b>" not in body


@pytest.mark.parametrize(
    "viewname, value",
    [
        ("ranking:detail", "91110105MA01ABCD2X"),
        ("ranking:detail", "lower0case"),
        ("ranking:detail", "with space"),
        ("ranking:detail", "100%"),
        ("ranking:detail", "企业"),
        ("ranking:detail", "a-b_c.d~e"),
        ("loop:order", 1),
        ("loop:order", 4_294_967_296),
    ],
)
def test_a_page_url_is_the_one_reverse_gives(db, viewname, value):
    assert PageUrls(viewname)(value) == reverse(viewname, args=[value])


def test_a_value_reverse_refuses_is_refused_the_same(db):
    with pytest.raises(NoReverseMatch):
        reverse("ranking:detail", args=["a/b"])
    with pytest.raises(NoReverseMatch):
        PageUrls("ranking:detail")("a/b")


def test_the_bars_numbers_round_half_up_as_floatformat_does():
    rng = random.Random(17)
    values = [0.0, 0.05, 0.125, 0.15, 0.25, 1.005, 2.675, 12.345, 99.995, 100.0, 1e-05, 3.5e-07, 33.333333333]
    values += [rng.randint(0, 100_000) / 1000 for _ in range(2000)]  # ties at the second decimal
    values += [rng.randint(0, 10_000) / 100 for _ in range(2000)]  # ties at the first decimal
    values += [rng.uniform(0, 100) for _ in range(2000)]
    total = 0.0
    for _ in range(500):  # running sums, as the segments' x positions are
        total += rng.randint(1, 999) / 100
        values.append(total)
    with translation.override("en"):
        for value in values:
            for places in (1, 2):
                assert views_ranking._fixed(value, places) == floatformat(value, places), (value, places)
