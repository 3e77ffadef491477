"""core.middleware.InvalidCharactersMiddleware: a NUL (or another C0 control character but tab, line
feed and carriage return) in a path, query, form field or JSON string is refused with 400 before
anything reads it: coded JSON for the API, the error page for pages. On PostgreSQL each of these
requests answered 500 (run this file with DATABASE_URL set to see it); on SQLite they were stored
or searched as they came. A refused scan is still recorded, its token written out."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from core import codes
from core.models import AuditEvent, Complaint, ScanEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def assert_api_refusal(response, where: str):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_characters"
    assert body["details"]["in"] == where
    assert "control character" in body["message"]


def assert_page_refusal(response):
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("text/html")
    assert "control character" in response.content.decode()


# --- the scan: refused, and still recorded ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/c/%00", "/c/ABC%00DEF", "/c/%1b%5b2J"])
def test_a_scanned_token_with_a_control_character_is_refused_and_recorded(path):
    response = client_for().get(path)
    assert_page_refusal(response)
    scan = ScanEvent.objects.get()
    assert (scan.outcome, scan.channel, scan.code, scan.enterprise) == ("malformed", "web", None, None)
    assert "\\x" in scan.token and "\x00" not in scan.token


def test_a_real_token_with_a_nul_appended_is_not_a_scan_of_that_code(enterprise):
    code = codes.code_issue(enterprise=enterprise)
    response = client_for().get(f"/c/{code.token}%00")
    assert_page_refusal(response)
    scan = ScanEvent.objects.get()
    assert scan.outcome == "malformed" and scan.code is None
    assert scan.token == (code.token + "\\x00")[:64]


def test_the_scan_api_refuses_and_records_it_too():
    response = client_for().get("/api/v1/scan/%00")
    assert_api_refusal(response, "path")
    scan = ScanEvent.objects.get()
    assert (scan.outcome, scan.channel, scan.token) == ("malformed", "api", "\\x00")


def test_the_timeline_behind_a_token_is_refused_and_is_not_a_scan():
    assert_page_refusal(client_for().get("/c/%00abc/timeline"))
    assert not ScanEvent.objects.exists()


# --- the API: path, query and JSON body ------------------------------------------------------------------


def test_the_token_endpoint_refuses_a_nul_in_the_username(business_user):
    response = client_for().post(
        "/api/v1/auth/token",
        {"username": business_user.username + "\x00", "password": PASSWORD, "device": "tablet"},
        content_type="application/json",
    )
    assert_api_refusal(response, "body")
    assert response.json()["details"]["name"] == "username"


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f"])
def test_every_control_character_but_tab_newline_and_return_is_refused(business_user, character):
    def token(device):
        body = {"username": business_user.username, "password": PASSWORD, "device": device}
        return client_for().post("/api/v1/auth/token", body, content_type="application/json")

    assert_api_refusal(token(f"tab{character}let"), "body")
    assert token("tablet\t1\r\n").status_code == 201


def test_a_json_body_is_read_whatever_its_content_type_says(business_user):
    body = json.dumps({"username": "a\x00", "password": "b", "device": "c"})
    response = client_for().post("/api/v1/auth/token", body, content_type="text/plain")
    assert_api_refusal(response, "body")


def test_the_place_in_a_nested_body_is_named(regulator_user):
    body = {"weights": {"scene": 1}, "params": {"offsite": [{"name": "ok"}, {"label": {"zh\x00": "x"}}]}}
    response = client_for(regulator_user).post(
        "/api/v1/scoring/policies", body, content_type="application/json"
    )
    assert_api_refusal(response, "body")
    assert response.json()["details"]["name"] == "params.offsite[1].label.zh\\x00"


def test_a_query_parameter_is_refused_by_the_api(regulator_user):
    response = client_for(regulator_user).get("/api/v1/enterprises", {"q": "饭店\x00"})
    assert_api_refusal(response, "query")
    assert response.json()["details"]["name"] == "q"


def test_a_query_parameter_name_is_refused_too(regulator_user):
    assert_api_refusal(client_for(regulator_user).get("/api/v1/enterprises?a%00=1"), "query")


def test_a_path_parameter_is_refused_by_the_api(regulator_user):
    assert_api_refusal(client_for(regulator_user).get("/api/v1/enterprises/91110105%00/timeline"), "path")


def test_an_anonymous_caller_is_refused_before_authentication():
    assert_api_refusal(client_for().get("/api/v1/enterprises", {"q": "\x00"}), "query")


def test_a_field_beside_an_upload_is_refused(regulator_user):
    upload = SimpleUploadedFile("mr.csv", b"code,question\n", content_type="text/csv")
    fields = {"scene": "catering", "department": "market_regulation", "title": "检查单\x00", "file": upload}
    response = client_for(regulator_user).post("/api/v1/content/checklist.csv", fields)
    assert_api_refusal(response, "form")
    assert response.json()["details"]["name"] == "title"
    assert not AuditEvent.objects.filter(action="content.import").exists()


# --- pages: filters, forms ---------------------------------------------------------------------------------


def test_a_list_filter_is_refused_with_the_error_page(regulator_user):
    assert_page_refusal(client_for(regulator_user).get("/enterprises/", {"q": "\x00"}))


def test_the_public_report_form_refuses_a_nul_and_stores_nothing(enterprise):
    code = codes.code_issue(enterprise=enterprise)
    response = client_for().post(f"/c/{code.token}", {"text": "后厨有老鼠\x00", "contact": ""})
    assert_page_refusal(response)
    assert not Complaint.objects.exists()
    assert not ScanEvent.objects.exists()  # a report is not a scan
    # Tab, newline and carriage return are text.
    response = client_for().post(
        f"/c/{code.token}", {"text": "后厨地面有积水，\r\n\t老鼠出没", "contact": ""}
    )
    assert response.status_code == 302, response.content
    assert Complaint.objects.get().text.endswith("\t老鼠出没")


def test_the_sign_in_form_refuses_a_nul_in_the_username(business_user):
    response = client_for().post("/accounts/login/", {"username": "a\x00", "password": "b"})
    assert_page_refusal(response)


@csrf_exempt
def _reads_its_own_form(request):
    """Like /v/<id>: exempt from the CSRF check, so that it may refuse a body by its length first."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > 10_000:
        return HttpResponse("too large", status=413)
    return HttpResponse(request.POST.get("text", ""))


