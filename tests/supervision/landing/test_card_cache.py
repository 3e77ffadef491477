"""The public card kept SCAN_CARD_CACHE_SECONDS in a worker (supervision.landing.panels): what it
may hold back, and what it never does. The suite computes the card at every scan
(SCAN_CARD_CACHE_SECONDS=0, pyproject.toml); these tests turn the cache on."""

import pytest
from django.test import Client

from core import codes
from core.models import ScanEvent
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
