"""The OpenAPI document of /api/v1/: valid, complete about errors, one definition per class.

The fuzz test (test_fuzz.py) checks that the API answers as the document says; these check the
document itself, quickly, for every operation (including those of routers added later)."""

import pytest
import schemathesis
from django.test import Client
from schemathesis.core.result import Ok

from supervision.models import InspectionTask, RectificationOrder

PREFIX = "#/components/schemas/"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_schemathesis_loads_the_document_and_finds_it_valid(document):
    loaded = schemathesis.openapi.from_dict(document)
    loaded.validate()  # against the OpenAPI 3.1 meta-schema
    results = list(loaded.get_all_operations())
    broken = [result.err() for result in results if not isinstance(result, Ok)]
    assert not broken
    assert len(results) == len(list(operations(document)))


def test_every_operation_has_its_own_operation_id(document):
    ids = [operation.get("operationId") for _, operation in operations(document)]
    assert all(ids)
    assert len(set(ids)) == len(ids)


def _is_error_out(response: dict) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref") == PREFIX + "ErrorOut"


def test_every_operation_documents_its_errors_in_the_error_format(document):
    missing = []
    for label, operation in operations(document):
        responses = {int(status): response for status, response in operation["responses"].items()}
        parameters = operation.get("parameters", [])
        expected = set()
        if operation.get("security") and {} not in operation["security"]:
            expected.add(401)  # a caller who is not signed in
        if parameters or "requestBody" in operation:
            expected.add(422)  # input that does not validate
        if "requestBody" in operation:
            expected.add(400)  # a body that does not parse
        if any(parameter["in"] == "path" for parameter in parameters):
            expected.add(404)  # a path naming nothing (or nothing the caller may see)
        missing += [f"{label}: {status}" for status in sorted(expected - set(responses))]
        missing += [
            f"{label}: {status} is not an ErrorOut"
            for status, response in responses.items()
            if status >= 400 and not _is_error_out(response)
        ]
    assert not missing, "\n".join(missing)


def test_operations_open_to_the_public_say_so(document):
    """An empty security requirement: the scan landing and the published manuals need no sign-in."""
    for label in ("GET /api/v1/scan/{token}", "GET /api/v1/scenes/{scene_code}/manual"):
        operation = dict(operations(document))[label]
        assert {} in operation["security"]
        assert "401" not in operation["responses"]


def _resolve(document, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].removeprefix(PREFIX)]
    return schema


def test_same_named_classes_keep_their_own_definitions(document):
    """Every model's choices are called ``Status``: each keeps its own values in the document."""
    operations_ = dict(operations(document))

    def status_values(label, status):
        response = operations_[label]["responses"][status]["content"]["application/json"]["schema"]
        return set(_resolve(document, _resolve(document, response)["properties"]["status"])["enum"])

    assert status_values("POST /api/v1/tasks", "201") == set(InspectionTask.Status.values)
    assert status_values("GET /api/v1/orders/{order_id}", "200") == set(RectificationOrder.Status.values)


def test_file_downloads_document_their_media_type(document):
    operation = dict(operations(document))["GET /api/v1/manuals/{manual_id}/pdf"]
    assert list(operation["responses"]["200"]["content"]) == ["application/pdf"]


def test_every_json_body_is_an_object(document):
    """What core.api_root's parser relies on, refusing any other JSON value as a body."""
    others = []
    for label, operation in operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body and _resolve(document, body["schema"]).get("type") != "object":
            others.append(label)
    assert not others
