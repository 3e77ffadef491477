"""The enterprise's own story (一企一档): one timeline, newest first, in the reader's language, with
what each viewer sees following the permission rules (supervision.landing.timeline and the
providers in core, checklists and the features' timeline.py)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from checklists import notices
from checklists.models import ChecklistItem
from core import codes
from core.models import Complaint, Department
from supervision.complaints import services as triage
from supervision.inspections import services as workflow
from supervision.landing.timeline import timeline_for
from supervision.models import CreditEvent, Inspection, RectificationOrder, Result, SelfIdentifiedIssue
from supervision.publication import services as publication
from supervision.self_inspection import services as self_service
from tests.factories import (
    FAILING,
    InspectorFactory,
    RegulatorFactory,
    make_manual,
    make_ready,
    make_task,
    make_team,
    make_uscc,
    rectify,
    submit,
)

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 3, 10, 0, tzinfo=BEIJING)
NOW = T0 + timedelta(days=20)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def inspect(time_machine, *, enterprise, team, regulator, when, **submit_kwargs) -> Inspection:
    """A visit of ``team``: mar-1 (minor) and mar-2 (major) not compliant, submitted ``when``."""
    time_machine.move_to(when, tick=False)
    task = submit_kwargs.pop("task", None) or make_task(enterprise=enterprise, team=team, actor=regulator)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, FAILING)
    return submit(inspection, team[0].user, Inspection.Conclusion.RECTIFY, **submit_kwargs)


@pytest.fixture
def story(time_machine, enterprise, business_user, team, regulator_user, loop_checklist):
    """Three weeks of one enterprise's supervision, each step at its own moment (T0 + days)."""
    lead, member = team[0].user, business_user
    time_machine.move_to(at(0), tick=False)
    code = codes.code_issue(enterprise=enterprise)
    time_machine.move_to(at(0, 1), tick=False)
    make_manual("catering")
    notices.manual_acknowledge(enterprise=enterprise, user=member)
    time_machine.move_to(at(0, 2), tick=False)
    dismissed = Complaint.objects.create(enterprise=enterprise, text="门口堆放杂物")
    time_machine.move_to(at(0, 3), tick=False)
    triage.complaint_dismiss(complaint=dismissed, actor=regulator_user, reason="不属于本企业")

    # A routine visit (published after the delay): rectified at the second attempt, then objected to.
    first = inspect(time_machine, enterprise=enterprise, team=team, regulator=regulator_user, when=at(1))
    order = RectificationOrder.objects.get(inspection=first)
    time_machine.move_to(at(2), tick=False)
    rectify(order, member)
    time_machine.move_to(at(2, 1), tick=False)
    workflow.order_verify(order=order, actor=lead, accepted=False, note="照片看不清")
    time_machine.move_to(at(3), tick=False)
    rectify(order, member)
    time_machine.move_to(at(3, 1), tick=False)
    workflow.order_verify(order=order, actor=lead, accepted=True)

    # A complaint checked by a visit (never published on its own) whose order is let run overdue.
    time_machine.move_to(at(3, 12), tick=False)
    checked = Complaint.objects.create(enterprise=enterprise, text="后厨有老鼠出没")
    time_machine.move_to(at(3, 13), tick=False)
    task = triage.complaint_to_task(
        complaint=checked,
        actor=regulator_user,
        inspectors=team,
        due_from=date(2025, 3, 6),
        due_to=date(2025, 3, 9),
    )
    second = inspect(
        time_machine,
        enterprise=enterprise,
        team=team,
        regulator=regulator_user,
        when=at(4),
        task=task,
        rectify_deadline=at(5),
    )
    overdue = RectificationOrder.objects.get(inspection=second)

    # The business checks itself and fixes what it found.
    time_machine.move_to(at(4, 2), tick=False)
    draft, _ = self_service.self_inspection_start(enterprise=enterprise, user=member)
    for item in ChecklistItem.objects.filter(checklist__in=draft.checklists.all()):
        result = Result.NON_COMPLIANT if item.code == "mar-3" else Result.COMPLIANT
        self_service.self_inspection_answer(
            self_inspection=draft, user=member, item_id=item.pk, result=result
        )
    self_service.self_inspection_submit(self_inspection=draft, user=member)
    time_machine.move_to(at(4, 3), tick=False)
    issue = SelfIdentifiedIssue.objects.get(enterprise=enterprise)
    self_service.self_issue_fix(issue=issue, user=member, note="已更换")

    CreditEvent.objects.create(
        enterprise=enterprise,
        kind=CreditEvent.Kind.PENALTY,
        occurred_on=date(2025, 3, 8),
        reference="京朝市监罚〔2025〕12号",
        note="内部备注",
        recorded_by=regulator_user,
    )
    time_machine.move_to(at(6), tick=False)
    workflow.order_escalate(order=overdue, actor=regulator_user, note="逾期未整改，立案调查")

    time_machine.move_to(at(9), tick=False)
    publication.objection_submit(inspection=first, actor=member, reason="第二项已当场整改")
    time_machine.move_to(at(10), tick=False)
    publication.objection_decide(
        inspection=first,
        actor=regulator_user,
        upheld=True,
        correction="第二项当场整改完毕",
        corrected_conclusion="pass",
    )
    time_machine.move_to(at(12), tick=False)
    codes.code_rotate(enterprise=enterprise, actor=regulator_user, reason="贴纸遗失")
    time_machine.move_to(NOW, tick=False)
    return {
        "enterprise": enterprise,
        "first": first,
        "second": second,
        "order": order,
        "overdue": overdue,
        "old_code": code,
        "dismissed": dismissed,
        "checked": checked,
    }


