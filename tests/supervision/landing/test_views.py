"""The role home pages at / (supervision.landing.views.home): each role lands on its own."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, make_score

pytestmark = pytest.mark.django_db


def test_anonymous_home_offers_sign_in_in_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html


def test_sign_in_lands_on_the_role_home(client, inspector_user):
    response = client.post(
        reverse("login"), {"username": inspector_user.username, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.templates[0].name == "landing/home_inspector.html"


@pytest.mark.parametrize(
    ("role", "template"),
    [
        ("business_user", "landing/home_business.html"),
        ("inspector_user", "landing/home_inspector.html"),
        ("regulator_user", "landing/home_regulator.html"),
        ("admin_user", "landing/home_admin.html"),
        ("outsider", "landing/home_public.html"),
    ],
)
def test_each_role_has_its_home(client, request, role, template):
    client.force_login(request.getfixturevalue(role))
    response = client.get("/")
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]


def test_the_business_home_shows_only_its_own_enterprise(client, business_user, enterprise, other_enterprise):
    client.force_login(business_user)
    html = client.get("/").content.decode()
    assert enterprise.name in html
    assert other_enterprise.name not in html


def _home(client, user) -> str:
    client.force_login(user)
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.content.decode()


def test_a_business_home_shows_its_tier_credit_rating_and_why(client, business_user, enterprise):
    make_score(enterprise, risk=64, tier=4, credit="C")
    html = _home(client, business_user)
    assert 'id="own-score"' in html
    assert "Tier 4" in html
    assert "Credit rating" in html and "C" in html
    assert "violation history: 64" in html  # the factor its points come from


def test_a_business_home_says_when_it_is_not_yet_rated(client, business_user):
    html = _home(client, business_user)
    assert 'id="own-score"' in html
    assert "Not yet rated." in html


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user", "outsider"])
def test_no_other_role_gets_a_business_score_on_its_home(request, client, enterprise, role):
    make_score(enterprise, risk=64, tier=4, credit="C")
    assert 'id="own-score"' not in _home(client, request.getfixturevalue(role))
