"""一公开: when a result goes public (around the boundary, to the second), which sources are
published, the business's one objection and the regulator's decision, and what the public sees on
the card, the public list and the API (nothing personal, the tier badge without the risk score)."""

import json
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core import codes
from core.models import AuditEvent, District
from supervision.inspections import services as workflow
from supervision.models import Inspection, InspectionTask, Objection
from supervision.publication import services as publication
from tests.factories import (
    FAILING,
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    make_ready,
    make_score,
    make_task,
    make_team,
    submit,
)

pytestmark = pytest.mark.django_db

JSON = "application/json"
SUBMITTED_AT = timezone.make_aware(datetime(2026, 3, 2, 10, 0))
SECOND = timedelta(seconds=1)
REPRESENTATIVE = "欧阳娜娜"
ON_SITE_REPRESENTATIVE = "王店长"


def delay() -> timedelta:
    return timedelta(days=settings.PUBLICATION_DELAY_DAYS)


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code


def inspected(enterprise, team, actor, *, source=InspectionTask.Source.RANDOM, failing=None) -> Inspection:
    task = make_task(enterprise=enterprise, team=team, actor=actor, source=source)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    workflow.inspection_update(
        inspection=inspection, actor=team[0].user, representative_name=ON_SITE_REPRESENTATIVE
    )
    make_ready(inspection, team[0].user, team, failing or {})
    return submit(inspection, team[0].user)


@pytest.fixture
def shop(db):
    return EnterpriseFactory(name="公开测试餐馆", legal_representative=REPRESENTATIVE)


@pytest.fixture
def member(shop):
    return MembershipFactory(enterprise=shop).user


@pytest.fixture
def result(shop, team, regulator_user, loop_checklist, time_machine) -> Inspection:
    """A drawn inspection of the shop, submitted at SUBMITTED_AT with a major and a minor finding;
    the clock stays there (not yet published)."""
    time_machine.move_to(SUBMITTED_AT, tick=False)
    return inspected(shop, team, regulator_user, failing=FAILING)


@pytest.fixture
def published(result, time_machine) -> Inspection:
    time_machine.move_to(SUBMITTED_AT + delay() + SECOND, tick=False)
    return result


def listed(now=None) -> set[int]:
    return set(publication.published_inspections(now=now).values_list("pk", flat=True))


# --- when ----------------------------------------------------------------------------------------------


def test_a_result_goes_public_when_the_delay_has_passed_to_the_second(result, time_machine, settings):
    assert result.submitted_at == SUBMITTED_AT
    public_from = SUBMITTED_AT + timedelta(days=7)
    assert publication.goes_public_at(result) == public_from
    for moment, expected in (
        (public_from - SECOND, False),
        (public_from, True),
        (public_from + SECOND, True),
    ):
        time_machine.move_to(moment, tick=False)
        assert (result.pk in listed()) is expected, moment
        assert publication.is_published(result) is expected
        page = Client().get("/public/inspections/").content.decode()
        assert ("公开测试餐馆" in page) is expected


def test_the_delay_is_a_setting(result, time_machine, settings):
    settings.PUBLICATION_DELAY_DAYS = 2
    time_machine.move_to(SUBMITTED_AT + timedelta(days=2) - SECOND, tick=False)
    assert result.pk not in listed()
    time_machine.move_to(SUBMITTED_AT + timedelta(days=2) + SECOND, tick=False)
    assert result.pk in listed()


@pytest.mark.parametrize(
    ("source", "is_published"),
    [
        (InspectionTask.Source.RANDOM, True),
        (InspectionTask.Source.RISK, True),
        (InspectionTask.Source.MANUAL, True),
        (InspectionTask.Source.JOINT, True),
        (InspectionTask.Source.COMPLAINT, False),
        (InspectionTask.Source.REINSPECTION, False),
    ],
)
def test_drawn_and_routine_results_are_published_and_follow_ups_are_not(
    shop, team, regulator_user, loop_checklist, time_machine, source, is_published
):
    time_machine.move_to(SUBMITTED_AT, tick=False)
    inspection = inspected(shop, team, regulator_user, source=source)
    time_machine.move_to(SUBMITTED_AT + delay() + timedelta(days=30), tick=False)
    assert (inspection.pk in listed()) is is_published
    assert (publication.goes_public_at(inspection) is not None) is is_published


