"""Data sources through the API.

Ingest (``POST /sources/{source}/attributes`` and ``.../signals``): for the sources' own systems,
authenticated by the source's key only (header ``Authorization: Source <key>``); a user's session
or bearer token is refused there (401 ``source_key_required``), a key of another source too (403
``wrong_source``). Body ``{"rows": [...]}``, at most the source's max_batch_rows rows and
MAX_BODY_BYTES bytes; see history.sources.ingest for what is accepted and refused.

Management (list, create, edit, keys, batches): for those who may manage data sources
(history.permissions); anyone else signed in gets 404, as for an address that does not exist.
"""

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from ninja.security import APIKeyHeader

from core.api_root import on_domain_error
from core.api_schemas import ErrorOut, RowId
from core.errors import DomainError
from core.models import Department
from core.pagination import NoCountPagination
from history import selectors
from history.models import DataSource, SourceBatch, SourceCredential
from history.permissions import may_manage_sources, sources_managed_by
from history.sources import (
    SCHEMA_HELP,
    BatchResult,
    RateLimited,
    SourceError,
    batch_ingest,
    credential_find,
    credential_revoke,
    credential_rotate,
    credential_used,
    source_create,
    source_update,
)
from history.sources.registry import CODE

router = Router(tags=["data sources"])
# The request size limit of the ingest endpoints, checked on Content-Length before the body is
# read: Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE), said in the API's words (413 too_large).
MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 5 * 1024 * 1024
NoNul = Annotated[str, Field(pattern=r"^[^\x00]*$")]
READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
INGEST_ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# --- ingest: the sources' own systems ------------------------------------------------------------


class SourceKey(APIKeyHeader):
    """``Authorization: Source <key>``: the key of the source named in the path, nothing else."""

    param_name = "Authorization"
    openapi_description = (
        "A data source's key, as 'Source <key>' (issued on the source's page or by POST "
        "/api/v1/sources/{code}/credentials). Only the ingest operations take it; they take nothing else."
    )

    def authenticate(self, request, key: str | None) -> SourceCredential:
        scheme, _space, raw = (key or "").strip().partition(" ")
        if scheme.lower() != "source" or not raw.strip():
            raise DomainError(
                _("Send the data source's key: Authorization: Source <key>."),
                code="source_key_required",
                status=401,
            )
        credential = credential_find(raw.strip())
        if credential is None:
            raise DomainError(_("This is not a data source's key."), code="invalid_source_key", status=401)
        if credential.revoked_at is not None:
            raise DomainError(_("This key has been revoked."), code="revoked_source_key", status=401)
        match = getattr(request, "resolver_match", None)
        if match is None or match.kwargs.get("source") != credential.source.code:
            raise DomainError(_("This key belongs to another data source."), code="wrong_source", status=403)
        if not credential.source.active:
            raise DomainError(_("This data source is not active."), code="inactive_source", status=403)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise DomainError(
                _("A batch is at most %(n)d bytes; send fewer rows at a time.") % {"n": MAX_BODY_BYTES},
                code="too_large",
                status=413,
                details={"max_bytes": MAX_BODY_BYTES},
            )
        credential_used(credential)
        return credential


SOURCE_KEY = [SourceKey()]


class AttributeBatchIn(Schema):
    rows: list[Any] = Field(
        ...,
        description="attributes, each {business_key, name, value, valid_from (YYYY-MM-DD)}; business_key is "
        "the source's key of the business (a USCC, or the LIVES business id). Every name must be in the "
        "source's attribute_schema.",
    )


class SignalBatchIn(Schema):
    rows: list[Any] = Field(
        ...,
        description="signals, each {signal_id (the source's own id), kind, occurred_at (ISO 8601 date and "
        "time, or a date; without an offset, the platform's time zone), latitude, longitude, business_key, "
        "value, description}. Every kind must be in the source's signal_schema.",
    )


class BatchResultOut(Schema):
    batch: int | None = Field(..., description="the SourceBatch written; null: every row was stored already")
    rows: int
    created: int = Field(..., description="rows new to the platform")
    unchanged: int = Field(..., description="rows stored already with the same content (a retry)")
    unmatched_count: int = Field(..., description="keyed signals whose business is no enterprise here (kept)")
    unmatched: list[str] = Field(..., description="those business keys, at most 100")


