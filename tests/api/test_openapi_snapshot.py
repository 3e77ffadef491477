"""The API's published contract: the OpenAPI document is exactly the one kept beside this test.

Moving code must not change what clients see (paths, operation ids, schemas and their names). A
deliberate change of the API updates the file in the same commit:
    .venv/bin/python manage.py export_openapi_schema --api config.api.api --sorted --indent 1 \
        > tests/api/openapi.json
"""

import json
from pathlib import Path

from config.api import api

SNAPSHOT = Path(__file__).with_name("openapi.json")


def test_the_openapi_document_is_the_published_one():
    document = json.loads(json.dumps(api.get_openapi_schema(), sort_keys=True))
    published = json.loads(SNAPSHOT.read_text())
    assert document["paths"].keys() == published["paths"].keys()
    for path, operations in published["paths"].items():
        assert document["paths"][path] == operations, path
    assert document["components"] == published["components"]
    assert document == published
