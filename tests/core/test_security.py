"""Security settings as a visitor meets them: the password policy, the response headers and CSP,
the production values, and user input that never turns into markup (pages) or into anything but
text (PDFs)."""

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.management.commands import createsuperuser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape
from pypdf import PdfReader

from core import codes
from core.code_documents import code_pdf
from demo import seed as demo
from supervision.inspections import services as workflow
from supervision.inspections.documents import document_for
from supervision.models import Document, Result
from tests.factories import (
    FAILING,
    PASSWORD,
    PRODUCTION,
    UserFactory,
    items_of,
    make_task,
    run_manage,
    sign_all,
    submit,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

# --- the password policy ------------------------------------------------------------------------------


@pytest.fixture
def person(db):
    return UserFactory(username="wangxiaoming", first_name="Xiaoming", last_name="Wang")


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("k9#mQ2!x", "password_too_short"),  # 8 characters, otherwise fine
        ("48213957062841", "password_entirely_numeric"),
        ("password123", "password_too_common"),
        ("1qaz2wsx3edc", "password_too_common"),
        ("wangxiaoming1", "password_too_similar"),
    ],
)
def test_the_policy_refuses_weak_passwords(person, password, code):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, person)
    assert code in [error.code for error in refused.value.error_list]


def test_ten_characters_is_the_minimum(person):
    with pytest.raises(ValidationError):
        validate_password("k9#mQ2!xZ", person)
    validate_password("k9#mQ2!xZr", person)


def test_the_password_change_form_refuses_a_weak_new_password(person):
    form = PasswordChangeForm(
        person, {"old_password": PASSWORD, "new_password1": "password123", "new_password2": "password123"}
    )
    assert not form.is_valid()
    assert "new_password2" in form.errors
    strong = "tea-kettle-orbit-42"
    form = PasswordChangeForm(
        person, {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong}
    )
    assert form.is_valid(), form.errors


def test_setting_a_password_for_someone_is_held_to_the_policy_too(person):
    form = SetPasswordForm(person, {"new_password1": "12345678901", "new_password2": "12345678901"})
    assert not form.is_valid()


def test_the_admins_password_change_page_refuses_a_weak_password(admin_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(admin_user)
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": "qwertyuiop", "new_password2": "qwertyuiop"},
    )
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


def test_an_admin_cannot_give_another_user_a_weak_password(admin_user, person):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(admin_user)
    response = client.post(
        f"/admin/auth/user/{person.pk}/password/",
        {"set_usable_password": "true", "password1": "wangxiaoming", "password2": "wangxiaoming"},
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_createsuperuser_refuses_a_weak_password_and_asks_again(monkeypatch):
    answers = iter(["password123", "password123", "tea-kettle-orbit-42", "tea-kettle-orbit-42"])
    monkeypatch.setattr(createsuperuser.getpass, "getpass", lambda prompt="": next(answers))
    bypass_questions = []
    monkeypatch.setattr("builtins.input", lambda prompt="": bypass_questions.append(prompt) or "n")
    errors = io.StringIO()
    call_command(
        "createsuperuser",
        interactive=True,
        username="chief",
        email="chief@example.cn",
        stdin=_TTY(),
        stdout=io.StringIO(),
        stderr=errors,
    )
    assert "This password is too common." in errors.getvalue()
    assert len(bypass_questions) == 1
    assert get_user_model().objects.get(username="chief").check_password("tea-kettle-orbit-42")


def test_generated_demo_passwords_satisfy_the_policy():
    User = get_user_model()
    for _ in range(200):
        password = demo.demo_password()
        for spec in demo.DEMO_USERS:
            validate_password(
                password, User(username=spec.username, first_name=spec.first_name, last_name=spec.last_name)
            )


# --- response headers and the content security policy ----------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.fixture
def pages(enterprise, inspector_user):
    code = codes.code_issue(enterprise=enterprise)
    signed_in = Client()
    signed_in.force_login(inspector_user)
    return {
        "home": (Client(), "/"),
        "sign-in": (Client(), "/accounts/login/"),
        "public card": (Client(), f"/c/{code.token}"),
        "entity card": (signed_in, f"/c/{code.token}"),
        "enterprise list": (signed_in, "/enterprises/"),
        "not found": (signed_in, "/no-such-page/"),
        "api": (signed_in, "/api/v1/enterprises"),
    }


@pytest.mark.parametrize(
    "page", ["home", "sign-in", "public card", "entity card", "enterprise list", "not found", "api"]
)
def test_every_response_carries_the_security_headers(pages, page):
    client, url = pages[page]
    response = client.get(url)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]


