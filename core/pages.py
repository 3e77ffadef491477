"""What every HTML page shares: one page of a list, the pager's links, and one answer to a refused
request. Views stay thin: they parse a form, call one service, render; a DomainError they do not
handle themselves (to show it next to a form field) reaches DomainErrorMiddleware, which answers
every page the same way: 404 like a page that does not exist, any other status with its message.
"""

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render

from core.errors import DomainError
from core.pagination import Page

MAX_PAGE = 100_000


def page_number(request, name: str = "page") -> int:
    """The page a list was asked for: 1 for anything that is not a number, never beyond MAX_PAGE."""
    try:
        return max(1, min(int(request.GET.get(name, "1")), MAX_PAGE))
    except ValueError:
        return 1


def paginate(request, queryset, *, page_size: int = 50, name: str = "page") -> Page:
    """One page of ``queryset`` (never counted), with what core/_pager.html needs to link onwards:
    the list's other query parameters kept, the page parameter's name."""
    page = Page(queryset, page=page_number(request, name), page_size=page_size)
    query = request.GET.copy()
    query.pop(name, None)
    page.query = query.urlencode()
    page.param = name
    return page


def refused(request, exc: DomainError, *, status: int | None = None) -> HttpResponse:
    """The page for a request a service refused: its message, with its status."""
    if (status or exc.status) == 404:
        raise Http404(exc.message)
    return render(request, "core/error.html", {"message": exc.message}, status=status or exc.status)


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Put a service's refusal on the form that asked for it: ``details`` naming the form's fields
    go next to those fields, the message on top."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for field, message in details.items():
        if field in form.fields and isinstance(message, str):
            form.add_error(field, message)
            placed = True
    if not placed or exc.message not in details.values():
        form.add_error(None, exc.message)


class DomainErrorMiddleware:
    """A DomainError a page did not handle becomes core.pages.refused (the API answers its own
    errors, in JSON, before they get here)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return refused(request, exception)
        return None