urlpatterns = [path("planted/", _reads_its_own_form), path("", include("config.urls"))]


def test_a_form_a_view_reads_itself_is_checked_when_it_reads_it(settings):
    settings.ROOT_URLCONF = __name__
    assert_page_refusal(client_for().post("/planted/", {"text": "a\x00b"}))
    assert client_for().post("/planted/", {"text": "a\tb"}).content == b"a\tb"
    # Not read before the view: it refuses a large body by its length alone.
    response = client_for().post("/planted/", {"text": "a\x00b", "padding": "x" * 20_000})
    assert response.status_code == 413


# --- cookies ----------------------------------------------------------------------------------------------


def test_a_session_cookie_with_a_nul_is_no_session(enterprise):
    """A quoted cookie's octal escape reads as NUL (gunicorn lets the backslash through); the session
    was looked up with it: 500 on PostgreSQL for every page that asks who is signed in."""
    code = codes.code_issue(enterprise=enterprise)
    client = Client(headers={"Accept-Language": "en"}, HTTP_COOKIE='sessionid="abcdefgh\\000ijkl"')
    response = client.get(f"/c/{code.token}")
    assert response.status_code == 200 and response.context["scan"].view == "public"
    assert ScanEvent.objects.get().user is None
    assert client.get("/enterprises/").status_code == 302  # to the sign-in page
