"""Page-number pagination that never counts.

COUNT(*) over a jurisdiction of a million enterprises costs more than the page
itself; fetching one row beyond the page tells whether there is a next one.
"""

from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import PaginationBase

MAX_PAGE_SIZE = 200


class Page:
    def __init__(self, queryset: QuerySet, *, page: int, page_size: int):
        offset = (page - 1) * page_size
        rows = list(queryset[offset : offset + page_size + 1])
        self.items = rows[:page_size]
        self.number = page
        self.page_size = page_size
        self.has_next = len(rows) > page_size
        self.has_previous = page > 1
        # For core/_pager.html's links (set by core.pages.paginate): the list's other parameters.
        self.query = ""
        self.param = "page"


class NoCountPagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=100_000)
        page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    class Output(Schema):
        items: list[Any]
        page: int
        page_size: int
        has_next: bool

    def paginate_queryset(self, queryset, pagination: Input, request, **params):
        page = Page(queryset, page=pagination.page, page_size=pagination.page_size)
        return {
            "items": page.items,
            "page": page.number,
            "page_size": page.page_size,
            "has_next": page.has_next,
        }
