"""Login lock-out (django-axes, AXES_* in config.settings): five wrong passwords for one username
from one client address lock that pair out for fifteen minutes, on the web sign-in, the admin's
and the API's token endpoint alike.

The rest of the suite may run with the lock-out off (AXES_ENABLED=0 in the test environment), so
that tests which sign in many times, or without a request, are not refused; every test here
switches it on.
"""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import ApiToken
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 5
COOL_OFF = timedelta(minutes=15)


@pytest.fixture(autouse=True)
def _lockout_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOL_OFF
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def user(db):
    return UserFactory(username="inspector-wang")


def browser(address="198.51.100.7", **headers) -> Client:
    return Client(REMOTE_ADDR=address, headers={"Accept-Language": "en", **headers})


def sign_in(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def fail(client: Client, username: str, times: int, **extra) -> list[int]:
    return [sign_in(client, username, "wrong-password", **extra).status_code for _ in range(times)]


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def token(client: Client, username: str, password: str, **extra):
    return client.post(
        "/api/v1/auth/token",
        {"username": username, "password": password, "device": "tablet"},
        content_type="application/json",
        **extra,
    )


# --- the web sign-in ------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_username_and_the_right_one_is_then_refused(user):
    client = browser()
    assert fail(client, user.username, LIMIT - 1) == [200] * (LIMIT - 1)
    locked = sign_in(client, user.username, "wrong-password")
    assert locked.status_code == 429
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    assert response["Retry-After"] == str(int(COOL_OFF.total_seconds()))


def test_the_lock_out_page_says_why_and_for_how_long_and_still_offers_the_form(user):
    client = browser()
    fail(client, user.username, LIMIT)
    response = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD, "next": "/tasks/"}
    )
    html = response.content.decode()
    assert response.status_code == 429
    assert response.templates[0].name == "registration/login.html"
    assert "Too many failed sign-ins" in html and "15 minutes" in html
    assert "Wrong username or password." not in html
    assert 'name="password"' in html and "csrfmiddlewaretoken" in html
    assert 'name="next" value="/tasks/"' in html


