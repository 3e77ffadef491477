"""Page-number pagination that never counts, and the URLs of a page's rows.

COUNT(*) over a jurisdiction of a million enterprises costs more than the page
itself; fetching one row beyond the page tells whether there is a next one.
"""

import re
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
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


# --- the URLs of a page's rows ---------------------------------------------------------------------

# A value reverse() puts into a URL as it is: no percent-encoding, and every converter of the
# row URLs (str, int) accepts it. Anything else goes through reverse() itself.
_PLAIN = re.compile(r"[0-9A-Za-z]+")
_PLACEHOLDER = "9081726354"  # digits: a value the int converter accepts too


class PageUrls:
    """``reverse(viewname, args=[value])`` for a page's rows at the cost of one reverse() (each one
    matches the pattern and quotes the argument anew: a ranking page's 50 rows had up to 100). For
    a view whose one argument is a str or int path converter. The URL reversed once with a
    placeholder is split around it; a plain value (USCC, primary key) is put in its place, anything
    else is reversed as usual, so the URL is always the one reverse() gives."""

    def __init__(self, viewname: str):
        self.viewname = viewname
        self.head, found, self.tail = reverse(viewname, args=[_PLACEHOLDER]).rpartition(_PLACEHOLDER)
        if not found:
            raise ValueError(f"{viewname} does not take its argument as it is")

    def __call__(self, value) -> str:
        text = str(value)
        if _PLAIN.fullmatch(text):
            return f"{self.head}{text}{self.tail}"
        return reverse(self.viewname, args=[value])
