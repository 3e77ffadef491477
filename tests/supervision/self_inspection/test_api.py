"""The self-inspection API: one permissions table, then the behaviour of each endpoint."""

import hashlib

import pytest
from django.test import Client

from core.audit import verify_chain
from core.models import Photo
from supervision.models import Result, SelfIdentifiedIssue, SelfInspection, SelfInspectionAnswer
from supervision.self_inspection import services as service
from tests.factories import (
    FIRE_ITEMS,
    MembershipFactory,
    fake_jpeg,
    item_of,
    jpeg,
    jpeg_bytes,
    publish_checklist,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def other_member(other_enterprise):
    return MembershipFactory(enterprise=other_enterprise).user


def as_user(client, request, who):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    return client


def put_answer(client, self_inspection, item, **body):
    return client.put(
        f"/api/v1/self-inspections/{self_inspection.pk}/answers/{item.pk}",
        body,
        content_type="application/json",
    )


# --- the permissions table --------------------------------------------------------------------------

WHO = [
    "anonymous",
    "outsider",
    "business_user",
    "other_member",
    "inspector_user",
    "regulator_user",
    "admin_user",
]


def _expect(**statuses):
    return [statuses[who] for who in WHO]


# (method, url template, body kind, expected status per WHO). {uscc}, {draft}, {submitted}, {item}
# and {issue} are filled in from the fixtures. The rule: anonymous 401; a row you may not see 404
# (drafts are the members' own); a row you may see but not change 403.
TABLE = [
    (
        "get",
        "/api/v1/self-inspections/{submitted}",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=200,
            regulator_user=200,
            admin_user=200,
        ),
    ),
    (
        "get",
        "/api/v1/self-inspections/{draft}",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=404,
            regulator_user=404,
            admin_user=404,
        ),
    ),
    (
        "get",
        "/api/v1/enterprises/{uscc}/self-inspections",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=200,
            regulator_user=200,
            admin_user=200,
        ),
    ),
    (
        "get",
        "/api/v1/enterprises/{uscc}/self-issues",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=200,
            regulator_user=200,
            admin_user=200,
        ),
    ),
    (
        "post",
        "/api/v1/enterprises/{uscc}/self-inspections",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,  # resumes the draft
            other_member=404,
            inspector_user=403,
            regulator_user=403,
            admin_user=403,
        ),
    ),
    (
        "put",
        "/api/v1/self-inspections/{draft}/answers/{item}",
        "answer",
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=404,
            regulator_user=404,
            admin_user=404,
        ),
    ),
    (
        "put",
        "/api/v1/self-inspections/{submitted}/answers/{item}",
        "answer",
        _expect(
            anonymous=401,
            outsider=404,
            business_user=409,
            other_member=404,
            inspector_user=403,
            regulator_user=403,
            admin_user=403,
        ),
    ),
    (
        "post",
        "/api/v1/self-inspections/{draft}/answers/{item}/photos",
        "photo",
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=404,
            regulator_user=404,
            admin_user=404,
        ),
    ),
    (
        "post",
        "/api/v1/self-inspections/{draft}/submit",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=422,  # nothing answered yet
            other_member=404,
            inspector_user=404,
            regulator_user=404,
            admin_user=404,
        ),
    ),
    (
        "post",
        "/api/v1/self-inspections/{submitted}/submit",
        None,
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,  # a retry: unchanged
            other_member=404,
            inspector_user=403,
            regulator_user=403,
            admin_user=403,
        ),
    ),
    (
        "post",
        "/api/v1/self-issues/{issue}/fix",
        "fix",
        _expect(
            anonymous=401,
            outsider=404,
            business_user=200,
            other_member=404,
            inspector_user=403,
            regulator_user=403,
            admin_user=403,
        ),
    ),
]


