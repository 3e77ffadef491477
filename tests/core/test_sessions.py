"""Sign-in and sessions (issue 16, part 5): API tokens end with the password they were issued for and
with the account's deactivation; "sign out everywhere" on the account page and in the API; the
token endpoint's throttle per client address; failed sign-ins per address across usernames
(password spraying), refused before any password is hashed."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from core.audit import verify_chain
from core.models import ApiToken, AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def browser(address="198.51.100.7") -> Client:
    return Client(REMOTE_ADDR=address, headers={"Accept-Language": "en"})


def token_for(user, device="tablet", address="198.51.100.7") -> str:
    response = browser(address).post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD, "device": device},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["token"]


def works(token: str) -> bool:
    response = Client().get("/api/v1/auth/tokens", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in {200, 401}
    return response.status_code == 200


def signed_in_browser(user, address="198.51.100.7") -> Client:
    client = browser(address)
    assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def still_signed_in(client: Client) -> bool:
    return client.get(reverse("account")).status_code == 200


@pytest.fixture
def user(db):
    return UserFactory(username="inspector-wang")


# --- tokens end with the password and with the account --------------------------------------------


def test_changing_the_password_revokes_every_token(user):
    tablet, phone = token_for(user, "tablet"), token_for(user, "phone")
    user.set_password("a-new-password-2026")
    user.save()
    assert not works(tablet) and not works(phone)
    event = AuditEvent.objects.get(action="token.revoke_all")
    assert event.data["reason"] == "password_changed" and len(event.data["tokens"]) == 2
    assert verify_chain().ok


def test_a_new_password_hash_written_directly_revokes_the_tokens_too(user):
    """As demo.logins resets its logins: the hash assigned, then a full save."""
    from django.contrib.auth.hashers import make_password

    tablet = token_for(user)
    user.password = make_password("another-password-2026")
    user.save()
    assert not works(tablet)


class FastPBKDF2(PBKDF2PasswordHasher):
    iterations = 1_000


def test_django_re_hashing_the_same_password_at_sign_in_revokes_nothing(user, settings):
    tablet = token_for(user)  # the password is hashed with MD5 in tests
    settings.PASSWORD_HASHERS = [
        "tests.core.test_sessions.FastPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert signed_in_browser(user)  # Django upgrades the hash to the preferred hasher here
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$1000$")
    assert works(tablet)
    assert not AuditEvent.objects.filter(action="token.revoke_all").exists()


def test_the_password_change_page_revokes_the_devices_and_keeps_this_session(user):
    tablet = token_for(user)
    other_browser = signed_in_browser(user, "203.0.113.9")
    client = signed_in_browser(user)
    response = client.post(
        reverse("password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-password-2026",
            "new_password2": "a-new-password-2026",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("account")
    assert not works(tablet)
    assert still_signed_in(client)
    assert not still_signed_in(other_browser)


def test_the_password_change_page_refuses_a_weak_password_and_changes_nothing(user):
    tablet = token_for(user)
    client = signed_in_browser(user)
    response = client.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"},
    )
    assert response.status_code == 200 and 'data-field="new_password2"' in response.content.decode()
    assert works(tablet)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_deactivating_a_user_ends_their_sessions_and_tokens_for_good(user):
    tablet = token_for(user)
    client = signed_in_browser(user)
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()  # reactivated: nothing from before comes back
    assert not works(tablet)
    assert not still_signed_in(client)
    event = AuditEvent.objects.get(action="user.sign_out_everywhere")
    assert event.data["reason"] == "deactivated" and event.data["sessions"] == 1
    assert event.data["tokens"] == [ApiToken.objects.get().pk]


def test_a_deactivation_that_went_around_save_is_caught_at_the_reactivation(user):
    tablet = token_for(user)
    client = signed_in_browser(user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)  # no signal: as the admin's bulk edits
    user.refresh_from_db()
    user.is_active = True
    user.save()
    assert not works(tablet) and not still_signed_in(client)
    assert AuditEvent.objects.get(action="user.sign_out_everywhere").data["reason"] == "reactivated"


def test_saving_other_fields_of_a_user_keeps_their_tokens(user):
    tablet = token_for(user)
    user.first_name = "伟"
    user.save()
    user.save(update_fields=["last_name"])
    assert works(tablet)


# --- sign out everywhere ------------------------------------------------------------------------------


def test_sign_out_everywhere_from_the_account_page(user):
    tablet, phone = token_for(user, "tablet"), token_for(user, "phone")
    elsewhere = signed_in_browser(user, "203.0.113.9")
    colleague = UserFactory(username="inspector-li")
    colleagues_token = token_for(colleague)
    colleagues_browser = signed_in_browser(colleague)
    client = signed_in_browser(user)
    page = client.get(reverse("account")).content.decode()
    assert "tablet" in page and "phone" in page and 'id="sign-out-everywhere"' in page

    response = client.post(reverse("account-sign-out-everywhere"), follow=True)

    assert response.redirect_chain[0] == (reverse("login"), 302)
    assert "2 sessions ended, 2 device tokens revoked" in response.content.decode()
    assert not works(tablet) and not works(phone)
    assert not still_signed_in(elsewhere) and not still_signed_in(client)
    # Only the user's own.
    assert works(colleagues_token) and still_signed_in(colleagues_browser)
    event = AuditEvent.objects.get(action="user.sign_out_everywhere")
    assert (event.actor, event.data["reason"], event.data["sessions"]) == (user, "requested", 2)


def test_sign_out_everywhere_through_the_api_ends_the_calling_token_too(user):
    tablet, phone = token_for(user, "tablet"), token_for(user, "phone")
    client = signed_in_browser(user)
    response = Client().post("/api/v1/auth/sign-out-everywhere", HTTP_AUTHORIZATION=f"Bearer {tablet}")
    assert response.status_code == 200
    assert response.json() == {"tokens_revoked": 2, "sessions_ended": 1}
    assert not works(tablet) and not works(phone) and not still_signed_in(client)


def test_sign_out_everywhere_finds_compressed_sessions_and_passes_over_broken_ones(user):
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from core.account import sign_out_everywhere

    big = SessionStore()
    big.update({"_auth_user_id": str(user.pk), "draft": "y" * 5000})
    big.create()
    assert Session.objects.get(session_key=big.session_key).session_data.startswith(".")  # compressed
    someone_else = SessionStore()
    someone_else.update({"_auth_user_id": str(user.pk + 1)})
    someone_else.create()
    Session.objects.create(
        session_key="b" * 32, session_data="not a session", expire_date=timezone.now() + timedelta(days=1)
    )
    assert sign_out_everywhere(user=user, actor=user, reason="requested").sessions == 1
    assert set(Session.objects.values_list("session_key", flat=True)) == {someone_else.session_key, "b" * 32}


def test_sign_out_everywhere_needs_a_signed_in_caller_and_a_post(user):
    assert Client().post("/api/v1/auth/sign-out-everywhere").status_code == 401
    anonymous = browser().post(reverse("account-sign-out-everywhere"))
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    client = signed_in_browser(user)
    assert client.get(reverse("account-sign-out-everywhere")).status_code == 405
    assert still_signed_in(client)


def test_the_page_form_needs_csrf(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("account-sign-out-everywhere")).status_code == 403
    assert Session.objects.count() == 1


def test_a_user_revokes_one_of_their_tokens_and_no_one_elses(user):
    tablet, phone = token_for(user, "tablet"), token_for(user, "phone")
    colleague = UserFactory(username="inspector-li")
    colleagues = token_for(colleague)
    client = signed_in_browser(user)
    tablet_id = ApiToken.objects.get(user=user, device="tablet").pk
    assert client.post(reverse("account-token-revoke", args=[tablet_id])).status_code == 302
    assert not works(tablet) and works(phone)
    # Again: already revoked, said so, nothing changes.
    again = client.post(reverse("account-token-revoke", args=[tablet_id]), follow=True)
    assert "already revoked" in again.content.decode()
    # Another user's token does not exist for them.
    other_id = ApiToken.objects.get(user=colleague).pk
    assert client.post(reverse("account-token-revoke", args=[other_id])).status_code == 404
    assert works(colleagues)
    assert colleague.username not in client.get(reverse("account")).content.decode()


def test_the_account_page_needs_a_sign_in():
    response = Client().get(reverse("account"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- the token endpoint's throttle and the per-address limit ------------------------------------------


class CountingHasher(MD5PasswordHasher):
    """The test's MD5 hasher, counting every password it hashes or checks."""

    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