def test_a_draft_is_never_published(shop, team, regulator_user, loop_checklist, time_machine):
    time_machine.move_to(SUBMITTED_AT, tick=False)
    task = make_task(enterprise=shop, team=team, actor=regulator_user)
    workflow.inspection_start(task=task, actor=team[0].user)
    time_machine.move_to(SUBMITTED_AT + delay() * 3, tick=False)
    assert not listed()


# --- objections ------------------------------------------------------------------------------------------


def test_a_member_objects_once_to_a_published_result(published, member):
    objection = publication.objection_submit(
        inspection=published, actor=member, reason="  第二项已当场整改  "
    )
    assert objection.status == Objection.Status.PENDING and objection.reason == "第二项已当场整改"
    assert objection.enterprise == published.enterprise and objection.created_by == member
    event = AuditEvent.objects.get(action="objection.submit")
    assert event.data == {"inspection": published.pk, "enterprise": published.enterprise.uscc}
    second_member = MembershipFactory(enterprise=published.enterprise).user
    with pytest.raises(publication.PublicationError) as refused:
        publication.objection_submit(inspection=published, actor=second_member, reason="再提一次")
    assert (refused.value.code, refused.value.status) == ("already_objected", 409)
    assert Objection.objects.count() == 1


def test_a_result_not_yet_published_cannot_be_objected_to(result, member):
    with pytest.raises(publication.PublicationError) as refused:
        publication.objection_submit(inspection=result, actor=member, reason="不同意")
    assert (refused.value.code, refused.value.status) == ("not_published", 409)
    assert not Objection.objects.exists()


def test_a_result_that_is_never_published_cannot_be_objected_to(
    shop, member, team, regulator_user, loop_checklist, time_machine
):
    time_machine.move_to(SUBMITTED_AT, tick=False)
    checked = inspected(shop, team, regulator_user, source=InspectionTask.Source.COMPLAINT)
    time_machine.move_to(SUBMITTED_AT + delay() * 2, tick=False)
    with pytest.raises(publication.PublicationError) as refused:
        publication.objection_submit(inspection=checked, actor=member, reason="不同意")
    assert refused.value.code == "not_published"


def test_only_a_member_of_the_business_objects(published, regulator_user, team, other_enterprise):
    for actor in (regulator_user, team[0].user, MembershipFactory(enterprise=other_enterprise).user):
        with pytest.raises(publication.PublicationError) as refused:
            publication.objection_submit(inspection=published, actor=actor, reason="不同意")
        assert (refused.value.code, refused.value.status) == ("not_member", 403)
    assert not Objection.objects.exists()


def test_an_objection_needs_a_reason_and_a_refused_one_writes_nothing(published, member):
    with pytest.raises(publication.PublicationError) as refused:
        publication.objection_submit(inspection=published, actor=member, reason="   ")
    assert (refused.value.code, refused.value.status) == ("reason_required", 422)
    assert (
        not Objection.objects.exists() and not AuditEvent.objects.filter(action="objection.submit").exists()
    )


@pytest.fixture
def objection(published, member) -> Objection:
    return publication.objection_submit(inspection=published, actor=member, reason="第二项已当场整改")


def test_a_regulator_in_scope_upholds_with_the_correction(objection, published, regulator_user):
    decided = publication.objection_decide(
        inspection=published,
        actor=regulator_user,
        upheld=True,
        correction="第二项为误判，已更正。",
        corrected_conclusion="rectify",  # the same as before: not a change
    )
    assert decided.status == Objection.Status.UPHELD and decided.decided_by == regulator_user
    assert decided.correction == "第二项为误判，已更正。" and decided.corrected_conclusion == ""
    event = AuditEvent.objects.get(action="objection.decide")
    assert event.data["upheld"] is True and event.data["correction"] == "第二项为误判，已更正。"
    with pytest.raises(publication.PublicationError) as refused:
        publication.objection_decide(inspection=published, actor=regulator_user, upheld=False, note="改主意")
    assert (refused.value.code, refused.value.status) == ("already_decided", 409)


