"""Core API: bearer tokens and enterprises."""

from datetime import date, datetime
from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from ninja.throttling import AnonRateThrottle

from core import selectors, tokens
from core.api_schemas import ErrorOut
from core.models import ApiToken, Enterprise
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
    throttle=[AnonRateThrottle("20/m")],
    response={201: TokenCreatedOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
)
def create_token(request, payload: TokenIn):
    token, raw = tokens.token_create(request=request, **payload.dict())
    return Status(201, {"id": token.pk, "token": raw, "device": token.device, "expires_at": token.expires_at})


@router.get("/auth/tokens", response=list[TokenOut])
def list_tokens(request):
    return ApiToken.objects.filter(user=request.user)


@router.delete("/auth/tokens/{token_id}", response={204: None, 404: ErrorOut, 409: ErrorOut})
def revoke_token(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    tokens.token_revoke(token=token, actor=request.user)
    return Status(204, None)


@router.get("/enterprises", response=list[EnterpriseOut])
@paginate(NoCountPagination)
def list_enterprises(request, filters: Query[EnterpriseFilter]):
    return selectors.enterprise_list(user=request.user, **filters.dict())


@router.get("/enterprises/{uscc}", response={200: EnterpriseOut, 404: ErrorOut, 422: ErrorOut})
def get_enterprise(request, uscc: str):
    return selectors.enterprise_get(user=request.user, uscc=uscc)