@pytest.fixture
def both(submitted, enterprise, business_user):
    """A submitted self-inspection (with one open issue) and the next draft of the same business."""
    draft, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    return submitted, draft


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("method", "url", "body", "expected"), TABLE, ids=[f"{m} {u}" for m, u, *_ in TABLE])
def test_permissions(client, request, who, method, url, body, expected, both, enterprise, other_member):
    submitted, draft = both
    issue = SelfIdentifiedIssue.objects.get()
    url = url.format(
        uscc=enterprise.uscc,
        draft=draft.pk,
        submitted=submitted.pk,
        item=item_of(draft, "extinguisher").pk,
        issue=issue.pk,
    )
    client = as_user(client, request, who)
    if body == "answer":
        response = client.put(url, {"result": "compliant", "note": ""}, content_type="application/json")
    elif body == "photo":
        response = client.post(url, {"photo": jpeg(), "result": "compliant"})
    elif body == "fix":
        response = client.post(url, {"note": "done"})
    else:
        response = getattr(client, method)(url)
    assert response.status_code == expected[WHO.index(who)], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "details"}


def test_far_enterprises_are_not_found_for_the_inspector(client, editor, far_enterprise, inspector_user):
    publish_checklist(department="health", scene="medical", items=FIRE_ITEMS, actor=editor)
    member = MembershipFactory(enterprise=far_enterprise).user
    far, _ = service.self_inspection_start(enterprise=far_enterprise, user=member)
    client.force_login(inspector_user)
    assert client.get(f"/api/v1/self-inspections/{far.pk}").status_code == 404
    assert client.get(f"/api/v1/enterprises/{far_enterprise.uscc}/self-inspections").status_code == 404


# --- start ------------------------------------------------------------------------------------------


def test_start_creates_then_resumes(client, checklists, enterprise, business_user):
    client.force_login(business_user)
    first = client.post(f"/api/v1/enterprises/{enterprise.uscc}/self-inspections")
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "draft" and body["enterprise"] == enterprise.uscc
    assert body["progress"] == {"answered": 0, "total": 3}
    assert [(c["department"]["code"], c["version"]) for c in body["checklists"]] == [
        ("fire_rescue", 1),
        ("market_regulation", 1),
    ]
    again = client.post(f"/api/v1/enterprises/{enterprise.uscc}/self-inspections")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_start_without_a_checklist_is_a_conflict(client, enterprise, business_user):
    client.force_login(business_user)
    response = client.post(f"/api/v1/enterprises/{enterprise.uscc}/self-inspections")
    assert response.status_code == 409
    assert response.json()["code"] == "no_checklist"


def test_start_with_a_malformed_uscc_is_422(client, business_user):
    client.force_login(business_user)
    response = client.post("/api/v1/enterprises/not-a-code/self-inspections")
    assert response.status_code == 422 and response.json()["code"] == "invalid_uscc"


# --- read -------------------------------------------------------------------------------------------


def test_the_detail_lists_items_with_basis_clause_and_answer(client, draft, business_user):
    item = item_of(draft, "hand-washing")
    service.self_inspection_answer(
        self_inspection=draft, user=business_user, item_id=item.pk, result="non_compliant", note="no soap"
    )
    client.force_login(business_user)
    body = client.get(f"/api/v1/self-inspections/{draft.pk}").json()
    assert body["progress"] == {"answered": 1, "total": 3}
    assert [i["code"] for i in body["items"]] == ["extinguisher", "hand-washing", "licence-displayed"]
    row = body["items"][1]
    assert row["id"] == item.pk
    assert row["department"] == {"code": "market_regulation", "name": "Administration for Market Regulation"}
    assert row["question"] == "Do staff wash their hands properly?"
    assert row["legal_basis"] == "《中华人民共和国食品安全法》第五十五条"
    assert (row["severity"], row["method"], row["required_action"]) == ("minor", "look", "张贴洗手流程")
    assert row["clause"] == {
        "code": "hygiene-1",
        "text": "Staff keep themselves clean.",
        "legal_basis": "《中华人民共和国食品安全法》第三十三条",
    }
    assert row["answer"]["result"] == "non_compliant" and row["answer"]["note"] == "no soap"
    assert row["answer"]["issue"] is None
    assert body["items"][0]["answer"] is None and body["items"][0]["clause"] is None