def _result(result: BatchResult) -> dict:
    return {
        "batch": result.batch.pk if result.batch else None,
        "rows": result.rows,
        "created": result.created,
        "unchanged": result.unchanged,
        "unmatched_count": result.unmatched_count,
        "unmatched": result.unmatched,
    }


def _ingest(request, content: str, rows: list):
    credential = request.auth
    try:
        result = batch_ingest(source=credential.source, content=content, rows=rows, credential=credential)
    except RateLimited as exc:
        response = on_domain_error(request, exc)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return _result(result)


@router.post(
    "/sources/{source}/attributes",
    auth=SOURCE_KEY,
    response={200: BatchResultOut, **INGEST_ERRORS},
    summary="Send a batch of register attributes",
)
def ingest_attributes(request, source: str, payload: AttributeBatchIn):
    """Accepted whole or refused whole (422 invalid_rows, 409 conflict: details.errors lists every
    problem by row, field and code). A retried batch changes nothing."""
    return _ingest(request, SourceBatch.Content.ATTRIBUTES, payload.rows)


@router.post(
    "/sources/{source}/signals",
    auth=SOURCE_KEY,
    response={200: BatchResultOut, **INGEST_ERRORS},
    summary="Send a batch of signals",
)
def ingest_signals(request, source: str, payload: SignalBatchIn):
    """Accepted whole or refused whole (422 invalid_rows, 409 conflict: details.errors lists every
    problem by row, field and code). A retried batch changes nothing; keyed signals whose business
    is not known here are kept and reported in unmatched."""
    return _ingest(request, SourceBatch.Content.SIGNALS, payload.rows)


# --- management: the regulators who may manage data sources -------------------------------------


def _managed(request, code: str) -> DataSource:
    if not may_manage_sources(request.user) or not CODE.fullmatch(code):
        raise Http404
    return get_object_or_404(
        sources_managed_by(request.user).select_related("department", "owner"), code=code
    )


def _manager(request) -> None:
    if not may_manage_sources(request.user):
        raise Http404


class CredentialOut(Schema):
    id: int
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyIssuedOut(CredentialOut):
    key: str = Field(..., description="the key itself: shown this once, only its SHA-256 is kept")
    revoked: list[str] = Field(..., description="prefixes of the keys this one replaced (revoked now)")


class SourceOut(Schema):
    code: str
    name: str
    name_en: str
    kind: DataSource.Kind
    department: str | None = Field(None, description="the department's code")
    owner: str | None = Field(None, description="the owner's username")
    business_key: DataSource.BusinessKey
    attribute_schema: dict[str, Any]
    signal_schema: dict[str, Any]
    rate_limit_per_minute: int
    max_batch_rows: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_department(obj) -> str | None:
        return obj.department.code if obj.department_id else None

    @staticmethod
    def resolve_owner(obj) -> str | None:
        return obj.owner.get_username() if obj.owner_id else None


class SourceDetailOut(SourceOut):
    credentials: list[CredentialOut]
    counts: dict[str, int] = Field(..., description="attributes, signals, unmatched_signals, batches")

    @staticmethod
    def resolve_credentials(obj):
        return list(selectors.credentials_of(obj))

    @staticmethod
    def resolve_counts(obj) -> dict[str, int]:
        return selectors.source_counts(obj)


# The API's document is in English whatever language is active when this module is imported.
with translation.override(None):
    SCHEMA_DESCRIPTION = str(SCHEMA_HELP)


class SourceIn(Schema):
    code: NoNul = Field(..., max_length=40, description="the `source` column of the exchange files; fixed")
    name: NoNul = Field(..., max_length=100)
    name_en: NoNul = Field("", max_length=100)
    kind: DataSource.Kind
    department: NoNul | None = Field(None, max_length=40, description="a department's code")
    owner: NoNul | None = Field(None, max_length=150, description="a regulator's or admin's username")
    business_key: DataSource.BusinessKey = DataSource.BusinessKey.USCC
    attribute_schema: dict[str, Any] = Field(default_factory=dict, description=SCHEMA_DESCRIPTION)
    signal_schema: dict[str, Any] = Field(default_factory=dict, description=SCHEMA_DESCRIPTION)
    rate_limit_per_minute: int = Field(30, ge=1, le=600)
    max_batch_rows: int = Field(10_000, ge=1, le=50_000)
    active: bool = True


