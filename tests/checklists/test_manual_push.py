import io

import pytest
from django.test import Client
from pypdf import PdfReader

from checklists import notices
from core.audit import verify_chain
from core.errors import DomainError
from core.models import District, Enterprise
from tests.factories import EnterpriseFactory, MembershipFactory, make_checklist, make_manual

pytestmark = pytest.mark.django_db


def en_client(user=None):
    client = Client(headers={"Accept-Language": "en"})
    if user:
        client.force_login(user)
    return client


def test_a_published_manual_reaches_every_business_of_the_scene(business_user, enterprise, far_enterprise):
    assert not notices.manual_notice(enterprise=enterprise).needs_acknowledgement
    manual = make_manual()
    assert notices.manual_notice(enterprise=enterprise).manual == manual
    assert notices.manual_notice(enterprise=enterprise).needs_acknowledgement
    assert notices.manual_notice(enterprise=far_enterprise).manual is None  # medical has none


def test_a_member_acknowledges_and_a_new_version_asks_again(business_user, enterprise):
    first = make_manual()
    notices.manual_acknowledge(enterprise=enterprise, user=business_user)
    assert not notices.manual_notice(enterprise=enterprise).needs_acknowledgement
    again = notices.manual_acknowledge(enterprise=enterprise, user=business_user)
    assert again.manual == first  # a double tap is not an error
    second = make_manual()
    notice = notices.manual_notice(enterprise=enterprise)
    assert notice.manual == second and notice.needs_acknowledgement
    assert verify_chain().ok


def test_only_members_acknowledge(inspector_user, enterprise):
    make_manual()
    other_member = MembershipFactory().user
    for user in (inspector_user, other_member):
        with pytest.raises(DomainError) as caught:
            notices.manual_acknowledge(enterprise=enterprise, user=user)
        assert caught.value.code == "not_member"


def test_acknowledging_a_superseded_version_is_refused(business_user, enterprise):
    old = make_manual()
    make_manual()
    with pytest.raises(DomainError) as caught:
        notices.manual_acknowledge(enterprise=enterprise, user=business_user, manual=old)
    assert caught.value.code == "superseded"


def test_rates_by_scene_and_district(business_user, enterprise, other_enterprise):
    make_manual()
    EnterpriseFactory(district=District.objects.get(code="110108"))
    EnterpriseFactory(licence_status=Enterprise.LicenceStatus.REVOKED)  # not counted: not active
    notices.manual_acknowledge(enterprise=enterprise, user=business_user)
    rows = {
        (r.scene, r.district): (r.enterprises, r.acknowledged)
        for r in notices.acknowledgement_rates(enterprises=Enterprise.objects.all())
    }
    assert rows == {("catering", "110105"): (2, 1), ("catering", "110108"): (1, 0)}


def test_rates_are_limited_to_the_regulators_scope(business_user, enterprise, regulator_user, far_enterprise):
    make_manual()
    make_manual("medical")
    body = en_client(regulator_user).get("/api/v1/acknowledgement-rates").json()
    assert {row["scene"] for row in body} == {"catering"}


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("business_user", 403),
        ("inspector_user", 403),
        ("regulator_user", 200),
        ("admin_user", 200),
    ],
)
def test_rates_are_for_regulators(request, role, status):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    assert en_client(user).get("/api/v1/acknowledgement-rates").status_code == status


# --- the API ----------------------------------------------------------------------------------------


def test_the_public_reads_the_current_manual():
    manual = make_manual()
    body = en_client().get("/api/v1/scenes/catering/manual").json()
    assert body["id"] == manual.pk and body["chapters"][0]["clauses"][0]["law"] == "中华人民共和国食品安全法"
    assert en_client().get("/api/v1/scenes/medical/manual").status_code == 404