def test_the_list_is_paginated_and_officials_see_only_submitted(
    client, submitted, enterprise, business_user, inspector_user
):
    draft, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    client.force_login(business_user)
    body = client.get(f"/api/v1/enterprises/{enterprise.uscc}/self-inspections?page_size=1").json()
    assert [row["id"] for row in body["items"]] == [draft.pk]
    assert body["has_next"] is True
    client.force_login(inspector_user)
    body = client.get(f"/api/v1/enterprises/{enterprise.uscc}/self-inspections").json()
    assert [(row["id"], row["status"]) for row in body["items"]] == [(submitted.pk, "submitted")]
    assert body["items"][0]["content_hash"] == submitted.content_hash


def test_the_list_does_not_grow_queries_with_rows(
    client, submitted, enterprise, business_user, answer_all, django_assert_max_num_queries
):
    for _ in range(3):
        draft, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
        answer_all(draft)
        service.self_inspection_submit(self_inspection=draft, user=business_user)
    client.force_login(business_user)
    with django_assert_max_num_queries(10):
        response = client.get(f"/api/v1/enterprises/{enterprise.uscc}/self-inspections")
    assert len(response.json()["items"]) == 4


# --- answer -----------------------------------------------------------------------------------------


def test_put_saves_an_answer_and_reports_progress(client, draft, business_user):
    client.force_login(business_user)
    response = put_answer(client, draft, item_of(draft, "extinguisher"), result="compliant", note="checked")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["result"], body["note"], body["photos"]) == ("compliant", "checked", [])
    assert body["progress"] == {"answered": 1, "total": 3}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"result": "maybe"}, "invalid_result"),
        ({"result": "compliant", "note": "x" * 2001}, "note_too_long"),
        ({"note": "no result"}, "invalid_input"),
    ],
)
def test_put_refuses_bad_input_with_the_error_format(client, draft, business_user, body, code):
    client.force_login(business_user)
    response = put_answer(client, draft, item_of(draft, "extinguisher"), **body)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert not SelfInspectionAnswer.objects.exists()


def test_put_refuses_an_item_outside_the_version(client, draft, business_user):
    client.force_login(business_user)
    response = put_answer(client, draft, item_of(draft, "delivery-seal"), result="compliant")
    assert response.status_code == 422 and response.json()["code"] == "item_not_in_version"


