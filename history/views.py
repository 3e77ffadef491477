"""The regulators' pages for data sources: the list, one source (schemas, keys, recent batches,
counts), the form to create or edit one, and issuing or revoking a key (shown once).

For those who may manage data sources (history.permissions); anyone else gets 404.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.pages import add_domain_error, paginate
from history import selectors
from history.forms import SourceForm
from history.models import DataSource
from history.permissions import may_manage_sources, sources_managed_by
from history.sources import SCHEMA_HELP, credential_revoke, credential_rotate, source_create, source_update

PAGE_SIZE = 50
BATCHES_PER_PAGE = 20


def _managers_only(user) -> None:
    if not may_manage_sources(user):
        raise Http404


def _source(request, code: str) -> DataSource:
    _managers_only(request.user)
    return get_object_or_404(
        sources_managed_by(request.user).select_related("department", "owner"), code=code
    )


@login_required
@require_GET
def source_list(request):
    _managers_only(request.user)
    page = paginate(request, selectors.sources_listed(sources_managed_by(request.user)), page_size=PAGE_SIZE)
    return render(request, "history/sources/list.html", {"page": page})


@login_required
@require_GET
def source_detail(request, code: str):
    source = _source(request, code)
    context = {
        "source": source,
        "attribute_schema": json.dumps(source.attribute_schema, ensure_ascii=False, indent=2),
        "signal_schema": json.dumps(source.signal_schema, ensure_ascii=False, indent=2),
        "counts": selectors.source_counts(source),
        "credentials": list(selectors.credentials_of(source)),
        "batches": paginate(request, selectors.batches_of(source), page_size=BATCHES_PER_PAGE),
    }
    return render(request, "history/sources/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def source_new(request):
    _managers_only(request.user)
    form = SourceForm(request.POST or None, creating=True)
    status = 200 if request.method == "GET" else 422
    if request.method == "POST" and form.is_valid():
        try:
            source = source_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("The data source was created. Issue its key to let it send."))
            return redirect("sources:detail", source.code)
    return render(request, "history/sources/form.html", {"form": form, "help": SCHEMA_HELP}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def source_edit(request, code: str):
    source = _source(request, code)
    form = SourceForm(request.POST or None, creating=False, initial=SourceForm.initial_of(source))
    status = 200 if request.method == "GET" else 422
    if request.method == "POST" and form.is_valid():
        try:
            source_update(actor=request.user, source=source, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("The data source was saved."))
            return redirect("sources:detail", source.code)
    context = {"form": form, "source": source, "help": SCHEMA_HELP}
    return render(request, "history/sources/form.html", context, status=status)


@never_cache
@login_required
@require_POST
def key_issue(request, code: str):
    """The new key is on this response only (never stored, never in a redirect or a message)."""
    source = _source(request, code)
    credential, raw, revoked = credential_rotate(source=source, actor=request.user)
    context = {"source": source, "credential": credential, "key": raw, "revoked": revoked}
    return render(request, "history/sources/key.html", context)


@login_required
@require_POST
def key_revoke(request, code: str, credential_id: int):
    source = _source(request, code)
    credential = get_object_or_404(source.credentials.all(), pk=credential_id)
    credential_revoke(credential=credential, actor=request.user)
    messages.success(request, _("The key %(prefix)s… was revoked.") % {"prefix": credential.prefix})
    return redirect("sources:detail", source.code)
