"""The inspector's tablet without a signal, in the real browser (Debian's chromium through Playwright)
at 768x1024 (docs/OFFLINE.md): the day pack taken while online, a whole inspection done offline
across a reload and a browser restart, then sent; a task cancelled meanwhile; two tablets answering
one item differently. While "offline", a server-side log proves that no request reached the server.
Screenshots in var/e2e-screenshots/offline/."""

import hashlib
import os
import threading
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_started
from django.utils import timezone

from core.models import AuditEvent
from supervision.inspections import services as workflow
from supervision.models import AnswerEvent, Inspection, InspectionTask, Signature
from tests.e2e.browser import CHROMIUM, SHOTS, TABLET, Step, close_playwright_connections, draw, wait_for
from tests.factories import PASSWORD, jpeg_bytes, make_checklist, make_manual, make_task, make_team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHOTOS = [("kitchen.jpg", jpeg_bytes("red", (64, 48))), ("fridge.jpg", jpeg_bytes("green", (48, 64)))]


class ServerLog:
    """Every request that reaches the live server (static files included), by path."""

    def __init__(self):
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, sender, environ=None, **kwargs):
        with self.lock:
            self.paths.append(environ.get("PATH_INFO", "") if environ else "?")

    def take(self) -> list[str]:
        with self.lock:
            paths, self.paths = self.paths, []
        return paths


@pytest.fixture
def server_log():
    log = ServerLog()
    request_started.connect(log, dispatch_uid="offline-tablet-log")
    yield log
    request_started.disconnect(dispatch_uid="offline-tablet-log")


@pytest.fixture
def playwright():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError("chromium is not installed; scripts/bootstrap.sh installs it")
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap.sh installs it)")
    from playwright.sync_api import sync_playwright

    # The service worker's own requests go through the context's routes (so "offline" holds for them).
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as driver:
        yield driver
        close_playwright_connections()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    os.environ.pop("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", None)


# A browser without any network from its first moment: every request, the service worker's own
# included (its Background Sync fires as soon as it starts), goes to a proxy that is not there.
NO_NETWORK = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def tablet(playwright, profile=None, browser=None, *, network=True):
    """A tablet: a persistent profile (``profile``: its storage survives closing the browser),
    started without a network when ``network`` is False, or a fresh context of ``browser``."""
    options = {"viewport": TABLET, "locale": "en-US", "has_touch": True, "service_workers": "allow"}
    if profile is not None:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS + ([] if network else NO_NETWORK), **options
        )
    else:
        context = browser.new_context(**options)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return context, page


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/", page.url


def take_day_pack(page, live_server, tasks=1):
    page.goto(f"{live_server.url}/tablet/")
    page.click("[data-take-pack]")
    page.wait_for_selector(f"#tb-pack-status[data-tasks='{tasks}']")
    page.wait_for_selector("#tb-ready[data-ready='1']", timeout=20_000)


def offline(context):
    context.set_offline(True)
    context.route("**/*", lambda route: route.abort("internetdisconnected"))


def nothing_reached_the_server(log: ServerLog) -> None:
    """While offline by Playwright's emulation, no request of the page or of its service worker
    reached the server. The one thing the emulation does not cover is the browser's own update
    check of the service worker script (/sw.js); without a network it fails and changes nothing.
    The restart below is offline for the whole browser, and there not even that gets through."""
    assert set(log.take()) <= {"/sw.js"}


def online(context):
    context.unroute("**/*")
    context.set_offline(False)


def answer(page, item, result, note):
    page.check(f"input[name='result-{item}'][value='{result}']")
    page.fill(f"#tb-note-{item}", note)
    page.dispatch_event(f"#tb-note-{item}", "change")


def sign_everything(page, team):
    for key in [f"inspector:{inspector.pk}" for inspector in team] + ["representative:"]:
        signer = f".tb-signer[data-key='{key}']"
        draw(page, f"{signer} canvas")
        page.click(f"{signer} [data-sign]")
        page.wait_for_selector(f"{signer} [data-signed] .badge.lp-ok")


def start(page, task):
    page.click(f".tb-task[data-task='{task.pk}'] a")
    page.click(f"[data-start='{task.pk}']")
    page.wait_for_selector("#tb-form")


def send(page):
    page.goto(page.url.split("#")[0] + "#/")
    page.click("[data-sync-now]")