def test_upholding_needs_the_correction_and_rejecting_needs_the_reason(objection, published, regulator_user):
    for kwargs, code in (
        ({"upheld": True, "correction": " "}, "correction_required"),
        ({"upheld": True, "correction": "x", "corrected_conclusion": "maybe"}, "invalid_conclusion"),
        ({"upheld": False, "note": ""}, "reason_required"),
        ({"upheld": None}, "decision_required"),
    ):
        with pytest.raises(publication.PublicationError) as refused:
            publication.objection_decide(inspection=published, actor=regulator_user, **kwargs)
        assert (refused.value.code, refused.value.status) == (code, 422)
    objection.refresh_from_db()
    assert objection.status == Objection.Status.PENDING and objection.decided_at is None
    rejected = publication.objection_decide(
        inspection=published,
        actor=regulator_user,
        upheld=False,
        note="现场照片显示未整改",
        correction="ignored",
    )
    assert rejected.status == Objection.Status.REJECTED and rejected.correction == ""


def test_only_a_regulator_in_scope_decides(objection, published, member, team):
    haidian = RegulatorFactory(district=District.objects.get(code="110108")).user
    for actor in (haidian, member, team[0].user):
        with pytest.raises(publication.PublicationError) as refused:
            publication.objection_decide(inspection=published, actor=actor, upheld=False, note="no")
        assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    objection.refresh_from_db()
    assert objection.status == Objection.Status.PENDING


def test_there_is_nothing_to_decide_without_an_objection(published, regulator_user):
    with pytest.raises(publication.PublicationError) as refused:
        publication.objection_decide(inspection=published, actor=regulator_user, upheld=False, note="no")
    assert refused.value.code == "no_objection"


# --- what the public sees ------------------------------------------------------------------------------


@pytest.fixture
def upheld(objection, published, regulator_user) -> Objection:
    return publication.objection_decide(
        inspection=published,
        actor=regulator_user,
        upheld=True,
        correction="第二项为误判，已更正。",
        corrected_conclusion="pass",
    )


def test_the_public_list_shows_the_corrected_result_marked(upheld, published):
    page = Client(headers={"Accept-Language": "en"}).get("/public/inspections/").content.decode()
    assert "公开测试餐馆" in page and "2026-03-02" in page
    assert '<span class="badge corrected">corrected after objection</span>' in page
    assert "第二项为误判，已更正。" in page
    (row,) = publication.public_rows(publication.published_list())
    assert (row.conclusion, row.corrected) == ("pass", True)
    assert (row.critical, row.major, row.minor) == (0, 1, 1)


def test_a_rejected_objection_leaves_the_result_unmarked(objection, published, regulator_user):
    publication.objection_decide(inspection=published, actor=regulator_user, upheld=False, note="维持原结论")
    (row,) = publication.public_rows(publication.published_list())
    assert row.corrected is False and row.correction == "" and row.conclusion == "rectify"
    assert 'class="badge corrected"' not in Client().get("/public/inspections/").content.decode()


def test_the_public_list_leaks_nothing_personal(upheld, published, team, member):
    secrets = [
        REPRESENTATIVE,
        ON_SITE_REPRESENTATIVE,
        published.enterprise.address,
        "seen: mar-1",  # the inspectors' notes on each item
        "第二项已当场整改",  # the business's objection
        "/photos/",
        *(inspector.certificate_no for inspector in team),
        *(inspector.user.first_name for inspector in team),
        *(inspector.user.username for inspector in team),
        member.username,
    ]
    page = Client().get("/public/inspections/").content.decode()
    # Every text of the API's answer, however the JSON spells it (escaped or UTF-8).
    api = json.dumps(Client().get("/api/v1/published-inspections").json(), ensure_ascii=False)
    for surface in (page, api):
        assert "公开测试餐馆" in surface
        leaked = [secret for secret in secrets if secret in surface]
        assert not leaked, leaked
    item = Client().get("/api/v1/published-inspections").json()["items"][0]
    assert set(item) == {
        "enterprise",
        "district",
        "scene",
        "inspected_on",
        "conclusion",
        "conclusion_label",
        "critical",
        "major",
        "minor",
        "corrected",
        "correction",
    }