@pytest.mark.parametrize("page", ["home", "entity card"])
def test_scripts_and_styles_come_from_the_site_only_never_inline(pages, page):
    client, url = pages[page]
    csp = csp_directives(client.get(url)["Content-Security-Policy"])
    for directive in ("script-src", "style-src"):
        sources = csp[directive]
        assert "'self'" in sources
        for unsafe in (
            "'unsafe-inline'",
            "'unsafe-eval'",
            "'unsafe-hashes'",
            "*",
            "data:",
            "http:",
            "https:",
        ):
            assert unsafe not in sources, (directive, unsafe)


def web_templates() -> list[Path]:
    """Templates served as pages (PDF templates are rendered by WeasyPrint, not by a browser)."""
    found = []
    for app in ("core", "checklists", "supervision", "history"):
        for template in sorted((ROOT / app).glob("templates/**/*.html")):
            if "pdf" not in template.parts and not template.name.endswith("_pdf.html"):
                found.append(template)
    return found


def test_no_page_template_holds_inline_script_style_or_event_handlers():
    """What CSP would block silently; it must not be in the templates to begin with."""
    import re

    offenders = []
    for template in web_templates():
        text = template.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",  # an inline script
            r"<style\b",
            r"\sstyle=",
            r"\son[a-z]+=",  # onclick=...
            r"javascript:",
        ):
            if re.search(pattern, text, re.IGNORECASE):
                offenders.append(f"{template.relative_to(ROOT)}: {pattern}")
    assert web_templates()
    assert offenders == []


def test_the_session_cookie_is_http_only_and_secure_when_so_configured(settings, inspector_user):
    settings.SESSION_COOKIE_SECURE = True
    response = Client().post(
        "/accounts/login/", {"username": inspector_user.username, "password": PASSWORD}, secure=True
    )
    assert response.status_code == 302
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Lax"


PRODUCTION_PROBE = """
import json
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="supervision.example.gov.cn")
plain = client.get("/accounts/login/")
tls = client.get("/accounts/login/", secure=True)
csrf = tls.cookies[settings.CSRF_COOKIE_NAME]
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "hsts": tls.get("Strict-Transport-Security", ""),
    "csrf_cookie_secure": bool(csrf["secure"]),
    "settings": {name: getattr(settings, name) for name in [
        "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS", "AXES_ENABLED", "AXES_FAILURE_LIMIT", "AXES_LOCKOUT_PARAMETERS",
        "AXES_RESET_ON_SUCCESS", "AUTHENTICATION_BACKENDS", "MIDDLEWARE",
    ]},
    "cool_off_seconds": settings.AXES_COOLOFF_TIME.total_seconds(),
}))
"""


