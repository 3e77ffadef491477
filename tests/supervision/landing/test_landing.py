import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from core import codes
from core.models import Complaint, Photo, ScanEvent
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

# (role, enterprise) -> the face of /c/<token> that role gets
VIEWS = {
    ("anonymous", "own"): "public",
    ("anonymous", "far"): "public",
    ("outsider", "own"): "public",
    ("business", "own"): "business",
    ("business", "other"): "public",
    ("business", "far"): "public",
    ("inspector", "own"): "inspector",
    ("inspector", "other"): "inspector",
    ("inspector", "far"): "public",
    ("regulator", "own"): "regulator",
    ("regulator", "other"): "regulator",
    ("regulator", "far"): "public",
    ("admin", "own"): "regulator",
    ("admin", "far"): "regulator",
}


@pytest.fixture
def people(business_user, inspector_user, regulator_user, admin_user, outsider):
    return {
        "outsider": outsider,
        "business": business_user,
        "inspector": inspector_user,
        "regulator": regulator_user,
        "admin": admin_user,
    }


@pytest.fixture
def targets(enterprise, other_enterprise, far_enterprise):
    return {
        "own": codes.code_issue(enterprise=enterprise),
        "other": codes.code_issue(enterprise=other_enterprise),
        "far": codes.code_issue(enterprise=far_enterprise),
    }


def client_for(people, role):
    client = Client(headers={"Accept-Language": "en", "User-Agent": "PhoneScanner/1.0"})
    if role != "anonymous":
        client.force_login(people[role])
    return client


@pytest.mark.parametrize(("role", "which"), sorted(VIEWS))
def test_landing_permission_table(people, targets, role, which):
    client = client_for(people, role)
    code = targets[which]
    page = client.get(reverse("landing", args=[code.token]))
    assert page.status_code == 200
    assert f"landing/{VIEWS[(role, which)]}.html" in [t.name for t in page.templates]
    api = client.get(f"/api/v1/scan/{code.token}")
    assert api.status_code == 200
    body = api.json()
    assert body["view"] == VIEWS[(role, which)]
    assert body["enterprise"]["uscc"] == code.enterprise.uscc
    if body["view"] == "public":
        # The public card carries no personal data and nothing beyond the public fields.
        assert "legal_representative" not in body["enterprise"] and "address" not in body["enterprise"]
        assert code.enterprise.legal_representative not in page.content.decode()
    else:
        assert body["enterprise"]["legal_representative"] == code.enterprise.legal_representative


def test_a_member_of_another_enterprise_gets_the_public_card(targets):
    stranger = MembershipFactory(enterprise=targets["far"].enterprise).user
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/api/v1/scan/{targets['own'].token}").json()["view"] == "public"


@pytest.mark.parametrize(
    ("make_token", "status", "outcome", "api_code"),
    [
        (lambda code: "Z" * codes.TOKEN_LENGTH, 404, "unknown", "unknown_code"),
        (lambda code: "not-a-code", 404, "malformed", "unknown_code"),
        (lambda code: "%27%3Bdrop", 404, "malformed", "unknown_code"),
    ],
)
def test_unknown_and_malformed_codes_get_a_clear_404_and_are_recorded(
    targets, make_token, status, outcome, api_code
):
    token = make_token(targets["own"])
    client = Client(headers={"Accept-Language": "en"})
    page = client.get(f"/c/{token}")
    assert page.status_code == status and "Code not recognised" in page.content.decode()
    api = client.get(f"/api/v1/scan/{token}")
    assert api.status_code == status and api.json()["code"] == api_code
    assert ScanEvent.objects.filter(outcome=outcome).count() == 2


@pytest.mark.parametrize("how", ["rotate", "revoke"])
def test_a_replaced_or_revoked_code_answers_410_and_shows_nothing(targets, admin_user, how):
    old = targets["own"]
    if how == "rotate":
        codes.code_rotate(enterprise=old.enterprise, actor=admin_user)
        outcome = "replaced"
    else:
        codes.code_revoke(enterprise=old.enterprise, actor=admin_user, reason="licence revoked")
        outcome = "revoked"
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(admin_user)  # even the admin gets no enterprise data from a dead code
    page = client.get(f"/c/{old.token}")
    assert page.status_code == 410
    assert old.enterprise.name not in page.content.decode()
    api = client.get(f"/api/v1/scan/{old.token}")
    assert api.status_code == 410 and api.json()["code"] == f"code_{outcome}"
    assert "enterprise" not in api.json()
    assert ScanEvent.objects.filter(outcome=outcome, code=old).count() == 2