EVERYTHING = {
    "code_issued": 2,
    "code_replaced": 1,
    "manual_acknowledged": 1,
    "complaint_received": 2,
    "complaint_dismissed": 1,
    "complaint_tasked": 1,
    "complaint_verified": 1,
    "inspection": 2,
    "order_issued": 2,
    "order_answered": 2,
    "order_returned": 1,
    "order_closed": 1,
    "order_overdue": 1,
    "order_escalated": 1,
    "self_inspection": 1,
    "self_issue_fixed": 1,
    "credit_event": 1,
    "publication": 1,
    "objection_submitted": 1,
    "objection_upheld": 1,
}
COMPLAINTS = {"complaint_received", "complaint_dismissed", "complaint_tasked", "complaint_verified"}


def kinds(entries) -> dict[str, int]:
    found: dict[str, int] = {}
    for entry in entries:
        found[entry.kind] = found.get(entry.kind, 0) + 1
    return found


def everything(story, viewer):
    return timeline_for(enterprise=story["enterprise"], viewer=viewer)[:1000]


@pytest.fixture
def colleague(db):
    """A market-regulation inspector of Chaoyang on none of the story's tasks."""
    return InspectorFactory().user


@pytest.fixture
def fire_regulator(db):
    """Fire and rescue, the whole city: catering in scope, its own checklist items only."""
    return RegulatorFactory(department=Department.objects.get(code="fire_rescue")).user


# --- what each viewer sees --------------------------------------------------------------------------------


def test_the_regulator_in_scope_sees_the_whole_story_newest_first(story, regulator_user):
    entries = everything(story, regulator_user)
    assert kinds(entries) == EVERYTHING
    assert [entry.at for entry in entries] == sorted((entry.at for entry in entries), reverse=True)
    assert entries[0].kind in {"code_issued", "code_replaced"} and entries[-1].kind == "code_issued"
    # Every entry a regulator sees links to its record.
    assert all(entry.url for entry in entries), [entry.kind for entry in entries if not entry.url]


def test_the_business_sees_its_story_but_never_the_complaints_about_it(story, business_user):
    entries = everything(story, business_user)
    assert kinds(entries) == {kind: n for kind, n in EVERYTHING.items() if kind not in COMPLAINTS}
    # Its own credit event, without the regulator's note and without the ranking's page.
    (credit,) = [entry for entry in entries if entry.kind == "credit_event"]
    assert "京朝市监罚〔2025〕12号" in str(credit.detail) and "内部备注" not in str(credit.detail)
    assert credit.url is None


def test_an_inspector_in_scope_sees_the_loop_but_not_complaints_credit_or_objections_raised(story, colleague):
    seen = kinds(everything(story, colleague))
    hidden = COMPLAINTS | {"credit_event", "objection_submitted"}
    assert seen == {kind: n for kind, n in EVERYTHING.items() if kind not in hidden}


def test_an_assigned_inspector_sees_the_complaint_their_task_checked_only(story, team):
    seen = kinds(everything(story, team[0].user))
    assert {kind: seen.get(kind, 0) for kind in COMPLAINTS} == {
        "complaint_received": 1,
        "complaint_tasked": 1,
        "complaint_verified": 1,
        "complaint_dismissed": 0,
    }


