"""The public card kept SCAN_CARD_CACHE_SECONDS in a worker (supervision.landing.panels): what it
may hold back, and what it never does. The suite computes the card at every scan
(SCAN_CARD_CACHE_SECONDS=0, pyproject.toml); these tests turn the cache on."""

import re

import pytest
from django.test import Client

from core import codes
from core.models import Complaint, Enterprise, ScanEvent
from supervision.landing import views
from supervision.landing.panels import public_cards
from supervision.models import EnterpriseScore
from tests.factories import MembershipFactory
from tests.factories.risk import make_score

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings, monkeypatch):
    settings.SCAN_CARD_CACHE_SECONDS = 30
    now = [5000.0]
    monkeypatch.setattr(public_cards, "clock", lambda: now[0])
    public_cards.clear()
    yield now
    public_cards.clear()


@pytest.fixture
def scored(enterprise):
    make_score(enterprise, risk=20, tier=2, credit="A")
    return codes.code_issue(enterprise=enterprise)


def page(code, language="en", client=None) -> str:
    client = client or Client(headers={"Accept-Language": language})
    response = client.get(f"/c/{code.token}")
    assert response.status_code == 200
    return response.content.decode()


def test_a_changed_tier_shows_on_the_public_card_once_the_period_has_passed(cached, scored):
    assert "Tier 2 · credit A" in page(scored)
    EnterpriseScore.objects.filter(enterprise=scored.enterprise).update(tier=4, credit="C")
    cached[0] += 29
    assert "Tier 2 · credit A" in page(scored)  # within the period: the card as it was
    assert (
        Client(headers={"Accept-Language": "en"})
        .get(f"/api/v1/scan/{scored.token}")
        .json()["enterprise"]["tier"]
        == "2"
    )
    cached[0] += 1
    assert "Tier 4 · credit C" in page(scored)
    assert (
        Client(headers={"Accept-Language": "en"})
        .get(f"/api/v1/scan/{scored.token}")
        .json()["enterprise"]["tier"]
        == "4"
    )


def test_without_a_period_the_card_is_computed_at_every_scan(cached, scored, settings):
    settings.SCAN_CARD_CACHE_SECONDS = 0
    assert "Tier 2 · credit A" in page(scored)
    EnterpriseScore.objects.filter(enterprise=scored.enterprise).update(tier=4, credit="C")
    assert "Tier 4 · credit C" in page(scored)


def test_a_revoked_code_is_refused_at_once_whatever_the_card_holds(cached, scored, regulator_user):
    assert "Tier 2 · credit A" in page(scored)
    codes.code_revoke(enterprise=scored.enterprise, actor=regulator_user, reason="licence revoked")
    assert Client().get(f"/c/{scored.token}").status_code == 410
    assert Client().get(f"/api/v1/scan/{scored.token}").status_code == 410
    assert list(ScanEvent.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "ok",
        "revoked",
        "revoked",
    ]


def test_each_language_has_its_own_card(cached, scored):
    assert "Tier 2 · credit A" in page(scored, "en")
    chinese = page(scored, "zh-hans")
    assert "Tier 2 · credit A" not in chinese and "2" in chinese


def test_a_member_of_the_business_is_never_shown_a_kept_card(cached, scored, enterprise):
    assert "Tier 2 · credit A" in page(scored)
    EnterpriseScore.objects.filter(enterprise=enterprise).update(tier=4, credit="C")
    member = Client(headers={"Accept-Language": "en"})
    member.force_login(MembershipFactory(enterprise=enterprise).user)
    assert "Tier 4 · credit C" in page(scored, client=member)
    assert "Tier 2 · credit A" in page(scored)  # the public's is still the kept one


# --- the whole public page and the scan API's body, kept with the card ---------------------------


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_values(html: str) -> list[str]:
    return CSRF.findall(html)


def test_a_kept_page_gives_each_visitor_a_working_csrf_token_of_their_own(cached, scored):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first_page, second_page = page(scored, client=first), page(scored, client=second)
    # Both forms (the language and the report) carry a token of this response, never the slot.
    assert len(csrf_values(first_page)) == 2 and "slot" not in first_page
    assert csrf_values(first_page)[0] != csrf_values(second_page)[0]
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    response = first.post(
        f"/c/{scored.token}",
        {"text": "后厨地面有积水", "csrfmiddlewaretoken": csrf_values(first_page)[1]},
    )
    assert response.status_code == 302 and Complaint.objects.count() == 1
    # The other visitor's token is not this one's: refused, nothing stored.
    response = second.post(
        f"/c/{scored.token}",
        {"text": "后厨地面有积水", "csrfmiddlewaretoken": csrf_values(first_page)[1]},
    )
    assert response.status_code == 403 and Complaint.objects.count() == 1