def test_drafts_are_hidden_from_everyone_but_their_editors(regulator_user, business_user):
    draft = make_manual(publish=False)
    assert en_client().get(f"/api/v1/manuals/{draft.pk}").status_code == 404
    assert en_client(business_user).get(f"/api/v1/manuals/{draft.pk}").status_code == 404
    assert en_client(regulator_user).get(f"/api/v1/manuals/{draft.pk}").status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 401),
        ("business_user", 404),
        ("inspector_user", 404),
        ("regulator_user", 200),
        ("admin_user", 200),
    ],
)
def test_who_publishes_a_checklist(request, role, status):
    draft = make_checklist(publish=False)
    user = None if role == "anonymous" else request.getfixturevalue(role)
    response = en_client(user).post(f"/api/v1/checklists/{draft.pk}/publish")
    assert response.status_code == status
    draft.refresh_from_db()
    assert draft.status == ("published" if status == 200 else "draft")


def test_a_regulator_of_another_department_cannot_publish(db):
    from core.models import Department
    from tests.factories import RegulatorFactory

    health = RegulatorFactory(department=Department.objects.get(code="health")).user
    published = make_checklist()  # market regulation's, visible to all signed-in users
    draft = make_checklist(publish=False)
    assert en_client(health).get(f"/api/v1/checklists/{published.pk}").status_code == 200
    response = en_client(health).post(f"/api/v1/checklists/{draft.pk}/publish")
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_the_merged_checklist_for_an_enterprise(inspector_user, enterprise, far_enterprise):
    make_checklist("catering", "market_regulation", items=2)
    make_checklist("catering", "fire_rescue", items=1)
    client = en_client(inspector_user)
    body = client.get("/api/v1/scenes/catering/checklist", {"enterprise": enterprise.uscc}).json()
    assert [(i["department"], i["code"]) for i in body["items"]] == [
        ("fire_rescue", "fir-1"),
        ("market_regulation", "mar-1"),
        ("market_regulation", "mar-2"),
    ]
    assert (
        client.get("/api/v1/scenes/catering/checklist", {"enterprise": far_enterprise.uscc}).status_code
        == 404
    )


def test_acknowledging_through_the_api(business_user, enterprise, other_enterprise):
    manual = make_manual()
    client = en_client(business_user)
    assert client.get(f"/api/v1/enterprises/{enterprise.uscc}/manual").json()["needs_acknowledgement"] is True
    response = client.post(
        f"/api/v1/enterprises/{enterprise.uscc}/manual/acknowledge",
        {"manual_id": manual.pk},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["needs_acknowledgement"] is False
    other = client.post(
        f"/api/v1/enterprises/{other_enterprise.uscc}/manual/acknowledge", {}, content_type="application/json"
    )
    assert other.status_code == 404


# --- pages and the PDF ---------------------------------------------------------------------------------


def test_the_business_acknowledges_on_its_manual_page(business_user, enterprise):
    make_manual()
    client = en_client(business_user)
    page = client.get(f"/manuals/enterprise/{enterprise.uscc}/").content.decode()
    assert "I have read it and will comply" in page
    response = client.post(
        f"/manuals/enterprise/{enterprise.uscc}/acknowledge", {"manual_id": ""}, follow=True
    )
    assert "Acknowledged on" in response.content.decode()


def test_the_manual_pdf_has_a_table_of_contents_and_chinese_text():
    manual = make_manual(clauses=3)
    response = en_client().get(f"/manuals/{manual.pk}/pdf")
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "餐饮服务合规手册" in text and "目录" in text and "食品经营许可证应当悬挂在显著位置" in text
    assert "中华人民共和国食品安全法" in text
    assert len(reader.pages) >= 3  # cover, contents, chapter
    # Rendered once: a second request serves the stored file.
    assert en_client().get(f"/manuals/{manual.pk}/pdf").content == response.content


def test_a_draft_manual_pdf_is_not_public():
    draft = make_manual(publish=False)
    assert en_client().get(f"/manuals/{draft.pk}/pdf").status_code == 404


def test_the_scan_landing_shows_the_pushed_manual(business_user, enterprise):
    from core import codes

    token = codes.code_issue(enterprise=enterprise).token
    make_manual()
    business_page = en_client(business_user).get(f"/c/{token}").content.decode()
    assert "please read and acknowledge" in business_page
    assert "not yet acknowledged" in en_client().get(f"/c/{token}").content.decode()
    notices.manual_acknowledge(enterprise=enterprise, user=business_user)
    assert "please read and acknowledge" not in en_client(business_user).get(f"/c/{token}").content.decode()
    assert ">acknowledged<" in en_client().get(f"/c/{token}").content.decode()