def test_the_public_list_filters_by_district_and_scene(published, team, regulator_user, time_machine):
    time_machine.move_to(SUBMITTED_AT, tick=False)
    haidian_team = make_team(districts=["110108"], prefix="hd")
    medical = EnterpriseFactory(
        name="海淀诊所", district=District.objects.get(code="110108"), scene=published.enterprise.scene
    )
    inspected(
        medical,
        haidian_team,
        RegulatorFactory(department=None, district=District.objects.get(code="110108")).user,
    )
    time_machine.move_to(SUBMITTED_AT + delay() + SECOND, tick=False)
    client = Client()
    page = client.get("/public/inspections/", {"district": "110105"}).content.decode()
    assert "公开测试餐馆" in page and "海淀诊所" not in page
    page = client.get("/public/inspections/", {"district": "110108", "scene": "catering"}).content.decode()
    assert "海淀诊所" in page and "公开测试餐馆" not in page
    assert "公开测试餐馆" not in client.get("/public/inspections/", {"scene": "medical"}).content.decode()
    assert client.get("/public/inspections/", {"district": "999999"}).status_code == 400
    assert_error(client.get("/api/v1/published-inspections", {"scene": "nope"}), 400, "unknown_scene")
    body = client.get("/api/v1/published-inspections", {"district": "110108"}).json()
    assert [item["enterprise"] for item in body["items"]] == ["海淀诊所"] and body["has_next"] is False


def test_the_public_card_shows_published_results_and_the_tier_badge(upheld, published):
    make_score(published.enterprise, risk=87.25, tier=3, credit="B")
    code = codes.code_issue(enterprise=published.enterprise)
    page = Client(headers={"Accept-Language": "en"}).get(f"/c/{code.token}").content.decode()
    assert "Tier 3 · credit B" in page and 'class="badge tier-3"' in page
    assert "87.2" not in page and "Risk" not in page and "risk" not in page
    assert '<span class="badge corrected">corrected after objection</span>' in page
    assert "第二项为误判，已更正。" in page
    assert "findings: 0 critical, 1 major, 1 minor" in page
    assert REPRESENTATIVE not in page and ON_SITE_REPRESENTATIVE not in page


def test_the_scan_api_gives_the_tier_and_the_published_results(upheld, published):
    make_score(published.enterprise, risk=87.25, tier=3, credit="B")
    code = codes.code_issue(enterprise=published.enterprise)
    card = Client().get(f"/api/v1/scan/{code.token}").json()["enterprise"]
    assert card["tier"] == "3"
    (item,) = card["published_results"]
    assert item["inspected_on"] == "2026-03-02" and item["corrected"] is True and item["conclusion"] == "pass"
    assert "87.25" not in str(card) and "risk" not in str(card)


def test_a_result_stays_off_the_card_until_published(result, time_machine):
    code = codes.code_issue(enterprise=result.enterprise)
    assert (
        "No published results yet."
        in Client(headers={"Accept-Language": "en"}).get(f"/c/{code.token}").content.decode()
    )
    assert Client().get(f"/api/v1/scan/{code.token}").json()["enterprise"]["published_results"] == []


# --- what the business sees, and the pages of the objection ---------------------------------------------


def test_the_business_sees_its_result_at_once_with_the_day_it_goes_public(result, member):
    code = codes.code_issue(enterprise=result.enterprise)
    page = client_for(member).get(f"/c/{code.token}").content.decode()
    assert 'id="own-results"' in page and "public from 2026-03-09 10:00" in page
    assert f"/publication/results/{result.pk}/objection" not in page
    objection_page = client_for(member).get(f"/publication/results/{result.pk}/objection")
    assert objection_page.status_code == 200 and 'id="object-form"' not in objection_page.content.decode()
    refused = client_for(member).post(f"/publication/results/{result.pk}/objection", {"reason": "不同意"})
    assert refused.status_code == 409 and 'data-code="not_published"' in refused.content.decode()


def test_once_published_the_business_objects_from_its_card(published, member):
    code = codes.code_issue(enterprise=published.enterprise)
    client = client_for(member)
    card = client.get(f"/c/{code.token}").content.decode()
    url = f"/publication/results/{published.pk}/objection"
    assert url in card and "Object" in card
    assert 'id="object-form"' in client.get(url).content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 422 and not Objection.objects.exists()
    response = client.post(url, {"reason": "第二项已当场整改"})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "awaiting decision" in page and 'id="object-form"' not in page
    assert "objection: awaiting decision" in client.get(f"/c/{code.token}").content.decode()