def test_a_whole_inspection_offline_survives_a_reload_and_a_restart_and_is_sent_once(
    playwright, live_server, server_log, tmp_path, enterprise, regulator_user
):
    make_checklist(items=3)
    make_manual()
    team = make_team()
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    lead = team[0].user
    step = Step(SHOTS / "offline")
    profile = tmp_path / "tablet-profile"

    context, page = tablet(playwright, profile)
    sign_in(page, live_server, lead)
    take_day_pack(page, live_server)
    step.shot(page, "day-pack")

    # No signal from here on: the shell, the day pack and the record come from the tablet.
    offline(context)
    server_log.take()
    page.reload()
    page.wait_for_selector(f".tb-task[data-task='{task.pk}']")
    start(page, task)
    items = [i.pk for i in items_of_task(task)]
    answer(page, items[0], "non_compliant", "生熟混放")
    answer(page, items[1], "compliant", "ok")
    answer(page, items[2], "not_applicable", "")
    page.set_input_files(
        f"#tb-photos-{items[0]}",
        files=[{"name": name, "mimeType": "image/jpeg", "buffer": data} for name, data in PHOTOS],
    )
    page.wait_for_function(
        f"() => document.querySelectorAll('#tb-item-{items[0]} [data-photos] img').length === 2"
    )
    page.fill("#tb-representative", "王经理")
    page.dispatch_event("#tb-representative", "change")
    sign_everything(page, team)
    page.check("input[name='conclusion'][value='rectify']")
    deadline = (timezone.localdate() + timedelta(days=10)).isoformat()
    page.fill("#tb-deadline", deadline)
    page.dispatch_event("#tb-deadline", "change")
    step.shot(page, "done-offline")
    page.click("[data-submit]")
    page.wait_for_selector("#tb-submitted")
    journal_id = page.get_attribute("#tb-form", "data-journal")
    nothing_reached_the_server(server_log)
    assert not Inspection.objects.filter(task=task).exists()
    context.close()
    # A request the closed browser had sent (its service worker's update check, the one thing the
    # emulation lets through) may be handled only now: it belongs to the window above, by its rule.
    nothing_reached_the_server(server_log)

    # The browser opened again, still without a signal: everything is there.
    context, page = tablet(playwright, profile, network=False)
    page.goto(f"{live_server.url}/tablet/")
    page.wait_for_selector(f"li[data-journal='{journal_id}'][data-state='waiting']")
    page.goto(f"{live_server.url}/tablet/#/inspection/{journal_id}")
    page.wait_for_selector("#tb-submitted")
    assert page.is_checked(f"input[name='result-{items[0]}'][value='non_compliant']")
    assert page.input_value(f"#tb-note-{items[0]}") == "生熟混放"
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#tb-item-{items[0]} [data-photos] img')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length === 2"
    )
    assert page.locator(".tb-signer [data-signed] .badge.lp-ok").count() == 3
    step.shot(page, "after-restart-offline")
    assert server_log.take() == []
    context.close()

    # The signal is back: sent, in one record, once.
    context, page = tablet(playwright, profile)
    page.goto(f"{live_server.url}/tablet/")
    send(page)
    wait_for(lambda: Inspection.objects.filter(task=task, status="submitted").exists(), timeout=20)
    page.wait_for_selector(f"li[data-journal='{journal_id}'][data-state='sent']")
    page.click("[data-sync-now]")  # sent again: nothing more
    page.wait_for_selector("#tb-sync-status:not(:has-text('Sending'))")
    step.shot(page, "sent")
    context.close()

    record = Inspection.objects.get(task=task)
    assert str(record.client_id) == journal_id
    photos = sorted(p.sha256 for a in record.answers.all() for p in a.photos.all())
    assert photos == sorted(hashlib.sha256(data).hexdigest() for _, data in PHOTOS)
    assert Signature.objects.filter(inspection=record).count() == 3
    assert Inspection.objects.filter(task=task).count() == 1
    assert AuditEvent.objects.filter(action="inspection.submit", target_id=str(record.pk)).count() == 1
    # Every change the inspector made is in the history, with both times; the last of each item is the answer.
    events = AnswerEvent.objects.filter(inspection=record)
    assert {e.item_id for e in events} == set(items) and {e.source for e in events} == {"tablet"}
    assert all(e.device_at < e.received_at for e in events)
    assert record.device_submitted_at < record.submitted_at

    # The same inspection done online gives the same record.
    same = online_twin(record, team, regulator_user)
    mine, theirs = workflow.inspection_content(record), workflow.inspection_content(same)
    for content in (mine, theirs):
        content.pop("task")
    assert mine == theirs
    assert mine["answers"][0]["photos"] == photos


def items_of_task(task):
    return sorted(
        workflow.task_checklists(task)[0].items.order_by("position"), key=lambda item: item.position
    )


def online_twin(record, team, regulator_user) -> Inspection:
    """The record done again through the online steps, with the same answers, photo files,
    signature drawings and deadline."""
    twin_task = make_task(enterprise=record.enterprise, team=team, actor=regulator_user)
    actor = team[0].user
    twin = workflow.inspection_start(task=twin_task, actor=actor)
    for answer in record.answers.order_by("item__position"):
        workflow.inspection_answer(
            inspection=twin,
            actor=actor,
            item_id=answer.item_id,
            result=answer.result,
            note=answer.note,
            photos=[
                SimpleUploadedFile("photo.jpg", photo.original.open("rb").read())
                for photo in answer.photos.order_by("pk")
            ],
        )
    workflow.inspection_update(inspection=twin, actor=actor, representative_name=record.representative_name)
    for signature in record.signatures.all():
        workflow.inspection_sign(
            inspection=twin,
            actor=actor,
            role=signature.role,
            image=signature.image.open("rb").read(),
            inspector=signature.inspector,
        )
    return workflow.inspection_submit(
        inspection=twin,
        actor=actor,
        submission_id=uuid.uuid4(),
        conclusion=record.conclusion,
        rectify_deadline=record.rectify_deadline,
    )


