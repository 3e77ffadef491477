"""Core API: bearer tokens and enterprises."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from core import account, code_documents, codes, permissions, qr, selectors, tokens
from core.api_auth import AddressThrottle
from core.api_schemas import ErrorOut, file_response
from core.errors import DomainError
from core.models import ApiToken, CodeBatch, District, Enterprise, IdentityCode, ScanEvent
from core.pagination import NoCountPagination

router = Router(tags=["core"])


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=4096)
    device: str = Field(
        ..., min_length=1, max_length=100, description="A name for the device, shown in the token list"
    )


class TokenCreatedOut(Schema):
    id: int
    token: str = Field(..., description="Send as 'Authorization: Bearer <token>'. Shown only once.")
    device: str
    expires_at: datetime


class TokenOut(Schema):
    id: int
    device: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_active: bool


class RefOut(Schema):
    code: str
    name: str = Field(..., alias="display_name")


class EnterpriseOut(Schema):
    uscc: str
    name: str
    address: str
    district: RefOut
    scene: RefOut
    legal_representative: str
    licence_status: Enterprise.LicenceStatus
    opened_on: date | None
    latitude: Decimal | None
    longitude: Decimal | None


class EnterpriseFilter(Schema):
    district: str | None = Field(
        None, max_length=12, description="Division code; includes the districts below it"
    )
    scene: str | None = Field(None, max_length=40, description="Scene code, e.g. catering")
    licence_status: str | None = Field(None, max_length=20)
    q: str | None = Field(None, max_length=100, description="Part of the name, or the start of the USCC")


@router.post(
    "/auth/token",
    auth=None,
    throttle=[AddressThrottle("api-token", "API_TOKEN_REQUESTS_PER_MINUTE")],
    response={201: TokenCreatedOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
)
def create_token(request, payload: TokenIn):
    """API_TOKEN_REQUESTS_PER_MINUTE requests per client address; failed sign-ins are also limited per
    username and address (the lock-out) and per address across usernames (SIGNIN_FAILURES_PER_ADDRESS):
    429 with ``locked_out``, ``address_throttled`` or ``throttled``, before any password is checked."""
    token, raw = tokens.token_create(request=request, **payload.dict())
    return Status(201, {"id": token.pk, "token": raw, "device": token.device, "expires_at": token.expires_at})


class SignedOutOut(Schema):
    tokens_revoked: int
    sessions_ended: int


@router.post("/auth/sign-out-everywhere", response={200: SignedOutOut})
def sign_out_everywhere(request):
    """End every session of the caller and revoke all their API tokens, the one of this request
    included (a lost phone, a shared password): every device must sign in again."""
    done = account.sign_out_everywhere(user=request.user, actor=request.user, reason="requested")
    return {"tokens_revoked": done.tokens, "sessions_ended": done.sessions}


@router.get("/auth/tokens", response=list[TokenOut])
def list_tokens(request):
    return ApiToken.objects.filter(user=request.user)


@router.delete("/auth/tokens/{token_id}", response={204: None, 404: ErrorOut, 409: ErrorOut})
def revoke_token(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    tokens.token_revoke(token=token, actor=request.user)
    return Status(204, None)


@router.get("/enterprises", response={200: list[EnterpriseOut], 400: ErrorOut})
@paginate(NoCountPagination)
def list_enterprises(request, filters: Query[EnterpriseFilter]):
    return selectors.enterprise_list(user=request.user, **filters.dict())


@router.get("/enterprises/{uscc}", response={200: EnterpriseOut, 404: ErrorOut, 422: ErrorOut})
def get_enterprise(request, uscc: str):
    return selectors.enterprise_get(user=request.user, uscc=uscc)


# --- identity codes ------------------------------------------------------------------------------


class CodeOut(Schema):
    token: str
    status: IdentityCode.Status
    url: str
    created_at: datetime

    @staticmethod
    def resolve_url(obj) -> str:
        return codes.code_url(obj.token)


class ReasonIn(Schema):
    reason: str = Field("", max_length=200)


def _code_for(request, uscc: str) -> IdentityCode:
    enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
    return codes.code_issue(enterprise=enterprise, actor=request.user)


@router.get("/enterprises/{uscc}/code", response={200: CodeOut, 404: ErrorOut, 422: ErrorOut})
def get_code(request, uscc: str):
    return _code_for(request, uscc)


@router.get(
    "/enterprises/{uscc}/code.png",
    url_name="enterprise_code_png",
    response={200: None, 404: ErrorOut},
    openapi_extra=file_response("image/png"),
)
def code_png(request, uscc: str):
    code = _code_for(request, uscc)
    return _file_response(qr.code_png(code), "image/png", f"{code.enterprise.uscc}.png")


@router.get(
    "/enterprises/{uscc}/code.svg",
    url_name="enterprise_code_svg",
    response={200: None, 404: ErrorOut},
    openapi_extra=file_response("image/svg+xml"),
)
def code_svg(request, uscc: str):
    code = _code_for(request, uscc)
    return _file_response(qr.code_svg(code), "image/svg+xml", f"{code.enterprise.uscc}.svg")


@router.get(
    "/enterprises/{uscc}/code.pdf",
    url_name="enterprise_code_pdf",
    response={200: None, 404: ErrorOut},
    openapi_extra=file_response("application/pdf"),
)
def code_pdf(request, uscc: str, layout: Literal["sticker", "poster"] = "sticker"):
    code = _code_for(request, uscc)
    return _file_response(
        code_documents.code_pdf(code, layout=layout),
        "application/pdf",
        f"{code.enterprise.uscc}-{layout}.pdf",
    )


def _file_response(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # Private: the caller is signed in; a shared cache must not hand it to the next person.
    response["Cache-Control"] = "private, max-age=300"
    return response


def _managed_enterprise(request, uscc: str) -> Enterprise:
    enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
    if not permissions.can_manage_codes(request.user, enterprise):
        raise DomainError(_("Only a regulator in charge may change this code."), code="forbidden", status=403)
    return enterprise


@router.post("/enterprises/{uscc}/code/rotate", response={200: CodeOut, 403: ErrorOut, 404: ErrorOut})
def rotate_code(request, uscc: str, payload: ReasonIn):
    return codes.code_rotate(
        enterprise=_managed_enterprise(request, uscc), actor=request.user, reason=payload.reason
    )


@router.post(
    "/enterprises/{uscc}/code/revoke",
    response={200: CodeOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def revoke_code(request, uscc: str, payload: ReasonIn):
    return codes.code_revoke(
        enterprise=_managed_enterprise(request, uscc), actor=request.user, reason=payload.reason
    )


class ScanEventOut(Schema):
    at: datetime
    token: str
    enterprise: str | None
    outcome: ScanEvent.Outcome
    view: str
    channel: str
    user: str | None
    user_agent: str
    client: str
    repeats: int = Field(
        ...,
        description="further failed scans from this client in the same minute, not recorded one by one",
    )

    @staticmethod
    def resolve_enterprise(obj) -> str | None:
        return obj.enterprise.uscc if obj.enterprise_id else None

    @staticmethod
    def resolve_user(obj) -> str | None:
        return obj.user.username if obj.user_id else None


class ScanFilter(Schema):
    enterprise: str | None = Field(None, max_length=18, description="USCC")
    outcome: ScanEvent.Outcome | None = None
    client: str | None = Field(None, max_length=16, description="the client handle, to follow one prober")


@router.get("/scans", response={200: list[ScanEventOut], 403: ErrorOut, 404: ErrorOut})
@paginate(NoCountPagination)
def list_scans(request, filters: Query[ScanFilter]):
    if not permissions.may_see_audit(request.user):
        raise DomainError(_("Only regulators see scans."), code="forbidden", status=403)
    qs = (
        permissions.scans_visible_to(request.user).select_related("enterprise", "user").order_by("-at", "-pk")
    )
    if filters.enterprise:
        qs = qs.filter(enterprise=selectors.enterprise_get(user=request.user, uscc=filters.enterprise))
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.client:
        qs = qs.filter(client=filters.client)
    return qs


class CodeBatchIn(Schema):
    layout: CodeBatch.Layout = CodeBatch.Layout.STICKER
    district: str | None = Field(
        None, max_length=12, description="division code: every enterprise in scope below it"
    )
    usccs: list[str] | None = Field(None, max_length=50_000, description="or an explicit selection")


class CodeBatchOut(Schema):
    id: int
    layout: CodeBatch.Layout
    status: CodeBatch.Status
    total: int
    done: int
    error: str
    created_at: datetime
    finished_at: datetime | None
    file_url: str | None

    @staticmethod
    def resolve_file_url(obj) -> str | None:
        if obj.status != CodeBatch.Status.DONE:
            return None
        return reverse("api:code_batch_file", args=[obj.pk])


@router.post("/code-batches", response={202: CodeBatchOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut})
def create_code_batch(request, payload: CodeBatchIn):
    if not permissions.may_see_audit(request.user):
        raise DomainError(_("Only regulators print codes in batches."), code="forbidden", status=403)
    district = None
    if payload.district:
        district = get_object_or_404(District, code=payload.district)
    batch = code_documents.code_batch_create(
        user=request.user, layout=payload.layout, district=district, usccs=payload.usccs
    )
    batch.refresh_from_db()
    return Status(202, batch)


@router.get("/code-batches/{batch_id}", response={200: CodeBatchOut, 404: ErrorOut})
def get_code_batch(request, batch_id: int):
    return get_object_or_404(permissions.code_batches_visible_to(request.user), pk=batch_id)


@router.get(
    "/code-batches/{batch_id}/file",
    url_name="code_batch_file",
    response={200: None, 404: ErrorOut, 409: ErrorOut},
    openapi_extra=file_response("application/pdf"),
)
def code_batch_file(request, batch_id: int):
    batch = get_object_or_404(
        permissions.code_batches_visible_to(request.user), pk=batch_id, status=CodeBatch.Status.DONE
    )
    batch = code_documents.code_batch_current(batch=batch)
    # Streamed: a district's batch runs to hundreds of megabytes.
    response = FileResponse(
        batch.file.open("rb"), content_type="application/pdf", filename=f"codes-{batch.pk}.pdf"
    )
    response["Cache-Control"] = "private, max-age=300"
    return response