def test_four_wrong_passwords_do_not_lock(user):
    client = browser()
    fail(client, user.username, LIMIT - 1)
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_the_lock_holds_until_the_cool_off_has_passed(user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(browser(), user.username, LIMIT)
    with time_machine.travel(start + COOL_OFF - timedelta(minutes=1), tick=False):
        assert sign_in(browser(), user.username, PASSWORD).status_code == 429


def test_the_lock_lifts_once_the_cool_off_has_passed(user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(browser(), user.username, LIMIT)
    with time_machine.travel(start + COOL_OFF + timedelta(minutes=1), tick=False):
        client = browser()
        assert sign_in(client, user.username, PASSWORD).status_code == 302
        assert signed_in(client)


def test_a_wrong_password_during_the_lock_out_restarts_the_cool_off(user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(browser(), user.username, LIMIT)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert fail(browser(), user.username, 1) == [429]
    with time_machine.travel(start + COOL_OFF + timedelta(minutes=2), tick=False):
        assert sign_in(browser(), user.username, PASSWORD).status_code == 429


def test_another_user_from_the_same_address_is_not_locked(user):
    colleague = UserFactory(username="inspector-li")
    client = browser()
    fail(client, user.username, LIMIT)
    assert sign_in(client, colleague.username, PASSWORD).status_code == 302


def test_the_same_user_from_another_address_is_not_locked(user):
    """Per username and address: a prober elsewhere cannot lock the real user out."""
    fail(browser("203.0.113.66"), user.username, LIMIT)
    client = browser("198.51.100.7")
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(user):
    client = browser()
    fail(client, user.username, LIMIT - 1)
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    client.logout()
    assert fail(client, user.username, LIMIT - 1) == [200] * (LIMIT - 1)
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_failures_for_a_username_that_does_not_exist_lock_too():
    """Otherwise the answer would tell which usernames exist."""
    client = browser()
    assert fail(client, "nobody", LIMIT) == [200] * (LIMIT - 1) + [429]


def test_changing_the_user_agent_does_not_escape_the_lock(user):
    client = browser()
    for n in range(LIMIT):
        sign_in(client, user.username, "wrong-password", HTTP_USER_AGENT=f"bot/{n}")
    assert sign_in(client, user.username, PASSWORD, HTTP_USER_AGENT="Mozilla/5.0").status_code == 429


# --- the client address: core.clients, behind TRUSTED_PROXY_COUNT proxies --------------------------------


def test_without_trusted_proxies_a_forged_forwarded_header_does_not_escape_the_lock(user):
    for n in range(LIMIT):
        sign_in(browser(), user.username, "wrong-password", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = sign_in(browser(), user.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_behind_a_proxy_the_forwarded_client_address_is_the_one_locked(settings, user):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    fail(browser(proxy), user.username, LIMIT, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.5"
    # The same client, prepending a forged address: the proxy's appended one still counts.
    forged = sign_in(browser(proxy), user.username, PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")
    assert forged.status_code == 429
    # Another client behind the same proxy signs in.
    other = browser(proxy)
    assert sign_in(other, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302


def test_a_forwarded_value_that_is_not_an_address_does_not_break_sign_in(settings, user):
    settings.TRUSTED_PROXY_COUNT = 1
    client = browser("10.0.0.2")
    assert fail(client, user.username, 1, HTTP_X_FORWARDED_FOR="not-an-address") == [200]
    assert AccessAttempt.objects.get().ip_address is None
    assert sign_in(client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="not-an-address").status_code == 302


# --- the admin's sign-in --------------------------------------------------------------------------------


def test_the_admin_sign_in_counts_and_is_locked_too(admin_user):
    client = browser()
    for _ in range(LIMIT):
        client.post(reverse("admin:login"), {"username": admin_user.username, "password": "wrong-password"})
    response = client.post(reverse("admin:login"), {"username": admin_user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert not signed_in(client)


# --- the API's token endpoint ---------------------------------------------------------------------------


def test_the_token_endpoint_counts_failures_and_answers_a_coded_lock_out(user):
    client = browser()
    statuses = [token(client, user.username, "wrong-password").status_code for _ in range(LIMIT)]
    assert statuses == [401] * (LIMIT - 1) + [429]
    response = token(client, user.username, PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "locked_out"
    assert "Too many failed sign-ins" in body["message"]
    assert body["details"] == {"retry_after": int(COOL_OFF.total_seconds())}
    assert response["Retry-After"] == str(int(COOL_OFF.total_seconds()))
    assert not ApiToken.objects.exists()


def test_the_token_endpoint_lock_lifts_after_the_cool_off(user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(LIMIT):
            token(browser(), user.username, "wrong-password")
    with time_machine.travel(start + COOL_OFF + timedelta(minutes=2), tick=False):
        assert token(browser(), user.username, PASSWORD).status_code == 201


def test_web_and_api_failures_add_up(user):
    client = browser()
    fail(client, user.username, 3)
    assert [token(client, user.username, "wrong-password").status_code for _ in range(2)] == [401, 429]
    assert sign_in(client, user.username, PASSWORD).status_code == 429


def test_a_token_created_with_the_right_password_resets_the_count(user):
    client = browser()
    for _ in range(LIMIT - 1):
        token(client, user.username, "wrong-password")
    assert token(client, user.username, PASSWORD).status_code == 201
    assert not AccessAttempt.objects.exists()
    assert "sessionid" not in client.cookies  # the API stays sessionless
    assert [token(client, user.username, "wrong-password").status_code for _ in range(2)] == [401, 401]


def test_a_locked_out_web_user_is_refused_by_the_api_too(user):
    client = browser()
    fail(client, user.username, LIMIT)
    response = token(client, user.username, PASSWORD)
    assert response.status_code == 429 and response.json()["code"] == "locked_out"


def test_with_the_lock_out_off_nothing_is_counted(settings, user):
    settings.AXES_ENABLED = False
    client = browser()
    fail(client, user.username, LIMIT + 2)
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()
