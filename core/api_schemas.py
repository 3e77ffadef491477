import re
from datetime import date, datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, Field


class ErrorOut(Schema):
    """The one error format of the whole API."""

    code: str
    message: str
    details: Any = None


def file_response(media_type: str) -> dict:
    """``openapi_extra`` of an operation that answers 200 with a file: documents its media type."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"responses": {200: {"description": "OK", "content": {media_type: binary}}}}


_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _not_a_timestamp(value):
    # Pydantic alone reads a number, or a string of digits, as a Unix timestamp: ?on=0 was 1970-01-01.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("Expected ISO 8601 text, e.g. 2025-03-01 or 2025-03-01T09:30:00+08:00.")
    return value


# Dates and times an API caller sends: ISO 8601 text only (what the document says: format date / date-time).
IsoDate = Annotated[date, BeforeValidator(_not_a_timestamp)]
IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_timestamp)]
# A row id sent in a body: a 64-bit positive integer, as every database stores them. A bigger one
# in an ``id IN (...)`` list would not even reach the database (SQLite refuses to bind it).
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