def test_work_on_a_task_cancelled_while_offline_is_kept_and_shown_refused_with_the_reason(
    playwright, live_server, server_log, enterprise, regulator_user
):
    make_checklist(items=2)
    team = make_team()
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    context, page = tablet(playwright, browser=browser)
    sign_in(page, live_server, team[0].user)
    take_day_pack(page, live_server)

    offline(context)
    server_log.take()
    page.reload()
    page.wait_for_selector(f".tb-task[data-task='{task.pk}']")
    start(page, task)
    items = [i.pk for i in items_of_task(task)]
    answer(page, items[0], "compliant", "")
    answer(page, items[1], "compliant", "")
    page.set_input_files(
        f"#tb-photos-{items[0]}", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": PHOTOS[0][1]}]
    )
    page.wait_for_function(
        f"() => document.querySelectorAll('#tb-item-{items[0]} [data-photos] img').length === 1"
    )
    # The disk is full for the next photo: said clearly, and the photo already kept stays.
    page.evaluate(
        """() => {
        const put = IDBObjectStore.prototype.put;
        IDBObjectStore.prototype.put = function (value) {
          if (this.name === "photos") { throw new DOMException("full", "QuotaExceededError"); }
          return put.apply(this, arguments);
        };
    }"""
    )
    page.set_input_files(
        f"#tb-photos-{items[1]}", files=[{"name": "b.jpg", "mimeType": "image/jpeg", "buffer": PHOTOS[1][1]}]
    )
    page.wait_for_selector("#tb-message:has-text('storage is full')")
    assert page.locator(f"#tb-item-{items[1]} [data-photos] img").count() == 0
    sign_everything(page, team)
    page.check("input[name='conclusion'][value='pass']")
    page.click("[data-submit]")
    page.wait_for_selector("#tb-submitted")
    nothing_reached_the_server(server_log)

    # Meanwhile the regulator cancels the task.
    workflow.task_cancel(task=task, actor=regulator_user, reason="企业已停业整顿")
    online(context)
    send(page)
    page.wait_for_selector("li[data-state='refused'] .tb-refusal")
    text = page.inner_text("li[data-state='refused']")
    assert "企业已停业整顿" in text and "task_cancelled" in text
    Step(SHOTS / "offline-refused").shot(page, "refused")

    # Kept on the tablet, after a reload too, until a person decides.
    page.reload()
    page.wait_for_selector("li[data-state='refused'] [data-remove]")
    page.goto(
        page.url.split("#")[0]
        + "#/inspection/"
        + page.get_attribute("li[data-state='refused']", "data-journal")
    )
    page.wait_for_function(
        f"() => document.querySelectorAll('#tb-item-{items[0]} [data-photos] img').length === 1"
    )
    assert not Inspection.objects.filter(task=task).exists()
    assert InspectionTask.objects.get(pk=task.pk).status == "cancelled"
    context.close()
    browser.close()


def test_two_tablets_answering_one_item_differently_show_the_conflict_and_keep_both(
    playwright, live_server, enterprise, regulator_user
):
    make_checklist(items=2)
    team = make_team()
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    tablets = [tablet(playwright, browser=browser) for _ in team]
    for (context, page), inspector in zip(tablets, team, strict=True):
        sign_in(page, live_server, inspector.user)
        take_day_pack(page, live_server)
        offline(context)
    item = items_of_task(task)[0].pk
    for (_context, page), result in zip(tablets, ["compliant", "non_compliant"], strict=True):
        page.reload()
        page.wait_for_selector(f".tb-task[data-task='{task.pk}']")
        start(page, task)
        answer(page, item, result, f"{result} seen")
    for context, page in tablets:
        online(context)
        send(page)
        page.wait_for_selector("li[data-journal][data-state='sent']")
    first = tablets[0][1]
    first.click("[data-sync-now]")  # brings back what the other tablet did
    for _context, page in tablets:
        page.wait_for_selector(f".tb-conflict[data-item='{item}']")
        assert "Kept (the later): not compliant" in page.inner_text(f".tb-conflict[data-item='{item}']")
    Step(SHOTS / "offline-conflict").shot(first, "conflict")
    record = Inspection.objects.get(task=task)
    # Both answers are in the history (each tablet's result, then its note: two events each).
    history = AnswerEvent.objects.filter(inspection=record, item_id=item).order_by("device_at")
    assert [(e.result, e.actor_id) for e in history] == [
        ("compliant", team[0].user.pk),
        ("compliant", team[0].user.pk),
        ("non_compliant", team[1].user.pk),
        ("non_compliant", team[1].user.pk),
    ]
    assert record.answers.get(item_id=item).result == "non_compliant"
    browser.close()
