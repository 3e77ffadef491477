"""The regulators' pages for data sources: who reaches them (a table: every page x every role),
creating and editing a source through the form (the schema validated by the same validator as the
API), issuing a key (shown once) and revoking one."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent
from history.models import DataSource, SourceCredential
from tests.factories import RegulatorFactory
from tests.history.helpers import issue_key, make_source, written

pytestmark = pytest.mark.django_db

MANAGERS = {"regulator", "health_regulator", "admin"}
ROLES = [
    "anonymous",
    "outsider",
    "business",
    "inspector",
    "chaoyang_regulator",
    "regulator",
    "health_regulator",
    "admin",
]


def client_for(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def form_data(**overrides) -> dict:
    data = {
        "code": "cold_chain",
        "name": "冷链传感器",
        "name_en": "Cold-chain sensors",
        "kind": "sensor",
        "business_key": "uscc",
        "attribute_schema": "",
        "signal_schema": json.dumps(
            {"temperature_excursion": {"value": "number", "unit": "°C", "keyed": True, "located": False}}
        ),
        "rate_limit_per_minute": "30",
        "max_batch_rows": "5000",
        "active": "on",
    }
    data.update(overrides)
    return data


# (method, url name, needs a credential, body): what a manager gets is in ALLOWED.
PAGES = [
    ("get", "sources:list", False, None),
    ("get", "sources:new", False, None),
    ("post", "sources:new", False, {"code": ""}),
    ("get", "sources:detail", False, None),
    ("get", "sources:edit", False, None),
    ("post", "sources:edit", False, {"name": ""}),
    ("post", "sources:key-issue", False, {}),
    ("post", "sources:key-revoke", True, {}),
]
ALLOWED = {
    ("get", "sources:list"): 200,
    ("get", "sources:new"): 200,
    ("post", "sources:new"): 422,
    ("get", "sources:detail"): 200,
    ("get", "sources:edit"): 200,
    ("post", "sources:edit"): 422,
    ("post", "sources:key-issue"): 200,
    ("post", "sources:key-revoke"): 302,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "name", "credential", "body"), PAGES, ids=[f"{m} {n}" for m, n, *_ in PAGES]
)
def test_who_reaches_the_pages(people, role, method, name, credential, body):
    source = make_source()
    issue_key(source)
    args = []
    if name not in ("sources:list", "sources:new"):
        args.append(source.code)
    if credential:
        args.append(SourceCredential.objects.get(source=source).pk)
    url = reverse(name, args=args)
    client = client_for(people[role])

    response = client.get(url) if method == "get" else client.post(url, body)

    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    elif role in MANAGERS:
        assert response.status_code == ALLOWED[(method, name)], response.content[:500]
    else:
        assert response.status_code == 404


def test_the_navigation_offers_the_sources_only_to_those_who_manage_them(people):
    assert reverse("sources:list") in client_for(people["regulator"]).get("/").content.decode()
    assert reverse("sources:list") not in client_for(people["chaoyang_regulator"]).get("/").content.decode()


def test_a_manager_creates_a_source_through_the_form(people):
    client = client_for(people["regulator"])

    response = client.post(reverse("sources:new"), form_data(owner=str(people["regulator"].pk)))

    assert response.status_code == 302
    source = DataSource.objects.get(code="cold_chain")
    assert response["Location"] == reverse("sources:detail", args=["cold_chain"])
    assert source.kind == "sensor" and source.owner == people["regulator"] and source.max_batch_rows == 5000
    assert source.attribute_schema == {}
    assert source.signal_schema["temperature_excursion"]["unit"] == "°C"
    assert AuditEvent.objects.filter(action="source.create", target_id=str(source.pk)).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "signal_schema",
            '{"temperature_excursion": {"value": "degrees", "keyed": true, "located": false}}',
            "value must be one of none, number",
        ),
        (
            "signal_schema",
            '{"x": {"value": "none", "keyed": false, "located": false}}',
            "a signal is keyed, located or both",
        ),
        (
            "attribute_schema",
            '{"Risk Class": {"type": "choice", "choices": ["a"]}}',
            "a name is lower-case letters",
        ),
        (
            "attribute_schema",
            '{"risk_class": {"type": "choice", "choices": []}}',
            "choices must be a list of 1 to 200",
        ),
        (
            "attribute_schema",
            '{"risk_class": {"type": "colour"}}',
            "type must be one of text, choice, flag, date, number",
        ),
        ("attribute_schema", '{"risk_class": {"type": "flag", "choices": ["a"]}}', "unknown keys choices"),
        ("attribute_schema", '["risk_class"]', "must be a JSON object of attribute names"),
        ("attribute_schema", "{not json", "Enter a valid JSON"),
        ("code", "New", "not a valid code"),
        ("code", "new", "not a valid code"),
    ],
)
def test_a_bad_schema_or_code_is_shown_next_to_its_field_and_nothing_is_written(
    people, field, value, message
):
    before = written()

    response = client_for(people["regulator"]).post(reverse("sources:new"), form_data(**{field: value}))

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert any(message in text for text in errors.get(field, [])), errors
    assert written() == before
    assert not DataSource.objects.exists()


def test_a_taken_code_is_refused(people):
    make_source("cold_chain")
    response = client_for(people["regulator"]).post(reverse("sources:new"), form_data())
    assert response.status_code == 409
    assert "already taken" in response.context["form"].errors["code"][0]


def test_a_manager_edits_a_source_and_the_change_is_audited(people):
    source = make_source()
    client = client_for(people["health_regulator"])
    data = form_data(name="许可登记（新）", rate_limit_per_minute="5")
    data.pop("code")
    data.pop("active")
    data["attribute_schema"] = json.dumps(source.attribute_schema)

    response = client.post(reverse("sources:edit", args=[source.code]), data)

    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.name, source.rate_limit_per_minute, source.active, source.kind) == (
        "许可登记（新）",
        5,
        False,
        "sensor",
    )
    event = AuditEvent.objects.get(action="source.update")
    assert event.data["changed"] == [
        "active",
        "kind",
        "max_batch_rows",
        "name",
        "name_en",
        "rate_limit_per_minute",
        "signal_schema",
    ]


def test_the_detail_page_shows_schemas_keys_and_counts(people):
    source = make_source()
    key = issue_key(source)

    page = client_for(people["admin"]).get(reverse("sources:detail", args=[source.code])).content.decode()

    assert key[:12] in page and key not in page
    assert "risk_class" in page and "garbage_complaint" in page
    assert "0 attributes, 0 signals" in page


def test_issuing_a_key_shows_it_once_and_revokes_the_old_one(people):
    source = make_source()
    old = issue_key(source)
    client = client_for(people["regulator"])

    response = client.post(reverse("sources:key-issue", args=[source.code]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    new = response.context["key"]
    assert new.startswith("dsk_") and new in response.content.decode()
    assert old[:12] in response.content.decode()  # named among the revoked
    active = SourceCredential.objects.get(source=source, revoked_at__isnull=True)
    assert active.prefix == new[:12] and active.created_by == people["regulator"]
    detail = client.get(reverse("sources:detail", args=[source.code])).content.decode()
    assert new not in detail


def test_revoking_a_key_twice_is_refused(people):
    source = make_source()
    issue_key(source)
    credential = SourceCredential.objects.get(source=source)
    client = client_for(people["regulator"])
    url = reverse("sources:key-revoke", args=[source.code, credential.pk])

    assert client.post(url).status_code == 302
    before = written()
    again = client.post(url)

    assert again.status_code == 409
    assert written() == before


def test_a_key_of_another_source_cannot_be_revoked_through_this_one(people):
    source, other = make_source(), make_source("other_register")
    issue_key(other)
    credential = SourceCredential.objects.get(source=other)
    url = reverse("sources:key-revoke", args=[source.code, credential.pk])
    assert client_for(people["regulator"]).post(url).status_code == 404
    credential.refresh_from_db()
    assert credential.revoked_at is None


def test_the_list_pages_through_sources(people):
    for n in range(3):
        make_source(f"source_{n}")
    response = client_for(people["regulator"]).get(reverse("sources:list"))
    assert [s.code for s in response.context["page"].items] == ["source_0", "source_1", "source_2"]


def test_a_regulator_of_another_kind_is_not_a_manager(db):
    """A district regulator of one department: neither the department nor the district is the city's."""
    from core.models import Department, District

    user = RegulatorFactory(
        department=Department.objects.get(code="health"), district=District.objects.get(code="110105")
    ).user
    assert client_for(user).get(reverse("sources:list")).status_code == 404


@pytest.mark.parametrize(
    "model", ["datasource", "sourcecredential", "sourcebatch", "enterpriseattribute", "signal"]
)
def test_the_admin_shows_the_new_tables_read_only(people, shop, model):
    source = make_source()
    issue_key(source)
    client = client_for(people["admin"])

    assert client.get(f"/admin/history/{model}/").status_code == 200
    assert client.get(f"/admin/history/{model}/add/").status_code == 403