def _token_attempt(username, password, **extra):
    return browser().post(
        "/api/v1/auth/token",
        {"username": username, "password": password, "device": "x"},
        content_type="application/json",
        **extra,
    )


def test_the_token_throttle_counts_the_client_address_not_a_forwarded_header(user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 5
    statuses = [
        _token_attempt(user.username, "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    refused = _token_attempt(user.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_password_spraying_from_one_address_is_refused_before_any_hashing(user, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 30
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 100
    settings.PASSWORD_HASHERS = ["tests.core.test_sessions.CountingHasher"]
    victims = [UserFactory(username=f"clerk{n}") for n in range(30)]
    assert {_token_attempt(v.username, "Spring2026!").status_code for v in victims} == {401}

    CountingHasher.calls = 0
    refused = _token_attempt(user.username, PASSWORD)  # even the right password of another user
    assert refused.status_code == 429
    assert refused.json()["code"] == "address_throttled"
    assert refused.json()["details"]["retry_after"] > 0
    assert CountingHasher.calls == 0
    assert not ApiToken.objects.exists()
    # The web sign-in counts and refuses the same way, before hashing (with the lock-out's page).
    settings.AXES_ENABLED = True
    page = browser().post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert page.status_code == 429 and "from your address" in page.content.decode()
    assert CountingHasher.calls == 0
    # Another address is not affected.
    other = Client(REMOTE_ADDR="203.0.113.40").post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD, "device": "x"},
        content_type="application/json",
    )
    assert other.status_code == 201


def test_a_few_mistakes_from_an_office_do_not_trip_the_address_limit(user, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 30
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 100
    for n in range(29):
        _token_attempt(f"clerk{n}", "wrong")
    assert _token_attempt(user.username, PASSWORD).status_code == 201


# --- the old password on the password change page ----------------------------------------------------


def _change(client, old_password):
    new = "a-new-password-2026"
    return client.post(
        reverse("password-change"),
        {"old_password": old_password, "new_password1": new, "new_password2": new},
    )


def test_wrong_old_passwords_count_against_the_address_limit_and_are_refused_before_hashing(user, settings):
    """A stolen session must not guess the old password without limit: each wrong one counts as a
    failed sign-in from the address (core.signin), and over the limit the page refuses to check it."""
    settings.SIGNIN_FAILURES_PER_ADDRESS = 5
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 100
    settings.PASSWORD_HASHERS = ["tests.core.test_sessions.CountingHasher"]
    client = signed_in_browser(user)
    for n in range(5):
        response = _change(client, f"guess-{n}")
        assert response.status_code == 200 and 'data-field="old_password"' in response.content.decode()

    CountingHasher.calls = 0
    refused = _change(client, PASSWORD)  # even the right one
    assert refused.status_code == 429
    assert "from your address" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert CountingHasher.calls == 0
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert still_signed_in(client)
    # The same limit as sign-in's: the token endpoint refuses this address too.
    assert _token_attempt(user.username, PASSWORD).json()["code"] == "address_throttled"
    # Another address is not affected.
    assert _change(signed_in_browser(user, "203.0.113.40"), PASSWORD).status_code == 302


def test_the_right_old_password_counts_nothing(user, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 1
    client = signed_in_browser(user)
    weak = client.post(
        reverse("password-change"), {"old_password": PASSWORD, "new_password1": "1", "new_password2": "1"}
    )
    assert weak.status_code == 200  # refused for the new password, not the old one: not counted
    assert _change(client, PASSWORD).status_code == 302
