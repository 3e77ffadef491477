"""The submit (POST /api/v1/inspections/<id>/submit) reads each part of the record once: it
checks, hashes and answers the tablet from the same rows, read under the record's lock."""

import re
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import tablet_for

pytestmark = pytest.mark.django_db

JSON = "application/json"
# The record's parts, by the table a statement reads them from.
PARTS = {
    "supervision_inspection": "the record, locked with the permission filter",
    "checklists_checklist": "its checklist versions",
    "checklists_checklistitem": "their items",
    "supervision_inspectionanswer": "the answers",
    "core_photo": "the answers' photos",
    "supervision_signature": "the signatures",
}


def test_the_submit_reads_each_part_of_the_record_once(ready, lead):
    tablet = tablet_for(lead)
    with CaptureQueriesContext(connection) as queries:
        response = tablet.post(
            f"/api/v1/inspections/{ready.pk}/submit",
            {"submission_id": str(uuid.uuid4()), "conclusion": "rectify"},
            content_type=JSON,
        )

    assert response.status_code == 200, response.content
    # How many statements read each table (a statement's subqueries count once with it).
    reads = Counter(
        table
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith("SELECT")
        for table in set(re.findall(r'\bFROM "(\w+)"', query["sql"]))
    )
    assert {table: reads[table] for table in PARTS} == dict.fromkeys(PARTS, 1), dict(reads)