def test_a_regulator_decides_on_the_objection_page(objection, published, regulator_user):
    client = client_for(regulator_user)
    queue = client.get("/publication/objections/").content.decode()
    assert "公开测试餐馆" in queue and f"/publication/results/{published.pk}/objection" in queue
    page = client.get(f"/publication/results/{published.pk}/objection").content.decode()
    assert 'id="decide-form"' in page and "第二项已当场整改" in page
    decision_url = f"/publication/results/{published.pk}/objection/decision"
    refused = client.post(decision_url, {"decision": "uphold", "correction": ""})
    assert refused.status_code == 422 and 'data-code="correction_required"' in refused.content.decode()
    objection.refresh_from_db()
    assert objection.status == Objection.Status.PENDING
    done = client.post(
        decision_url, {"decision": "uphold", "correction": "已更正", "corrected_conclusion": "pass"}
    )
    assert done.status_code == 302
    objection.refresh_from_db()
    assert objection.status == Objection.Status.UPHELD and objection.corrected_conclusion == "pass"
    assert "公开测试餐馆" not in client.get("/publication/objections/").content.decode()  # pending only


def test_others_do_not_decide_or_find_the_objection_page(objection, published, member, outsider):
    haidian = RegulatorFactory(district=District.objects.get(code="110108")).user
    decision_url = f"/publication/results/{published.pk}/objection/decision"
    for user in (haidian, outsider):
        assert client_for(user).get(f"/publication/results/{published.pk}/objection").status_code == 404
        assert client_for(user).post(decision_url, {"decision": "reject", "note": "x"}).status_code == 404
    assert client_for(member).post(decision_url, {"decision": "reject", "note": "x"}).status_code == 403
    in_scope_inspector = InspectorFactory(districts=["110105"]).user
    assert (
        client_for(in_scope_inspector).post(decision_url, {"decision": "reject", "note": "x"}).status_code
        == 403
    )
    for user in (member, in_scope_inspector, outsider):
        assert client_for(user).get("/publication/objections/").status_code == 404
    assert "公开测试餐馆" not in client_for(haidian).get("/publication/objections/").content.decode()
    objection.refresh_from_db()
    assert objection.status == Objection.Status.PENDING


# --- the API ------------------------------------------------------------------------------------------


def test_objection_and_decision_through_the_api(published, member, regulator_user, other_enterprise):
    url = f"/api/v1/inspections/{published.pk}/objection"
    business, regulator = client_for(member), client_for(regulator_user)
    assert_error(regulator.post(url, {"reason": "x"}, content_type=JSON), 403, "not_member")
    stranger = client_for(MembershipFactory(enterprise=other_enterprise).user)
    assert_error(stranger.post(url, {"reason": "x"}, content_type=JSON), 404, "not_found")
    assert_error(business.post(url, {"reason": " "}, content_type=JSON), 422, "reason_required")
    response = business.post(url, {"reason": "第二项已当场整改"}, content_type=JSON)
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert_error(business.post(url, {"reason": "again"}, content_type=JSON), 409, "already_objected")
    assert [o["id"] for o in business.get("/api/v1/objections").json()["items"]] == [response.json()["id"]]
    assert stranger.get("/api/v1/objections").json()["items"] == []

    decision = f"{url}/decision"
    assert_error(business.post(decision, {"upheld": False, "note": "x"}, content_type=JSON), 403, "forbidden")
    assert_error(regulator.post(decision, {"upheld": True}, content_type=JSON), 422, "correction_required")
    response = regulator.post(decision, {"upheld": False, "note": "维持原结论"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert response.json()["decision_note"] == "维持原结论"
    pending = regulator.get("/api/v1/objections", {"status": "pending"}).json()["items"]
    assert pending == []


def test_an_objection_before_publication_is_refused_through_the_api(result, member):
    assert_error(
        client_for(member).post(
            f"/api/v1/inspections/{result.pk}/objection", {"reason": "x"}, content_type=JSON
        ),
        409,
        "not_published",
    )


def test_the_published_list_is_open_to_anyone_and_pages_without_counting(
    shop, team, regulator_user, loop_checklist, time_machine
):
    time_machine.move_to(SUBMITTED_AT, tick=False)
    for _ in range(3):
        inspected(shop, team, regulator_user)
    time_machine.move_to(SUBMITTED_AT + delay(), tick=False)
    body = Client().get("/api/v1/published-inspections", {"page_size": 2}).json()
    assert len(body["items"]) == 2 and body["has_next"] is True
    assert (
        Client().get("/api/v1/published-inspections", {"page": 2, "page_size": 2}).json()["has_next"] is False
    )
