"""Each role's first minutes on a fresh demo city, in a real browser at the size that role works
at: the public with a phone, the business with a phone, the inspector with a tablet, the regulator
at a desk. Every link of the home page and its navigation opens without an error, no script
fails, and the pages a new user looks at first show their figures. Screenshots of each role's home
and of those pages in var/e2e-screenshots/first-minutes/<role>/."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from core.models import IdentityCode
from demo.seed import business_enterprise, demo_seed
from tests.e2e.browser import PHONE, SHOTS, TABLET, Step, sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
# Links a walk must not follow: signing out ends the walk, the admin is not a first-minutes page.
SKIPPED = ("/accounts/logout", "/admin/")
DOWNLOADS = (".pdf", ".png", ".svg", ".csv", "/download", "/export")
MOST_LINKS = 40


def test_each_roles_first_minutes(browser, live_server):
    """One city (seeding it is the slow part), four people."""
    demo_seed(enterprises=60, password=PASSWORD, history=True)  # as scripts/serve, smaller
    public_scans_a_code_with_a_phone(browser, live_server)
    business_sees_its_standing(browser, live_server)
    inspector_starts_the_day_on_a_tablet(browser, live_server)
    regulator_finds_a_ranking_a_plan_and_figures(browser, live_server)


class Walk:
    """Follows a page's links, recording refusals, script errors and console errors."""

    def __init__(self, page, base: str, folder: str):
        self.page, self.base = page, base
        self.step = Step(SHOTS / "first-minutes" / folder)
        self.failures: list[str] = []
        page.on("pageerror", lambda error: self.failures.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.failures.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )

    def open(self, path: str, name: str | None = None):
        """Open a page; a named one is photographed once its scripts have settled."""
        response = self.page.goto(self.base + path, wait_until="load")
        if response is None or response.status >= 400:
            self.failures.append(f"{path}: {response.status if response else 'no response'}")
        if name:
            self.page.wait_for_load_state("networkidle")
            self.step.shot(self.page, name)
        return response

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all(
            "header a[href], nav a[href], main a[href]", "links => links.map(a => a.href)"
        )
        paths = []
        for href in hrefs:
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != self.base or parts.path.startswith(SKIPPED):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path not in paths:
                paths.append(path)
        return paths[:MOST_LINKS]

    def follow_all(self, start: str) -> list[str]:
        self.open(start, "home")
        paths = self.links()
        for path in paths:
            if path.split("?")[0].endswith(DOWNLOADS):
                status = self.page.request.get(self.base + path).status
                if status >= 400:
                    self.failures.append(f"{path}: {status}")
                continue
            self.open(path)
        return paths


def public_scans_a_code_with_a_phone(browser, live_server):
    enterprise = business_enterprise()
    token = IdentityCode.objects.get(enterprise=enterprise, status=IdentityCode.Status.ACTIVE).token
    page = browser.new_context(viewport=PHONE, locale="en-US", has_touch=True).new_page()
    walk = Walk(page, live_server.url, "public")

    paths = walk.follow_all(f"/c/{token}")

    walk.open(f"/c/{token}", "landing")
    assert enterprise.name in page.inner_text("main")
    assert f"/c/{token}/timeline" in paths
    assert walk.failures == []


def business_sees_its_standing(browser, live_server):
    page = sign_in(browser, live_server, "business", viewport=PHONE)
    walk = Walk(page, live_server.url, "business")

    walk.follow_all("/")

    walk.open("/", "home-again")
    main = page.inner_text("main")
    assert "Tier" in main and "Credit" in main
    assert walk.failures == []


def inspector_starts_the_day_on_a_tablet(browser, live_server):
    page = sign_in(browser, live_server, "inspector", viewport=TABLET)
    walk = Walk(page, live_server.url, "inspector")

    paths = walk.follow_all("/")

    assert "/tasks/" in paths
    walk.open("/tasks/", "today")
    assert business_enterprise().name in page.inner_text("main")
    walk.open("/tasks/route", "route")
    # The demo's enterprises have locations: the cards and the sketch share the page's width.
    main, card = page.locator("main").bounding_box(), page.locator("ol.lp-route > li").first.bounding_box()
    sketch = page.locator(".lp-route-sketch").bounding_box()
    for box in (card, sketch):
        left, right = box["x"] - main["x"], (main["x"] + main["width"]) - (box["x"] + box["width"])
        assert abs(left - right) <= 2
    assert walk.failures == []


def regulator_finds_a_ranking_a_plan_and_figures(browser, live_server):
    page = sign_in(browser, live_server, "regulator", viewport=DESKTOP)
    walk = Walk(page, live_server.url, "regulator")

    walk.follow_all("/")

    # The ranking differs from row to row.
    walk.open("/ranking/", "ranking")
    scores = page.locator("#ranking tbody tr td[data-label='Risk score']").all_inner_texts()
    assert len(scores) > 5 and len(set(scores)) > 3

    # A risk plan for next month has entries.
    today = timezone.localdate()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    walk.open("/planning/plans/new", "plan-form")
    page.fill("#period_from", first.isoformat())
    page.fill("#period_to", last.isoformat())
    page.fill("#capacity", "20")
    page.click("#plan-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    walk.step.shot(page, "plan")
    assert (
        "#scheduled" not in page.url
        and page.locator("#scheduled tbody tr td[data-label='Enterprise']").count() > 0
    )

    # The loop monitor has figures.
    walk.open("/monitor/loop/", "monitor")
    assert any(char.isdigit() for char in page.inner_text("main"))
    assert walk.failures == []