@pytest.fixture
def _production_defaults(monkeypatch):
    """The test run may switch the lock-out off (AXES_ENABLED=0); production does not."""
    for variable in ("AXES_ENABLED", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_MINUTES"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.usefixtures("_production_defaults")
def test_production_values_turn_on_tls_only_cookies_hsts_and_the_lock_out(tmp_path):
    result = run_manage("shell", "-c", PRODUCTION_PROBE, VAR_DIR=str(tmp_path), **PRODUCTION)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["plain_status"] == 301
    assert probe["plain_location"] == "https://supervision.example.gov.cn/accounts/login/"
    assert probe["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert probe["csrf_cookie_secure"]
    values = probe["settings"]
    assert values["SESSION_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["AXES_ENABLED"] is True
    assert values["AXES_FAILURE_LIMIT"] == 5
    assert probe["cool_off_seconds"] == 15 * 60
    assert values["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]
    assert values["AXES_RESET_ON_SUCCESS"] is True
    assert values["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    assert values["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"


@pytest.mark.usefixtures("_production_defaults")
def test_the_lock_out_is_configured_from_the_environment(tmp_path):
    probe = "from django.conf import settings; print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME)"
    result = run_manage(
        "shell",
        "-c",
        probe,
        VAR_DIR=str(tmp_path),
        AXES_FAILURE_LIMIT="8",
        AXES_COOLOFF_MINUTES="60",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "8 1:00:00"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AXES_FAILURE_LIMIT", "five", "AXES_FAILURE_LIMIT: expected a whole number"),
        ("AXES_FAILURE_LIMIT", "0", "AXES_FAILURE_LIMIT: must be at least 1"),
        ("AXES_COOLOFF_MINUTES", "15m", "AXES_COOLOFF_MINUTES: expected a whole number"),
        ("AXES_COOLOFF_MINUTES", "0", "AXES_COOLOFF_MINUTES: must be at least 1"),
        ("AXES_ENABLED", "sometimes", "AXES_ENABLED: expected a boolean"),
    ],
)
def test_a_bad_lock_out_value_stops_start_up_naming_the_variable(tmp_path, variable, value, message):
    result = run_manage("check", VAR_DIR=str(tmp_path), **{**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


# --- user input is text, never markup -----------------------------------------------------------------

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(1)>"
ESCAPED = escape(PAYLOAD)


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "onerror=alert(1)>" not in html
    assert ESCAPED in html


@pytest.fixture
def hostile(enterprise):
    """An enterprise whose every typed field is a script."""
    enterprise.name = f"老王菜馆{PAYLOAD}"
    enterprise.address = PAYLOAD
    enterprise.legal_representative = PAYLOAD
    enterprise.save()
    code = codes.code_issue(enterprise=enterprise)
    reported = Client(REMOTE_ADDR="203.0.113.9").post(
        f"/c/{code.token}", {"text": PAYLOAD, "contact": PAYLOAD}
    )
    assert reported.status_code == 302
    return code


def test_the_public_card_shows_a_hostile_name_as_text(hostile):
    assert_escaped(Client().get(f"/c/{hostile.token}").content.decode())


def test_the_entity_card_shows_hostile_fields_as_text(hostile, inspector_user):
    client = Client()
    client.force_login(inspector_user)
    response = client.get(f"/c/{hostile.token}")
    assert "landing/inspector.html" in [t.name for t in response.templates]
    assert_escaped(response.content.decode())


def test_the_regulators_card_shows_a_hostile_complaint_and_contact_as_text(hostile, regulator_user):
    client = Client()
    client.force_login(regulator_user)
    html = client.get(f"/c/{hostile.token}").content.decode()
    assert_escaped(html)
    assert html.count(ESCAPED) >= 4  # name, address, representative, complaint text, contact


def test_the_enterprise_pages_show_a_hostile_name_as_text(hostile, regulator_user):
    client = Client()
    client.force_login(regulator_user)
    assert_escaped(client.get(f"/enterprises/{hostile.enterprise.uscc}/").content.decode())
    assert_escaped(client.get("/enterprises/", {"q": hostile.enterprise.uscc}).content.decode())


def test_the_monitor_pages_show_hostile_names_and_notes_as_text(hostile, order, regulator_user):
    client = Client()
    client.force_login(regulator_user)
    make_task(
        enterprise=hostile.enterprise,
        team=list(order.inspection.task.inspectors.all()),
        actor=regulator_user,
        note=PAYLOAD,
    )
    assert_escaped(client.get("/monitor/tasks/").content.decode())
    with time_machine.travel(order.deadline + timedelta(days=1)):
        html = client.get("/monitor/loop/").content.decode()
    assert_escaped(html)


def test_the_inspection_pages_show_a_hostile_note_as_text(hostile, inspection, lead, team):
    item = items_of(inspection)["mar-1"]
    workflow.inspection_answer(
        inspection=inspection, actor=lead, item_id=item.pk, result=Result.COMPLIANT, note=PAYLOAD
    )
    client = Client()
    client.force_login(lead)
    assert_escaped(client.get(f"/inspections/{inspection.pk}/").content.decode())


def pdf_text(content: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def test_the_code_sticker_prints_a_hostile_name_as_literal_text(hostile):
    text = pdf_text(code_pdf(hostile, "sticker"))
    assert "".join(PAYLOAD.split()) in text


def test_the_on_site_record_prints_hostile_fields_as_literal_text(hostile, inspection, lead, team):
    from tests.factories import answer_all

    answer_all(inspection, lead, FAILING)
    item = items_of(inspection)["mar-1"]
    workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, note=PAYLOAD)
    sign_all(inspection, lead, team)
    submitted = submit(inspection, lead)
    document = document_for(inspection=submitted, kind=Document.Kind.INSPECTION_RECORD)
    with default_storage.open(document.file.name, "rb") as stored:
        text = pdf_text(stored.read())
    flat = "".join(PAYLOAD.split())
    assert text.count(flat) >= 3  # the name, the representative, the note
