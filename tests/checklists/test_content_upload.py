import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from checklists.models import Checklist, Manual
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

VALID = """\
scene: catering
checklists:
  - department: market_regulation
    title: 餐饮检查单
    items:
      - code: cat-mr-licence
        question: 是否公示有效的食品经营许可证？
        law: 中华人民共和国食品安全法
        article: 第三十五条
        severity: major
        method: look
"""


def client_for(user=None):
    client = Client(headers={"Accept-Language": "en"})
    if user:
        client.force_login(user)
    return client


def yaml_file(text=VALID, name="catering.yaml"):
    return SimpleUploadedFile(name, text.encode(), content_type="application/x-yaml")


def test_a_regulator_uploads_drafts_and_publishes_them(regulator_user):
    client = client_for(regulator_user)
    response = client.post("/api/v1/content", {"file": yaml_file()})
    assert response.status_code == 201, response.content
    checklist_id = response.json()["checklists"][0]["id"]
    assert Checklist.objects.get(pk=checklist_id).status == "draft"
    assert client.post(f"/api/v1/checklists/{checklist_id}/publish").status_code == 200
    assert Checklist.objects.get(pk=checklist_id).status == "published"


def test_errors_name_the_line_and_field_and_nothing_is_written(regulator_user):
    bad = VALID.replace("severity: major", "severity: huge")
    response = client_for(regulator_user).post("/api/v1/content", {"file": yaml_file(bad)})
    assert response.status_code == 422
    (issue,) = response.json()["details"]
    assert issue["line"] == 10 and issue["field"].endswith("severity") and issue["file"] == "catering.yaml"
    assert not Checklist.objects.exists() and not AuditEvent.objects.filter(action="content.import").exists()


def test_another_departments_checklist_is_refused_and_rolled_back(db):
    from core.models import Department
    from tests.factories import RegulatorFactory

    health = RegulatorFactory(department=Department.objects.get(code="health")).user
    text = VALID.replace("scene: catering", "scene: medical").replace("market_regulation", "health")
    assert client_for(health).post("/api/v1/content", {"file": yaml_file(text)}).status_code == 201
    response = client_for(health).post("/api/v1/content", {"file": yaml_file()})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert not Checklist.objects.filter(scene__code="catering").exists()
    assert not Manual.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 401), ("business_user", 403), ("inspector_user", 403)]
)
def test_only_regulators_upload(request, role, status):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    assert client_for(user).post("/api/v1/content", {"file": yaml_file()}).status_code == status
    assert not Checklist.objects.exists()


def test_an_upload_naming_a_server_file_is_content_not_a_path(regulator_user):
    response = client_for(regulator_user).post("/api/v1/content", {"file": yaml_file("/etc/passwd")})
    assert response.status_code == 422
    assert "root:" not in response.content.decode()


def test_malformed_yaml_and_non_utf8_are_clear_errors(regulator_user):
    client = client_for(regulator_user)
    broken = client.post("/api/v1/content", {"file": yaml_file("scene: catering\nchecklists: [\n")})
    assert broken.status_code == 422 and broken.json()["details"][0]["line"] >= 2
    latin1 = SimpleUploadedFile("x.yaml", "scene: café".encode("latin-1"))
    assert client.post("/api/v1/content", {"file": latin1}).status_code == 422


def test_a_csv_checklist_upload(regulator_user):
    csv = (
        "code,question,law,article,severity,method\n"
        "cat-mr-a,是否公示许可证？,中华人民共和国食品安全法,第三十五条,major,look\n"
    )
    response = client_for(regulator_user).post(
        "/api/v1/content/checklist.csv",
        {
            "scene": "catering",
            "department": "market_regulation",
            "title": "CSV 检查单",
            "file": SimpleUploadedFile("c.csv", csv.encode()),
        },
    )
    assert response.status_code == 201, response.content
    assert Checklist.objects.get().items.get().code == "cat-mr-a"


def test_the_content_page_uploads_and_shows_every_error(regulator_user):
    client = client_for(regulator_user)
    bad = VALID.replace("severity: major", "severity: huge").replace("method: look", "method: sniff")
    page = client.post("/manuals/content/upload", {"file": yaml_file(bad)})
    assert page.status_code == 422
    html = page.content.decode()
    assert "catering.yaml:10" in html and "catering.yaml:11" in html
    ok = client.post("/manuals/content/upload", {"file": yaml_file()}, follow=True)
    assert "Imported as drafts" in ok.content.decode()


def test_the_content_page_is_not_for_businesses(business_user):
    assert client_for(business_user).get("/manuals/content/").status_code == 404
    assert client_for(business_user).post("/manuals/content/upload", {"file": yaml_file()}).status_code == 404
