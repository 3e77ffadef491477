"""The inbox through the API: the caller's notifications, newest first, and marking them read.

Texts are in the request's language (Accept-Language); ``link`` is the record's page on
PUBLIC_BASE_URL. Each caller sees their own notifications only: another's is not found (404)."""

from datetime import datetime

from ninja import Field, Query, Router, Schema

from core.api_schemas import ErrorOut
from core.pagination import NoCountPagination, Page
from supervision.models import NotificationKind
from supervision.notifications import catalogue, selectors, services

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: NotificationKind
    title: str = Field(..., description="in the request's language")
    body: str = Field(..., description="the lines under the title, in the request's language")
    created_at: datetime
    read: bool
    read_at: datetime | None
    link: str = Field(..., description="absolute address of the record's page; empty when there is none")

    @staticmethod
    def resolve_title(obj) -> str:
        return catalogue.render(obj).title

    @staticmethod
    def resolve_body(obj) -> str:
        return catalogue.detail(obj)

    @staticmethod
    def resolve_read(obj) -> bool:
        return obj.read_at is not None

    @staticmethod
    def resolve_link(obj) -> str:
        return catalogue.absolute(obj.link) if obj.link else ""


class NotificationPage(Schema):
    items: list[NotificationOut]
    page: int
    page_size: int
    has_next: bool


class NotificationFilter(Schema):
    unread: bool = Field(False, description="only those not read yet")


class MarkedOut(Schema):
    marked: int


@router.get("/notifications", response={200: NotificationPage})
def list_notifications(
    request, filters: Query[NotificationFilter], pagination: Query[NoCountPagination.Input]
):
    """The caller's notifications, newest first."""
    page = Page(
        selectors.inbox(user=request.user, unread_only=filters.unread),
        page=pagination.page,
        page_size=pagination.page_size,
    )
    return {"items": page.items, "page": page.number, "page_size": page.page_size, "has_next": page.has_next}


@router.post("/notifications/read-all", response={200: MarkedOut})
def mark_all_read(request):
    return {"marked": services.notifications_mark_all_read(user=request.user)}


@router.post("/notifications/{notification_id}/read", response={200: NotificationOut, 404: ErrorOut})
def mark_read(request, notification_id: int):
    """Mark one notification read (again: no change). Returns it."""
    return services.notification_mark_read(user=request.user, notification_id=notification_id)