def test_the_public_sees_only_the_published_part(story, outsider):
    for viewer in (AnonymousUser(), outsider):
        entries = everything(story, viewer)
        # The routine visit's result (the complaint check is never published on its own) and its correction.
        assert kinds(entries) == {"published_result": 1, "objection_upheld": 1}
        correction, result = sorted(entries, key=lambda entry: entry.kind)
        assert result.all_day and result.url is None and result.at == datetime(2025, 3, 4, tzinfo=BEIJING)
        assert str(result.title) == "Published inspection result: pass"  # as corrected
        assert "corrected after objection" in str(result.detail)
        assert (
            correction.all_day and correction.url is None and "第二项当场整改完毕" in str(correction.detail)
        )


def test_any_first_n_entries_are_the_newest_n_whatever_each_provider_fetched(story, regulator_user, outsider):
    # Each provider fetches only its newest n records (and older ones with a later event), so a
    # short page must still be the head of the whole timeline.
    for viewer in (regulator_user, outsider):
        full = [(e.kind, e.record_id, e.at) for e in everything(story, viewer)]
        timeline = timeline_for(enterprise=story["enterprise"], viewer=viewer)
        for n in range(1, len(full) + 1):
            assert [(e.kind, e.record_id, e.at) for e in timeline[:n]] == full[:n], n
        assert [(e.kind, e.record_id, e.at) for e in timeline[3:7]] == full[3:7]


def test_the_departments_whose_findings_are_counted_follow_the_records_rule(
    story, regulator_user, fire_regulator, colleague, team, business_user, admin_user
):
    # The provider counts a page of records at once; the record page asks one record at a time.
    from supervision.inspections.permissions import item_wall, item_walls

    inspections = list(Inspection.objects.filter(enterprise=story["enterprise"]).order_by("pk"))
    for viewer in (regulator_user, fire_regulator, colleague, team[0].user, business_user, admin_user):
        expected = {i.pk: item_wall(viewer, i) for i in inspections}
        assert item_walls(viewer, inspections) == expected, viewer


def test_findings_are_counted_on_the_items_the_viewer_sees(story, regulator_user, fire_regulator):
    def inspection_details(viewer):
        return {str(e.detail) for e in everything(story, viewer) if e.kind == "inspection"}

    assert inspection_details(regulator_user) == {"findings: 0 critical, 1 major, 1 minor"}
    # Each department sees its own items: the fire department's inspector found nothing of its own.
    assert inspection_details(fire_regulator) == {"findings: 0 critical, 0 major, 0 minor"}


def test_entries_say_what_happened_in_words(story, regulator_user):
    titles = {entry.kind: str(entry.title) for entry in everything(story, regulator_user)}
    number = story["order"].number
    assert titles["order_closed"] == f"Rectification accepted, order {number} closed"
    assert titles["order_overdue"] == f"Order {story['overdue'].number} overdue"
    assert titles["manual_acknowledged"] == "Compliance manual acknowledged"
    assert titles["credit_event"] == "Administrative penalty"
    assert not any("." in title.split(" ")[0] for title in titles.values())  # no "manual.acknowledge"


def test_the_overdue_entry_is_at_the_deadline_and_only_for_an_order_left_unanswered(story, regulator_user):
    overdue = [entry for entry in everything(story, regulator_user) if entry.kind == "order_overdue"]
    assert [(entry.record_id, entry.at) for entry in overdue] == [(story["overdue"].pk, at(5))]


def test_the_words_follow_the_readers_language_when_rendered(story, regulator_user):
    # Built while English is active, put into words in Chinese when rendered.
    entries = everything(story, regulator_user)
    (inspection, _) = [entry for entry in entries if entry.kind == "inspection"]
    (credit,) = [entry for entry in entries if entry.kind == "credit_event"]
    with translation.override("zh-hans"):
        assert str(inspection.detail) == "检查发现：严重 0 项，较重 1 项，一般 1 项"
        assert str(credit.title) == str(CreditEvent.Kind.PENALTY.label)
        assert str(credit.title) != "Administrative penalty"
    assert str(inspection.detail) == "findings: 0 critical, 1 major, 1 minor"


# --- the pages and the API --------------------------------------------------------------------------------


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def timeline_url(story) -> str:
    return reverse("enterprise-timeline", args=[story["enterprise"].uscc])


