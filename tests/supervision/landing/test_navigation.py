"""No role sees a link it cannot follow: from each role's home page, every link on it and on the
pages it leads to (two steps deep) answers, none with 403, 404 or a server error."""

import re
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client

from core.models import District
from tests.factories import (
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HREF = re.compile(r'<a\b[^>]*\bhref="([^"]+)"')
# Not pages of the platform's own: the admin (Django's), the API's browser page and raw files.
SKIP = ("/admin/", "/api/", "/static/", "/media/", "/i18n/", "/accounts/logout/")
DEPTH = 2
MAX_PAGES = 150


def links(html: str) -> list[str]:
    found = []
    for raw in HREF.findall(html):
        url = urldefrag(raw.replace("&amp;", "&"))[0]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith(SKIP):
            continue
        found.append(url)
    return found


def walk(client: Client) -> dict[str, tuple[int, str]]:
    """Every page reached from / within DEPTH links: {url: (status, the page it was linked from)}."""
    seen: dict[str, tuple[int, str]] = {}
    frontier = [("/", "")]
    for _ in range(DEPTH + 1):
        following = []
        for url, parent in frontier:
            if url in seen or len(seen) >= MAX_PAGES:
                continue
            response = client.get(url)
            seen[url] = (response.status_code, parent)
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                following += [(link, url) for link in links(response.content.decode())]
        frontier = following
    return seen


@pytest.fixture
def people(db):
    """One of each role the demo has, each with something to look at."""
    enterprise = EnterpriseFactory()
    return {
        "public": None,
        "business": MembershipFactory(enterprise=enterprise).user,
        "inspector": InspectorFactory().user,
        "city regulator": RegulatorFactory().user,
        # A department's district lead ranks and plans, but does not set the scoring policy.
        "district regulator": RegulatorFactory(district=District.objects.get(code="110108")).user,
        "admin": UserFactory(username="root", is_superuser=True, is_staff=True),
        "no role": UserFactory(username="nobody"),
    }


ROLES = ["public", "business", "inspector", "city regulator", "district regulator", "admin", "no role"]


@pytest.mark.parametrize("role", ROLES)
def test_every_link_a_role_is_shown_opens(people, role):
    client = Client(headers={"Accept-Language": "en"})
    if people[role] is not None:
        client.force_login(people[role])
    pages = walk(client)
    assert len(pages) >= 2  # the public: the home page and the sign-in page at least
    broken = {url: found for url, found in pages.items() if found[0] >= 400}
    assert broken == {}