class SourcePatch(Schema):
    name: NoNul | None = Field(None, max_length=100)
    name_en: NoNul | None = Field(None, max_length=100)
    kind: DataSource.Kind | None = None
    department: NoNul | None = Field(None, max_length=40, description="a department's code; null: none")
    owner: NoNul | None = Field(None, max_length=150, description="a username; null: none")
    business_key: DataSource.BusinessKey | None = None
    attribute_schema: dict[str, Any] | None = Field(None, description=SCHEMA_DESCRIPTION)
    signal_schema: dict[str, Any] | None = Field(None, description=SCHEMA_DESCRIPTION)
    rate_limit_per_minute: int | None = Field(None, ge=1, le=600)
    max_batch_rows: int | None = Field(None, ge=1, le=50_000)
    active: bool | None = None


# Fields that may not be null when given (the others clear to none or "").
_NOT_NULL = {
    "name",
    "kind",
    "business_key",
    "attribute_schema",
    "signal_schema",
    "rate_limit_per_minute",
    "max_batch_rows",
    "active",
}


def _references(values: dict) -> dict:
    """Department code and owner username -> rows (422 naming the field when there is none)."""
    details = {}
    if values.get("department") is not None:
        department = Department.objects.filter(code=values["department"]).first()
        if department is None:
            details["department"] = _("no department has this code")
        values["department"] = department
    if values.get("owner") is not None:
        owner = get_user_model().objects.filter(username=values["owner"]).first()
        if owner is None:
            details["owner"] = _("no user has this username")
        values["owner"] = owner
    if details:
        raise SourceError(_("The data source is not valid."), code="invalid_source", details=details)
    return values


@router.get("/sources", response={200: list[SourceOut], **READ_ERRORS}, summary="List the data sources")
@paginate(NoCountPagination)
def list_sources(request):
    _manager(request)
    return selectors.sources_listed(sources_managed_by(request.user))


@router.post("/sources", response={201: SourceDetailOut, **WRITE_ERRORS}, summary="Create a data source")
def create_source(request, payload: SourceIn):
    _manager(request)
    values = _references(payload.dict())
    source = source_create(actor=request.user, **values)
    return Status(201, source)


@router.get("/sources/{code}", response={200: SourceDetailOut, **READ_ERRORS}, summary="One data source")
def get_source(request, code: str):
    return _managed(request, code)


@router.patch(
    "/sources/{code}", response={200: SourceDetailOut, **WRITE_ERRORS}, summary="Edit a data source"
)
def edit_source(request, code: str, payload: SourcePatch):
    source = _managed(request, code)
    changes = payload.dict(exclude_unset=True)
    nulls = sorted(name for name in _NOT_NULL if name in changes and changes[name] is None)
    if nulls:
        raise SourceError(
            _("The data source is not valid."),
            code="invalid_source",
            details={name: _("may not be null") for name in nulls},
        )
    if "name_en" in changes and changes["name_en"] is None:
        changes["name_en"] = ""
    return source_update(actor=request.user, source=source, **_references(changes))


@router.post(
    "/sources/{code}/credentials",
    response={201: KeyIssuedOut, **WRITE_ERRORS},
    summary="Issue a new key for a data source (revoking the others)",
)
def rotate_credential(request, code: str):
    source = _managed(request, code)
    credential, raw, revoked = credential_rotate(source=source, actor=request.user)
    credential.key = raw
    credential.revoked = [c.prefix for c in revoked]
    return Status(201, credential)


@router.post(
    "/sources/{code}/credentials/{credential_id}/revoke",
    response={200: CredentialOut, **WRITE_ERRORS},
    summary="Revoke a data source's key",
)
def revoke_credential(request, code: str, credential_id: RowId):
    source = _managed(request, code)
    credential = get_object_or_404(source.credentials.all(), pk=credential_id)
    return credential_revoke(credential=credential, actor=request.user)


class BatchOut(Schema):
    id: int
    content: SourceBatch.Content
    channel: SourceBatch.Channel
    credential: str | None = Field(None, description="the prefix of the key it came with (API batches)")
    rows: int
    created: int
    unmatched_count: int
    unmatched: list[str]
    sha256: str
    received_at: datetime

    @staticmethod
    def resolve_credential(obj) -> str | None:
        return obj.credential.prefix if obj.credential_id else None


@router.get(
    "/sources/{code}/batches",
    response={200: list[BatchOut], **READ_ERRORS},
    summary="A data source's batches",
)
@paginate(NoCountPagination)
def list_batches(request, code: str):
    return selectors.batches_of(_managed(request, code))