def test_a_kept_page_is_the_page_rendered_at_the_scan(cached, scored, settings):
    kept = page(scored)
    kept_again = page(scored)
    settings.SCAN_CARD_CACHE_SECONDS = 0
    fresh = page(scored)
    assert CSRF.sub("", kept) == CSRF.sub("", kept_again) == CSRF.sub("", fresh)
    assert scored.enterprise.name in kept and "Tier 2 · credit A" in kept


def test_every_scan_of_a_kept_page_is_recorded(cached, scored):
    for _ in range(3):
        page(scored)
    Client().get(f"/api/v1/scan/{scored.token}")
    Client().get(f"/api/v1/scan/{scored.token}")
    assert list(ScanEvent.objects.order_by("pk").values_list("channel", "view", "outcome")) == (
        [("web", "public", "ok")] * 3 + [("api", "public", "ok")] * 2
    )


def test_a_signed_in_visitor_on_the_public_face_gets_a_page_of_their_own(cached, scored, other_enterprise):
    anonymous = page(scored)
    outsider = Client(headers={"Accept-Language": "en"})
    outsider.force_login(MembershipFactory(enterprise=other_enterprise).user)
    theirs = page(scored, client=outsider)
    assert "Sign out" in theirs and "Sign out" not in anonymous
    assert "Sign out" not in page(scored)


def test_a_waiting_message_is_shown_once_and_never_kept(cached, scored):
    reporter = Client(headers={"Accept-Language": "en"})
    page(scored, client=reporter)
    response = reporter.post(f"/c/{scored.token}", {"text": "后厨地面有积水"})
    assert response.status_code == 302
    assert "Your report was received" in page(scored, client=reporter)
    assert "Your report was received" not in page(scored, client=reporter)
    assert "Your report was received" not in page(scored)


def test_a_query_string_gets_a_page_of_its_own(cached, scored):
    page(scored)
    response = Client(headers={"Accept-Language": "en"}).get(f"/c/{scored.token}?from=poster")
    assert response.status_code == 200
    assert f'value="/c/{scored.token}?from=poster"' in response.content.decode()
    assert f'value="/c/{scored.token}?from=poster"' not in page(scored)


def test_a_kept_page_goes_with_its_card(cached, scored):
    assert "Tier 2 · credit A" in page(scored)
    Enterprise.objects.filter(pk=scored.enterprise.pk).update(name="新名字餐厅")
    cached[0] += 29
    assert "新名字餐厅" not in page(scored)
    cached[0] += 1
    assert "新名字餐厅" in page(scored)


def test_a_nonce_in_a_kept_page_is_each_responses_own(cached, scored, monkeypatch):
    # The public page has no inline script today; one added later must carry the response's nonce.
    rendered = []

    def render_to_string(template, context, request):
        rendered.append(template)
        return f'<script nonce="{context["csp_nonce"]}"></script>'

    monkeypatch.setattr(views, "render_to_string", render_to_string)
    nonces = []
    for _ in range(2):
        response = Client().get(f"/c/{scored.token}")
        (nonce,) = re.findall(r'nonce="([^"]+)"', response.content.decode())
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and rendered == ["landing/public.html"]


def test_the_kept_api_body_is_the_one_computed_at_the_scan(cached, scored, settings, inspector_user):
    client = Client(headers={"Accept-Language": "en"})
    kept = client.get(f"/api/v1/scan/{scored.token}")
    assert kept["Content-Type"] == "application/json; charset=utf-8"
    assert client.get(f"/api/v1/scan/{scored.token}").content == kept.content
    settings.SCAN_CARD_CACHE_SECONDS = 0
    assert client.get(f"/api/v1/scan/{scored.token}").content == kept.content
    assert kept.json() == {
        "view": "public",
        "enterprise": {
            "uscc": scored.enterprise.uscc,
            "name": scored.enterprise.name,
            "scene": {"code": scored.enterprise.scene.code, "name": scored.enterprise.scene.name_en},
            "licence_status": "active",
            "tier": "2",
            "published_results": [],
        },
    }
