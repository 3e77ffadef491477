from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    """The one error format of the whole API."""

    code: str
    message: str
    details: Any = None
