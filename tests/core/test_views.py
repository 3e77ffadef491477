import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_wrong_password_is_refused_with_a_message(client, inspector_user):
    response = client.post(reverse("login"), {"username": inspector_user.username, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "用户名或密码错误" in response.content.decode()


def test_switching_to_english_and_back(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html and "Sign in" in html
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)
    assert "登录" in response.content.decode()


def test_the_english_ui_names_reference_data_in_english(client, admin_user, enterprise):
    client.force_login(admin_user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("enterprise-detail", args=[enterprise.uscc])).content.decode()
    assert "Catering" in html and "Chaoyang" in html


def test_pages_need_sign_in(client, enterprise):
    for url in (reverse("enterprise-list"), reverse("enterprise-detail", args=[enterprise.uscc])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "which", "status"),
    [
        ("business_user", "enterprise", 200),
        ("business_user", "other_enterprise", 404),
        ("business_user", "far_enterprise", 404),
        ("inspector_user", "other_enterprise", 200),
        ("inspector_user", "far_enterprise", 404),
        ("regulator_user", "enterprise", 200),
        ("regulator_user", "far_enterprise", 404),
        ("admin_user", "far_enterprise", 200),
        ("outsider", "enterprise", 404),
    ],
)
def test_detail_page_permission_table(client, request, role, which, status):
    client.force_login(request.getfixturevalue(role))
    target = request.getfixturevalue(which)
    assert client.get(reverse("enterprise-detail", args=[target.uscc])).status_code == status


def test_the_detail_page_shows_the_legal_representative_to_those_entitled(client, inspector_user, enterprise):
    client.force_login(inspector_user)
    assert (
        enterprise.legal_representative
        in client.get(reverse("enterprise-detail", args=[enterprise.uscc])).content.decode()
    )


def test_a_malformed_code_in_the_url_gets_a_clear_400_page(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("enterprise-detail", args=["NOT-A-CODE"]))
    assert response.status_code == 422
    assert "18" in response.content.decode()


def test_the_list_is_filtered_by_scope_and_paginated(
    client, inspector_user, enterprise, other_enterprise, far_enterprise
):
    client.force_login(inspector_user)
    html = client.get(reverse("enterprise-list")).content.decode()
    assert enterprise.uscc in html and other_enterprise.uscc in html
    assert far_enterprise.uscc not in html


def test_an_unknown_filter_says_so(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("enterprise-list"), {"district": "123456"})
    assert response.status_code == 400
    assert "123456" in response.content.decode()


def test_a_junk_page_number_falls_back_to_the_first_page(client, admin_user, enterprise):
    client.force_login(admin_user)
    response = client.get(reverse("enterprise-list"), {"page": "abc"})
    assert response.status_code == 200 and enterprise.uscc in response.content.decode()


def test_html_escapes_user_content(client, admin_user):
    from tests.factories import EnterpriseFactory

    evil = EnterpriseFactory(name='<script>alert("x")</script>')
    client.force_login(admin_user)
    html = client.get(reverse("enterprise-detail", args=[evil.uscc])).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_responses_carry_a_content_security_policy(client):
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_health_check(client):
    assert client.get("/healthz").content == b"ok"


def test_every_page_names_its_icon_and_the_icon_is_served(client):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/core/favicon.svg" type="image/svg+xml">' in html
    from django.contrib.staticfiles import finders

    icon = finders.find("core/favicon.svg")
    assert icon is not None
    with open(icon, "rb") as svg:
        assert svg.read().startswith(b"<svg ")
