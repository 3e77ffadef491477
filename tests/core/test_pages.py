"""core.pages: the page number, one page of a list with its pager links, a service's refusal on a
form, and the one answer every page gives to a refusal it did not handle itself."""

import pytest
from django import forms
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.urls import include, path

from core.errors import DomainError
from core.models import Scene
from core.pages import DomainErrorMiddleware, add_domain_error, page_number, paginate, refused

rf = RequestFactory()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", 1), ("3", 3), ("0", 1), ("-4", 1), ("x", 1), ("2.5", 1), ("99999999", 100_000), ("\x00", 1)],
)
def test_page_number_is_a_number_from_one_to_the_cap(raw, expected):
    assert page_number(rf.get("/", {"page": raw})) == expected


def test_page_number_reads_a_named_parameter():
    assert page_number(rf.get("/", {"page": "2", "draws": "5"}), "draws") == 5


@pytest.mark.django_db
def test_paginate_gives_one_page_and_keeps_the_other_parameters_for_the_pager():
    scenes = Scene.objects.order_by("code")
    total = scenes.count()
    assert total > 3
    page = paginate(rf.get("/", {"q": "餐饮 & co", "page": "2"}), scenes, page_size=3)
    assert [s.code for s in page.items] == [s.code for s in scenes[3:6]]
    assert page.number == 2 and page.has_previous and page.has_next == (total > 6)
    assert page.query == "q=%E9%A4%90%E9%A5%AE+%26+co"
    html = render_to_string("core/_pager.html", {"page": page})
    assert 'href="?q=%E9%A4%90%E9%A5%AE+%26+co&amp;page=1"' in html


@pytest.mark.django_db
def test_the_pager_of_a_first_and_last_page_links_nowhere():
    page = paginate(rf.get("/"), Scene.objects.order_by("code"), page_size=1000)
    html = render_to_string("core/_pager.html", {"page": page})
    assert "href" not in html


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False)


def test_a_refusal_naming_a_field_goes_next_to_it_and_its_message_on_top():
    form = ReasonForm(data={"reason": "x"})
    assert form.is_valid()
    add_domain_error(
        form, DomainError("Not complete.", code="invalid", details={"reason": "Say why.", "other": "x"})
    )
    assert form.errors["reason"] == ["Say why."]
    assert form.non_field_errors() == ["Not complete."]


def test_a_refusal_without_details_is_a_form_error():
    form = ReasonForm(data={})
    form.is_valid()
    add_domain_error(form, DomainError("Already closed.", code="closed", status=409))
    assert form.non_field_errors() == ["Already closed."]
    assert "reason" not in form.errors


def test_refused_answers_with_the_message_and_the_status():
    response = refused(rf.get("/"), DomainError("You may not do this.", code="forbidden", status=403))
    assert response.status_code == 403
    assert "You may not do this." in response.content.decode()


def test_refused_answers_404_like_a_page_that_does_not_exist():
    with pytest.raises(Http404):
        refused(rf.get("/"), DomainError("No such order.", code="not_found", status=404))


def _refuses(request, status):
    raise DomainError("Refused by the service.", code="refused", status=int(status))


def _works(request):
    return HttpResponse("fine")


# Two planted views, then the site's own pages (the error page's layout links to them).
urlpatterns = [
    path("refuses/<int:status>", _refuses),
    path("works", _works),
    path("", include("config.urls")),
]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("status", [400, 403, 409, 422])
def test_a_refusal_a_page_did_not_handle_becomes_the_error_page(client, status):
    response = client.get(f"/refuses/{status}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    assert "Refused by the service." in response.content.decode()
    assert response.templates[0].name == "core/error.html"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_404_refusal_is_the_ordinary_not_found_page(client):
    response = client.get("/refuses/404")
    assert response.status_code == 404
    assert "Refused by the service." not in response.content.decode()


def test_the_middleware_leaves_other_exceptions_alone():
    middleware = DomainErrorMiddleware(lambda request: HttpResponse("fine"))
    assert middleware.process_exception(rf.get("/"), ValueError("a bug")) is None
    assert middleware(rf.get("/")).content == b"fine"