def test_every_scan_is_recorded_with_role_user_and_agent(people, targets):
    client_for(people, "inspector").get(f"/c/{targets['own'].token}")
    client_for(people, "anonymous").get(f"/api/v1/scan/{targets['own'].token}")
    web, api = ScanEvent.objects.order_by("pk")
    assert (web.view, web.user, web.channel, web.outcome) == ("inspector", people["inspector"], "web", "ok")
    assert (api.view, api.user, api.channel) == ("public", None, "api")
    assert web.user_agent == "PhoneScanner/1.0" and web.enterprise == targets["own"].enterprise
    assert len(web.client) == 16 and web.client == api.client


# --- reporting a problem from the public card ----------------------------------------------------------


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(name, content, content_type="image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def report(client, token, **fields):
    return client.post(f"/c/{token}", {"text": "后厨地面有积水，老鼠出没", **fields})


def test_the_public_reports_a_problem(targets):
    client = Client(headers={"Accept-Language": "en"})
    photo = upload("rat.jpg", jpeg_bytes())
    response = report(client, targets["own"].token, contact="13800000000", photo=photo)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.enterprise == targets["own"].enterprise and complaint.photo is not None
    assert complaint.contact == "13800000000"
    page = client.get(response["Location"]).content.decode()
    assert "Your report was received" in page
    assert "13800000000" not in page


def test_the_reporters_contact_is_never_public_but_the_regulator_sees_it(people, targets):
    report(Client(), targets["own"].token, contact="reporter@example.com")
    url = f"/c/{targets['own'].token}"

    def page(role):
        return client_for(people, role).get(url).content.decode()

    assert "reporter@example.com" not in page("anonymous")
    assert "reporter@example.com" not in page("business")
    assert "reporter@example.com" in page("regulator")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"text": "   "}, "text", "Describe the problem."),
        ({"text": "x" * 2001}, "text", "At most 2000 characters."),
        ({"contact": "1" * 101}, "contact", "At most 100 characters."),
        ({"photo": upload("rat.jpg", b"this is not a picture at all")}, "photo", "JPEG"),
        ({"photo": upload("rat.jpg", jpeg_bytes()[:200])}, "photo", ""),
    ],
)
def test_a_bad_report_gets_a_clear_message_and_stores_nothing(targets, fields, field, message):
    client = Client(headers={"Accept-Language": "en"})
    response = report(client, targets["own"].token, **fields)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert not Complaint.objects.exists() and not Photo.objects.exists()


def test_reports_are_rate_limited_per_client(targets, settings):
    settings.COMPLAINTS_PER_CLIENT_PER_HOUR = 2
    client = Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="10.1.2.3")
    assert [report(client, targets["own"].token).status_code for _ in range(3)] == [302, 302, 429]
    assert Complaint.objects.count() == 2
    # Another client is not affected.
    assert report(Client(REMOTE_ADDR="10.9.9.9"), targets["own"].token).status_code == 302


def test_reports_about_one_code_are_never_capped_a_flood_is_flagged_instead(targets, settings):
    # tests/supervision/complaints/test_abuse.py has the rest of the flood's rules.
    settings.COMPLAINT_FLOOD_PER_DAY = 2
    statuses = [report(Client(REMOTE_ADDR=f"10.0.0.{i}"), targets["own"].token).status_code for i in range(3)]
    assert statuses == [302, 302, 302]
    assert Complaint.objects.filter(flood__isnull=False).count() == 3
    assert report(Client(REMOTE_ADDR="10.0.0.9"), targets["other"].token).status_code == 302


def test_a_report_on_a_revoked_code_is_refused(targets, admin_user):
    codes.code_revoke(enterprise=targets["own"].enterprise, actor=admin_user, reason="closed")
    assert report(Client(), targets["own"].token).status_code == 410
    assert not Complaint.objects.exists()


def test_the_report_form_needs_csrf(targets):
    client = Client(enforce_csrf_checks=True)
    assert report(client, targets["own"].token).status_code == 403
    assert not Complaint.objects.exists()


def test_the_entity_card_shows_the_latest_submitted_self_inspection(people, targets):
    from supervision.self_inspection import services as si
    from tests.factories import make_checklist

    checklist = make_checklist(items=2)
    enterprise = targets["own"].enterprise
    draft, _ = si.self_inspection_start(enterprise=enterprise, user=people["business"])
    url = f"/c/{targets['own'].token}"
    assert f"/self-inspections/{draft.pk}/" not in client_for(people, "inspector").get(url).content.decode()
    business = people["business"]
    for item in checklist.items.all():
        si.self_inspection_answer(self_inspection=draft, user=business, item_id=item.pk, result="compliant")
    si.self_inspection_submit(self_inspection=draft, user=people["business"])
    for role in ("inspector", "regulator", "business"):
        assert f"/self-inspections/{draft.pk}/" in client_for(people, role).get(url).content.decode()
    assert f"/self-inspections/{draft.pk}/" not in client_for(people, "anonymous").get(url).content.decode()