def test_a_photo_is_uploaded_and_served_without_its_original(client, draft, business_user, inspector_user):
    client.force_login(business_user)
    url = f"/api/v1/self-inspections/{draft.pk}/answers/{item_of(draft, 'extinguisher').pk}/photos"
    response = client.post(url, {"photo": jpeg(), "result": "non_compliant", "note": "expired"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["result"], body["note"]) == ("non_compliant", "expired")
    [photo] = body["photos"]
    assert photo["sha256"] == hashlib.sha256(jpeg_bytes()).hexdigest()
    image = client.get(photo["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "private, max-age=3600"
    served = b"".join(image.streaming_content)
    assert served == Photo.objects.get().display.read()
    assert client.get(photo["thumbnail_url"]).status_code == 200
    # Another photo id through this self-inspection: not found.
    assert client.get(f"/api/v1/self-inspections/{draft.pk}/photos/{photo['id'] + 1}").status_code == 404
    # A draft's photo is the business's own until it is submitted.
    client.force_login(inspector_user)
    assert client.get(photo["url"]).status_code == 404


def test_a_photo_for_an_unanswered_item_needs_a_result(client, draft, business_user):
    client.force_login(business_user)
    url = f"/api/v1/self-inspections/{draft.pk}/answers/{item_of(draft, 'extinguisher').pk}/photos"
    response = client.post(url, {"photo": jpeg()})
    assert response.status_code == 422 and response.json()["code"] == "invalid_result"
    assert not Photo.objects.exists()


def test_a_fake_photo_is_refused_through_the_api(client, draft, business_user):
    client.force_login(business_user)
    url = f"/api/v1/self-inspections/{draft.pk}/answers/{item_of(draft, 'extinguisher').pk}/photos"
    response = client.post(url, {"photo": fake_jpeg(), "result": "compliant"})
    assert response.status_code == 422
    assert response.json()["code"] == "not_an_image"
    assert not Photo.objects.exists() and not SelfInspectionAnswer.objects.exists()


def test_a_bearer_token_can_answer_without_csrf(client, draft, business_user):
    from tests.factories import PASSWORD

    token = client.post(
        "/api/v1/auth/token",
        {"username": business_user.username, "password": PASSWORD, "device": "phone"},
        content_type="application/json",
    ).json()["token"]
    api = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
    response = put_answer(api, draft, item_of(draft, "extinguisher"), result="compliant")
    assert response.status_code == 200


def test_a_session_write_needs_the_csrf_token(draft, business_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(business_user)
    response = put_answer(browser, draft, item_of(draft, "extinguisher"), result="compliant")
    assert response.status_code == 403
    assert not SelfInspectionAnswer.objects.exists()


# --- submit -----------------------------------------------------------------------------------------


def test_submit_through_the_api(client, draft, business_user, answer_all):
    answer_all(draft, {"hand-washing": Result.NON_COMPLIANT})
    client.force_login(business_user)
    response = client.post(f"/api/v1/self-inspections/{draft.pk}/submit?nonce=n-1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["content_hash"] == SelfInspection.objects.get().content_hash
    assert body["items"][1]["answer"]["issue"]["status"] == "open"
    assert verify_chain().ok
    retry = client.post(f"/api/v1/self-inspections/{draft.pk}/submit?nonce=n-1")
    assert retry.status_code == 200 and retry.json()["content_hash"] == body["content_hash"]
    other = client.post(f"/api/v1/self-inspections/{draft.pk}/submit?nonce=n-2")
    assert other.status_code == 409 and other.json()["code"] == "already_submitted"


def test_an_incomplete_submit_names_the_missing_items(client, draft, business_user):
    client.force_login(business_user)
    response = client.post(f"/api/v1/self-inspections/{draft.pk}/submit")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "incomplete"
    assert body["details"]["missing"] == ["extinguisher", "hand-washing", "licence-displayed"]


# --- self-identified issues -------------------------------------------------------------------------


def test_issues_are_listed_and_filtered(client, submitted, enterprise, inspector_user):
    client.force_login(inspector_user)
    body = client.get(f"/api/v1/enterprises/{enterprise.uscc}/self-issues").json()
    [issue] = body["items"]
    assert (issue["item_code"], issue["status"], issue["self_inspection"]) == (
        "licence-displayed",
        "open",
        submitted.pk,
    )
    assert issue["note"] == "note on licence-displayed"
    assert issue["department"]["code"] == "market_regulation"
    assert client.get(f"/api/v1/enterprises/{enterprise.uscc}/self-issues?status=fixed").json()["items"] == []
    assert client.get(f"/api/v1/enterprises/{enterprise.uscc}/self-issues?status=nope").status_code == 422


def test_fix_with_note_and_photos(client, submitted, business_user, inspector_user):
    issue = SelfIdentifiedIssue.objects.get()
    client.force_login(business_user)
    response = client.post(
        f"/api/v1/self-issues/{issue.pk}/fix",
        {"note": "licence framed", "photos": [jpeg(), jpeg(color="green")]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["fix_note"]) == ("fixed", "licence framed")
    assert len(body["evidence"]) == 2
    # Officials who see the self-inspection see the evidence too.
    client.force_login(inspector_user)
    assert client.get(body["evidence"][0]["url"]).status_code == 200
    again = client.post(f"/api/v1/self-issues/{issue.pk}/fix", {"note": "again"})
    assert again.status_code == 403
    client.force_login(business_user)
    again = client.post(f"/api/v1/self-issues/{issue.pk}/fix", {"note": "again"})
    assert again.status_code == 409 and again.json()["code"] == "already_fixed"


def test_fix_refuses_an_empty_note_and_a_fake_photo(client, submitted, business_user):
    issue = SelfIdentifiedIssue.objects.get()
    client.force_login(business_user)
    response = client.post(f"/api/v1/self-issues/{issue.pk}/fix", {"note": " ", "photos": [jpeg()]})
    assert response.status_code == 422 and response.json()["code"] == "note_required"
    response = client.post(f"/api/v1/self-issues/{issue.pk}/fix", {"note": "done", "photos": [fake_jpeg()]})
    assert response.status_code == 422 and response.json()["code"] == "not_an_image"
    issue.refresh_from_db()
    assert issue.status == "open"
    assert not Photo.objects.exists()