def api_url(story) -> str:
    return f"/api/v1/enterprises/{story['enterprise'].uscc}/timeline"


@pytest.fixture
def out_of_scope(db, haidian_regulator):
    return {
        "regulator": haidian_regulator,
        "inspector": make_team(1, districts=("110108",), prefix="far")[0].user,
    }


@pytest.mark.parametrize("who", ["regulator", "inspector"])
def test_an_enterprise_out_of_scope_is_not_found(story, out_of_scope, who):
    client = client_for(out_of_scope[who])
    assert client.get(timeline_url(story)).status_code == 404
    response = client.get(api_url(story))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_anonymous_is_sent_to_sign_in_and_the_api_wants_a_token(story):
    client = client_for()
    response = client.get(timeline_url(story))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(api_url(story)).status_code == 401


def test_the_public_reads_the_published_part_through_the_scanned_code(story):
    code = story["enterprise"].codes.get(status="active")
    page = client_for().get(reverse("landing-timeline", args=[code.token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Published inspection result: pass" in html and "2025-03-04" in html
    assert story["order"].number not in html and "后厨有老鼠" not in html and "京朝市监罚" not in html
    # The replaced code shows nothing.
    assert client_for().get(reverse("landing-timeline", args=[story["old_code"].token])).status_code == 410


def test_the_page_and_the_api_show_the_same_entries(story, business_user):
    client = client_for(business_user)
    page = client.get(timeline_url(story))
    assert page.status_code == 200
    html = page.content.decode()
    body = client.get(api_url(story)).json()
    assert body["page"] == 1 and body["has_next"] is False
    assert [item["kind"] for item in body["items"]] == [e.kind for e in everything(story, business_user)]
    first = body["items"][0]
    assert set(first) == {"kind", "at", "all_day", "title", "detail", "url", "record_id"}
    for item in body["items"]:
        assert item["title"] in html.replace("&#x27;", "'")
    assert "manual.acknowledge" not in html


def test_pages_of_the_timeline_follow_one_another(story, regulator_user):
    client = client_for(regulator_user)
    first = client.get(api_url(story), {"page_size": 10}).json()
    second = client.get(api_url(story), {"page_size": 10, "page": 2}).json()
    third = client.get(api_url(story), {"page_size": 10, "page": 3}).json()
    assert first["has_next"] and second["has_next"] and not third["has_next"]
    every = first["items"] + second["items"] + third["items"]
    assert [item["kind"] for item in every] == [e.kind for e in everything(story, regulator_user)]


@pytest.mark.parametrize("page", ["abc", "0", "-1", "100001"])
def test_a_bad_page_number_is_refused_by_the_api_and_read_as_page_one_by_the_page(
    story, regulator_user, page
):
    client = client_for(regulator_user)
    response = client.get(api_url(story), {"page": page})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    html = client.get(timeline_url(story), {"page": page})
    assert html.status_code == 200 and "Page 1" in html.content.decode()


@pytest.mark.parametrize("page", ["\x00", "1\x00"])
def test_a_nul_in_the_page_number_is_refused_by_the_api_and_the_page(story, regulator_user, page):
    # Refused at the door (core.middleware), not read as page one: never a 500.
    client = client_for(regulator_user)
    response = client.get(api_url(story), {"page": page})
    assert response.status_code == 400 and response.json()["code"] == "invalid_characters"
    assert response.json()["details"] == {"in": "query", "name": "page"}
    html = client.get(timeline_url(story), {"page": page})
    assert html.status_code == 400 and "control character" in html.content.decode()


def test_a_page_far_beyond_the_story_is_empty(story, regulator_user):
    client = client_for(regulator_user)
    body = client.get(api_url(story), {"page": 100_000}).json()
    assert body == {"items": [], "page": 100_000, "page_size": 50, "has_next": False}
    assert client.get(timeline_url(story), {"page": 99_999_999}).status_code == 200


@pytest.mark.parametrize(
    ("uscc", "status"),
    # A NUL in the code is refused at the door (core.middleware): 400 invalid_characters.
    [(make_uscc(99_999_999), 404), ("not-a-code", 422), ("\x00" * 18, 400), ("91110105MA0%00", 400)],
)
def test_an_unknown_or_malformed_code_is_not_a_server_error(db, regulator_user, uscc, status):
    client = client_for(regulator_user)
    response = client.get(f"/api/v1/enterprises/{uscc}/timeline")
    assert response.status_code == status, response.content
    page = client.get(f"/enterprises/{uscc}/timeline/")
    assert page.status_code == status
    if status == 400:
        assert response.json()["code"] == "invalid_characters"
        assert "control character" in page.content.decode()


def test_a_nul_in_a_scanned_token_is_not_a_server_error(db):
    response = client_for().get("/c/%00abc/timeline")
    assert response.status_code == 400 and "control character" in response.content.decode()


# --- the landing faces: the newest entries instead of the raw audit codes --------------------------------


def test_the_entity_card_and_the_full_profile_show_the_newest_entries_in_words(
    story, colleague, regulator_user
):
    token = story["enterprise"].codes.get(status="active").token
    for viewer, template in (
        (colleague, "landing/inspector.html"),
        (regulator_user, "landing/regulator.html"),
    ):
        page = client_for(viewer).get(reverse("landing", args=[token]))
        assert template in [t.name for t in page.templates]
        html = page.content.decode()
        assert "Whole timeline" in html and timeline_url(story) in html
        assert "Identity code replaced" in html
        assert "manual.acknowledge" not in html and "code.rotate" not in html
        assert len(page.context["timeline"]) == 5


def test_the_recent_scans_have_headers_and_words(story, regulator_user, colleague):
    token = story["enterprise"].codes.get(status="active").token
    client_for(colleague).get(reverse("landing", args=[token]))
    client_for().get(f"/api/v1/scan/{token}")
    html = client_for(regulator_user).get(reverse("landing", args=[token])).content.decode()
    section = html[html.index("Recent scans") :]
    for header in ("When", "Shown as", "Through", "Outcome", "Device"):
        assert f'<th scope="col">{header}</th>' in section
    assert "<td>entity card</td><td>page</td>" in section and "<td>public card</td><td>API</td>" in section
    assert "<td>inspector</td>" not in section


# --- the clock: local dates, and no query per entry --------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        (datetime(2025, 3, 1, 23, 30, tzinfo=BEIJING), "2025-03-01 23:30"),
        (datetime(2025, 3, 2, 0, 30, tzinfo=BEIJING), "2025-03-02 00:30"),
    ],
)
def test_entries_are_shown_at_their_local_date_and_time(
    time_machine, enterprise, team, regulator_user, loop_checklist, outsider, when, shown
):
    inspection = inspect(time_machine, enterprise=enterprise, team=team, regulator=regulator_user, when=when)
    time_machine.move_to(when + timedelta(days=8), tick=False)
    html = (
        client_for(regulator_user)
        .get(reverse("enterprise-timeline", args=[enterprise.uscc]))
        .content.decode()
    )
    assert shown in html
    # The public sees the day only, the local one (00:30 in Beijing is the day before in UTC).
    entries = timeline_for(enterprise=enterprise, viewer=outsider)[:10]
    assert [(e.kind, e.at.astimezone(BEIJING).date()) for e in entries] == [("published_result", when.date())]
    assert entries[0].record_id == inspection.pk
    token = codes.code_issue(enterprise=enterprise).token
    public = client_for().get(reverse("landing-timeline", args=[token])).content.decode()
    assert f'<time datetime="{when.date().isoformat()}">{when.date().isoformat()}</time>' in public


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("role", ["regulator", "business", "colleague", "lead"])
def test_the_page_costs_a_fixed_number_of_queries(
    story, django_assert_max_num_queries, time_machine, team, regulator_user, business_user, colleague, role
):
    viewer = {
        "regulator": regulator_user,
        "business": business_user,
        "colleague": colleague,
        "lead": team[0].user,
    }[role]
    client = client_for(viewer)
    url = timeline_url(story)
    # 26: the page's own reads, and the header's unread-notifications count of every signed-in page.
    with django_assert_max_num_queries(26):
        client.get(url)
    before = queries(client, url)
    # Twice the story: the same number of queries (no query per entry).
    enterprise = story["enterprise"]
    for days in (13, 14):
        inspect(time_machine, enterprise=enterprise, team=team, regulator=regulator_user, when=at(days))
        Complaint.objects.create(enterprise=enterprise, text="又有问题")
        codes.code_rotate(enterprise=enterprise, actor=regulator_user, reason="再次遗失")
    time_machine.move_to(NOW, tick=False)
    assert queries(client, url) == before
