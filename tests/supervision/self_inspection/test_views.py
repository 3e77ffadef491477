"""Self-inspection pages: they work without JavaScript, keep what was typed, and hide drafts."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from core.models import Photo
from supervision.models import Result, SelfIdentifiedIssue, SelfInspection, SelfInspectionAnswer
from supervision.self_inspection import services as service
from tests.factories import MembershipFactory, fake_jpeg, item_of, jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


def overview_url(enterprise):
    return reverse("supervision:enterprise", args=[enterprise.uscc])


def detail_url(self_inspection):
    return reverse("supervision:detail", args=[self_inspection.pk])


def form_data(self_inspection, answers: dict, **extra) -> dict:
    """The posted form: ``answers`` maps item codes to (result, note)."""
    data = dict(extra)
    for code, (result, note) in answers.items():
        pk = item_of(self_inspection, code).pk
        if result:
            data[f"result-{pk}"] = result
        data[f"note-{pk}"] = note
    return data


def item_block(html: str, item) -> str:
    match = re.search(rf'<fieldset[^>]*id="item-{item.pk}".*?</fieldset>', html, re.S)
    assert match, f"item {item.code} not on the page"
    return match.group(0)


# --- the enterprise page ----------------------------------------------------------------------------


def test_a_member_starts_from_the_enterprise_page(client, checklists, enterprise, business_user):
    client.force_login(business_user)
    page = client.get(overview_url(enterprise))
    assert page.status_code == 200
    assert "Start a self-inspection" in page.content.decode()
    response = client.post(overview_url(enterprise))
    self_inspection = SelfInspection.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(self_inspection)
    # Posting again resumes the same draft.
    assert client.post(overview_url(enterprise))["Location"] == detail_url(self_inspection)
    html = client.get(overview_url(enterprise)).content.decode()
    assert "0 of 3 items answered" in html and "Continue" in html


def test_starting_without_a_checklist_says_so(client, enterprise, business_user):
    client.force_login(business_user)
    response = client.post(overview_url(enterprise))
    assert response.status_code == 409
    assert "no published checklist" in response.content.decode()


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_the_enterprise_page_is_not_found_for_others(
    client, request, checklists, enterprise, other_enterprise, who
):
    user = (
        MembershipFactory(enterprise=other_enterprise).user
        if who == "other_member"
        else request.getfixturevalue(who)
    )
    client.force_login(user)
    assert client.get(overview_url(enterprise)).status_code == 404
    assert client.post(overview_url(enterprise)).status_code == 404
    assert client.get(reverse("supervision:enterprise", args=["not-a-code"])).status_code == 404
    assert not SelfInspection.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, enterprise):
    response = client.get(overview_url(enterprise))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_inspector_reads_the_enterprise_page_but_cannot_start(
    client, submitted, enterprise, inspector_user
):
    client.force_login(inspector_user)
    html = client.get(overview_url(enterprise)).content.decode()
    assert "Start a self-inspection" not in html
    assert detail_url(submitted) in html  # the submitted one is listed
    assert client.post(overview_url(enterprise)).status_code == 403


# --- the form ---------------------------------------------------------------------------------------


def test_the_form_lists_items_by_department_with_progress(client, draft, business_user):
    client.force_login(business_user)
    response = client.get(detail_url(draft))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Fire and Rescue Corps") < html.index("Administration for Market Regulation")
    assert "<span data-answered>0</span> of 3 answered" in html
    hand = item_block(html, item_of(draft, "hand-washing"))
    assert "Do staff wash their hands properly?" in hand
    assert "Staff keep themselves clean." in hand  # the manual clause
    assert "《中华人民共和国食品安全法》第五十五条" in hand
    assert hand.count('type="radio"') == 3
    assert "delivery-seal" not in html and "外卖是否使用封签" not in html  # does not apply
    # No inline script: the CSP allows only our own files.
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "supervision/self_inspection.js" in html


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user", "outsider"])
def test_a_draft_is_not_found_for_anyone_but_members(client, request, role, draft):
    client.force_login(request.getfixturevalue(role))
    assert client.get(detail_url(draft)).status_code == 404
    assert client.post(detail_url(draft), {"action": "save"}).status_code == 404


def test_saving_the_form_saves_each_changed_answer(client, draft, business_user):
    client.force_login(business_user)
    data = form_data(
        draft,
        {
            "hand-washing": (Result.NON_COMPLIANT, "no soap"),
            "extinguisher": (None, ""),
            "licence-displayed": (None, ""),
        },
        action="save",
    )
    data[f"photos-{item_of(draft, 'hand-washing').pk}"] = [jpeg(), jpeg(color="blue")]
    response = client.post(detail_url(draft), data)
    assert response.status_code == 302 and response["Location"] == detail_url(draft)
    answer = SelfInspectionAnswer.objects.get()
    assert (answer.item.code, answer.result, answer.note, answer.photos.count()) == (
        "hand-washing",
        "non_compliant",
        "no soap",
        2,
    )
    html = client.get(detail_url(draft)).content.decode()
    assert "Saved. You can come back" in html
    assert "<span data-answered>1</span> of 3 answered" in html
    photo = answer.photos.first()
    assert reverse("supervision:photo", args=[draft.pk, photo.pk, "thumbnail"]) in html


def test_a_refused_item_keeps_what_was_typed_and_the_others_are_saved(client, draft, business_user):
    client.force_login(business_user)
    data = form_data(
        draft,
        {"hand-washing": (Result.COMPLIANT, "all good"), "extinguisher": (None, "forgot to choose")},
        action="save",
    )
    data[f"photos-{item_of(draft, 'licence-displayed').pk}"] = fake_jpeg()
    data[f"result-{item_of(draft, 'licence-displayed').pk}"] = Result.COMPLIANT
    data[f"note-{item_of(draft, 'licence-displayed').pk}"] = "framed on the wall"
    response = client.post(detail_url(draft), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Some answers were not saved" in html
    extinguisher = item_block(html, item_of(draft, "extinguisher"))
    assert "Choose compliant, not compliant or not applicable." in extinguisher
    assert "forgot to choose</textarea>" in extinguisher
    licence = item_block(html, item_of(draft, "licence-displayed"))
    assert "is not a JPEG, PNG or WebP image" in licence and "Choose the photos again." in licence
    assert "framed on the wall</textarea>" in licence
    assert re.search(r'value="compliant"\s+checked', licence)
    # Only the good item was written; the fake photo left nothing.
    assert [a.item.code for a in SelfInspectionAnswer.objects.all()] == ["hand-washing"]
    assert not Photo.objects.exists()


def test_submitting_an_incomplete_form_marks_the_missing_items(client, draft, business_user):
    client.force_login(business_user)
    data = form_data(draft, {"hand-washing": (Result.COMPLIANT, "")}, action="submit", nonce="n1")
    response = client.post(detail_url(draft), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Answer every item before submitting (2 left)." in html
    assert "Answer this item before submitting." in item_block(html, item_of(draft, "extinguisher"))
    assert "Answer this item before submitting." not in item_block(html, item_of(draft, "hand-washing"))
    assert SelfInspectionAnswer.objects.count() == 1  # what was answered is kept
    draft.refresh_from_db()
    assert draft.status == SelfInspection.Status.DRAFT


def test_submitting_the_form_and_tapping_twice(client, draft, business_user):
    client.force_login(business_user)
    data = form_data(
        draft,
        {
            "hand-washing": (Result.COMPLIANT, ""),
            "extinguisher": (Result.NOT_APPLICABLE, "no gas"),
            "licence-displayed": (Result.NON_COMPLIANT, "expired"),
        },
        action="submit",
        nonce="tap",
    )
    response = client.post(detail_url(draft), data)
    assert response.status_code == 302 and response["Location"] == detail_url(draft)
    draft.refresh_from_db()
    assert draft.status == SelfInspection.Status.SUBMITTED
    assert SelfIdentifiedIssue.objects.count() == 1
    again = client.post(detail_url(draft), data, follow=True)
    html = again.content.decode()
    assert again.status_code == 200 and "can no longer be changed" not in html
    assert draft.content_hash in html


def test_changing_a_submitted_one_through_the_form_is_refused(client, submitted, business_user):
    client.force_login(business_user)
    data = form_data(submitted, {"extinguisher": (Result.COMPLIANT, "changed")}, action="save")
    html = client.post(detail_url(submitted), data, follow=True).content.decode()
    assert "can no longer be changed" in html
    assert SelfInspectionAnswer.objects.get(item__code="extinguisher").result == Result.NOT_APPLICABLE


# --- the record -------------------------------------------------------------------------------------


def test_the_record_is_read_only_with_a_fix_form_for_members(client, submitted, business_user):
    client.force_login(business_user)
    html = client.get(detail_url(submitted)).content.decode()
    assert submitted.content_hash in html
    assert 'type="radio"' not in html
    issue = SelfIdentifiedIssue.objects.get()
    assert reverse("supervision:issue-fix", args=[issue.pk]) in html


@pytest.mark.parametrize("role", ["inspector_user", "regulator_user", "admin_user"])
def test_officials_in_scope_read_the_record_without_the_fix_form(client, request, role, submitted):
    client.force_login(request.getfixturevalue(role))
    response = client.get(detail_url(submitted))
    assert response.status_code == 200
    assert "Mark fixed" not in response.content.decode()
    assert client.post(detail_url(submitted), {"action": "submit"}).status_code == 403
    issue = SelfIdentifiedIssue.objects.get()
    assert client.post(reverse("supervision:issue-fix", args=[issue.pk]), {"note": "x"}).status_code == 403


def test_the_record_is_not_found_for_outsiders(client, submitted, outsider, other_enterprise):
    for user in (outsider, MembershipFactory(enterprise=other_enterprise).user):
        client.force_login(user)
        assert client.get(detail_url(submitted)).status_code == 404
        issue = SelfIdentifiedIssue.objects.get()
        assert (
            client.post(reverse("supervision:issue-fix", args=[issue.pk]), {"note": "x"}).status_code == 404
        )


def test_marking_an_issue_fixed_from_the_page(client, submitted, business_user):
    issue = SelfIdentifiedIssue.objects.get()
    client.force_login(business_user)
    url = reverse("supervision:issue-fix", args=[issue.pk])
    response = client.post(url, {"note": "", "photos": [jpeg()]})
    assert response.status_code == 422
    assert "Say what was done." in response.content.decode()
    response = client.post(url, {"note": "licence renewed", "photos": [jpeg()]})
    assert response.status_code == 302 and response["Location"] == detail_url(submitted)
    issue.refresh_from_db()
    assert (issue.status, issue.fix_note, issue.evidence.count()) == ("fixed", "licence renewed", 1)
    html = client.get(detail_url(submitted)).content.decode()
    assert "licence renewed" in html and "Mark fixed" not in html
    again = client.post(url, {"note": "again"})
    assert again.status_code == 409 and "already been marked fixed" in again.content.decode()


def test_a_fix_with_a_fake_photo_keeps_the_note(client, submitted, business_user):
    issue = SelfIdentifiedIssue.objects.get()
    client.force_login(business_user)
    response = client.post(
        reverse("supervision:issue-fix", args=[issue.pk]), {"note": "renewed", "photos": [fake_jpeg()]}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "renewed</textarea>" in html and "Choose the photos again." in html
    issue.refresh_from_db()
    assert issue.status == "open"


# --- photos -----------------------------------------------------------------------------------------


def test_photos_are_served_only_to_those_who_see_the_self_inspection(
    client, draft, business_user, inspector_user, answer_all
):
    answer_all(draft)
    answer = service.self_inspection_answer(
        self_inspection=draft,
        user=business_user,
        item_id=item_of(draft, "extinguisher").pk,
        photos=[jpeg()],
    )
    photo = answer.photos.get()
    client.force_login(business_user)
    for variant in ("display", "thumbnail"):
        response = client.get(reverse("supervision:photo", args=[draft.pk, photo.pk, variant]))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client.get(reverse("supervision:photo", args=[draft.pk, photo.pk, "original"])).status_code == 404
    client.force_login(inspector_user)
    assert client.get(reverse("supervision:photo", args=[draft.pk, photo.pk, "display"])).status_code == 404
    service.self_inspection_submit(self_inspection=draft, user=business_user)
    assert client.get(reverse("supervision:photo", args=[draft.pk, photo.pk, "display"])).status_code == 200


# --- cost and language ------------------------------------------------------------------------------


def test_the_pages_do_not_grow_queries_with_answers_and_photos(
    client, draft, business_user, answer_all, django_assert_max_num_queries
):
    answer_all(draft, {"licence-displayed": Result.NON_COMPLIANT})
    for code in ("extinguisher", "hand-washing", "licence-displayed"):
        service.self_inspection_answer(
            self_inspection=draft,
            user=business_user,
            item_id=item_of(draft, code).pk,
            photos=[jpeg(), jpeg()],
        )
    client.force_login(business_user)
    with django_assert_max_num_queries(20):
        assert client.get(detail_url(draft)).status_code == 200
    service.self_inspection_submit(self_inspection=draft, user=business_user)
    service.self_issue_fix(
        issue=SelfIdentifiedIssue.objects.get(), user=business_user, note="done", evidence=[jpeg()]
    )
    with django_assert_max_num_queries(20):
        assert client.get(detail_url(draft)).status_code == 200


def test_the_form_renders_in_chinese_by_default(draft, business_user):
    browser = Client()
    browser.force_login(business_user)
    html = browser.get(detail_url(draft)).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "从业人员是否规范洗手？" in html
