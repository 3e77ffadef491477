"""Builders and helpers of the data-source tests: sources, keys, posting a batch, counting what
was written (rows, batches, audit events) before and after."""

import json

from django.test import Client

from core.models import AuditEvent
from history.models import DataSource, EnterpriseAttribute, Signal, SourceBatch, SourceCredential
from history.sources import credential_rotate, source_create

REGISTER_ATTRIBUTES = {
    "risk_class": {"type": "choice", "choices": ["high", "medium", "low"]},
    "tobacco": {"type": "flag"},
    "licence_first_issued": {"type": "date"},
    "facility_type": {"type": "text", "max_length": 40},
    "seats": {"type": "number", "min": 0},
}
HOTLINE_SIGNALS = {
    "garbage_complaint": {"value": "none", "keyed": True, "located": True},
    "temperature_excursion": {
        "value": "number",
        "unit": "°C",
        "min": -60,
        "max": 80,
        "keyed": True,
        "located": False,
    },
    "street_complaint": {"value": "none", "keyed": False, "located": True},
}


def make_source(code: str = "licence_register", **overrides) -> DataSource:
    values = {
        "actor": None,
        "code": code,
        "name": "许可登记",
        "name_en": "Licence register",
        "kind": DataSource.Kind.REGISTER,
        "attribute_schema": REGISTER_ATTRIBUTES,
        "signal_schema": HOTLINE_SIGNALS,
    }
    values.update(overrides)
    return source_create(**values)


def issue_key(source: DataSource) -> str:
    _credential, raw, _revoked = credential_rotate(source=source, actor=None)
    return raw


def post_batch(
    source_code: str, content: str, rows, *, key: str | None = None, client: Client | None = None, **headers
):
    client = client or Client()
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Source {key}"
    body = rows if isinstance(rows, dict | str | bytes) else {"rows": rows}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        f"/api/v1/sources/{source_code}/{content}", data=data, content_type="application/json", **headers
    )


def written() -> dict[str, int]:
    """What a refused request must leave as it was."""
    return {
        "attributes": EnterpriseAttribute.objects.count(),
        "signals": Signal.objects.count(),
        "batches": SourceBatch.objects.count(),
        "audit": AuditEvent.objects.count(),
        "credentials": SourceCredential.objects.count(),
    }


def errors_of(response) -> set[tuple]:
    """(row, field, code) of every problem a refused batch lists."""
    return {(e["row"], e["field"], e["code"]) for e in response.json()["details"]["errors"]}
