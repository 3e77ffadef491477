"""Self-inspection pages: phone-first, server-rendered, complete without JavaScript.

The form posts every item at once and the server saves each changed answer through the service;
an item that is refused keeps what was typed and shows why next to it, the others are saved.
self_inspection.js only adds autosave of single answers through the API.
"""

import uuid
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import selectors as core_selectors
from core.errors import DomainError
from core.pages import paginate, refused
from core.permissions import is_member
from core.photos import SERVED_VARIANTS, photo_response
from supervision.models import Result, SelfInspection
from supervision.self_inspection import selectors
from supervision.self_inspection import services as service
from supervision.self_inspection.forms import SelfInspectionForm, SelfIssueFixForm, SubmitForm

PAGE_SIZE = 20


def _or_404(function, **kwargs):
    try:
        return function(**kwargs)
    except DomainError as exc:
        if exc.status in (404, 422):  # a malformed code is as unknown as a missing one
            raise Http404(exc.message) from None
        raise


# --- the enterprise's self-inspections ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def enterprise_self_inspections(request, uscc: str):
    """GET: the draft to resume, the submitted ones and the open issues. POST: start or resume."""
    enterprise = _or_404(core_selectors.enterprise_get, user=request.user, uscc=uscc)
    if request.method == "POST":
        try:
            self_inspection, _created = service.self_inspection_start(
                enterprise=enterprise, user=request.user
            )
        except DomainError as exc:
            if exc.status != 409:  # not a member: core.pages.DomainErrorMiddleware answers
                raise
            return _render_overview(request, enterprise, error=exc.message, status=exc.status)
        return redirect("supervision:detail", pk=self_inspection.pk)
    return _render_overview(request, enterprise)


def _render_overview(request, enterprise, *, error=None, status=200):
    member = is_member(request.user, enterprise)
    draft = selectors.self_inspection_draft(enterprise=enterprise) if member else None
    submitted = selectors.self_inspections_of(user=request.user, enterprise=enterprise).filter(
        status=SelfInspection.Status.SUBMITTED
    )
    context = {
        "enterprise": enterprise,
        "member": member,
        "draft": draft,
        "draft_progress": selectors.self_inspection_progress(self_inspection=draft) if draft else None,
        "page": paginate(request, submitted, page_size=PAGE_SIZE),
        "open_issues": list(
            selectors.self_issues_of(user=request.user, enterprise=enterprise, status="open")[:PAGE_SIZE]
        ),
        "error": error,
    }
    return render(request, "self_inspection/enterprise.html", context, status=status)


# --- one self-inspection ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def self_inspection_detail(request, pk: int):
    """A draft is the form (members only: nobody else sees drafts); a submitted one is the record."""
    self_inspection = _or_404(selectors.self_inspection_get, user=request.user, pk=pk)
    if self_inspection.status == SelfInspection.Status.SUBMITTED:
        if request.method == "POST":
            return _post_to_submitted(request, self_inspection)
        return _render_record(request, self_inspection)
    if request.method == "POST":
        return _save_form(request, self_inspection)
    return _render_form(request, self_inspection)


def _post_to_submitted(request, self_inspection):
    """A second tap on "submit" (same user, same nonce) lands on the record; changes are refused."""
    if not is_member(request.user, self_inspection.enterprise):
        message = _("Only members of this business may do this.")
        return refused(request, DomainError(message, code="not_member", status=403))
    form = SubmitForm(request.POST)
    form.is_valid()
    try:
        if not form.submits:
            raise DomainError(
                _("This self-inspection has been submitted and can no longer be changed."),
                code="already_submitted",
                status=409,
            )
        service.self_inspection_submit(
            self_inspection=self_inspection, user=request.user, nonce=form.submit_nonce
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("supervision:detail", pk=self_inspection.pk)


def _entries(sheet, *, values=None, errors=None):
    """Sheet rows with what the form shows: the posted values after a refusal, else what is stored."""
    values, errors = values or {}, errors or {}
    entries = []
    for row in sheet.rows:
        stored = {"result": row.answer.result, "note": row.answer.note} if row.answer else {}
        posted = values.get(row.item.pk, {})
        entries.append(
            {
                "row": row,
                "item": row.item,
                "answer": row.answer,
                "result": posted.get("result") or stored.get("result", ""),
                "note": posted["note"] if "note" in posted else stored.get("note", ""),
                "error": errors.get(row.item.pk),
            }
        )
    return entries


def _grouped(entries):
    return [
        (department, list(group)) for department, group in groupby(entries, key=lambda e: e["row"].department)
    ]


def _render_form(request, self_inspection, *, form=None, form_error=None, status=200):
    sheet = selectors.self_inspection_sheet(self_inspection=self_inspection)
    entries = _entries(sheet, values=form.typed(), errors=form.item_errors()) if form else _entries(sheet)
    context = {
        "self_inspection": self_inspection,
        "enterprise": self_inspection.enterprise,
        "groups": _grouped(entries),
        "progress": sheet.progress,
        "results": Result.choices,
        "form_error": form_error,
        "nonce": uuid.uuid4().hex,
        "max_photos": service.MAX_PHOTOS,
        "note_max": service.NOTE_MAX,
    }
    return render(request, "self_inspection/form.html", context, status=status)


def _save_form(request, self_inspection):
    sheet = selectors.self_inspection_sheet(self_inspection=self_inspection)
    form = SelfInspectionForm(request.POST, request.FILES, sheet=sheet)
    form.is_valid()  # every field is optional: the service judges each answer
    try:
        refusals = service.self_inspection_answers_save(
            self_inspection=self_inspection, user=request.user, changes=form.changes()
        )
    except DomainError:  # submitted meanwhile, from another phone
        return _post_to_submitted(request, self_inspection)
    for item_id, exc in refusals.items():
        form.refuse_item(item_id, exc)
    if refusals:
        return _render_form(
            request,
            self_inspection,
            form=form,
            form_error=_("Some answers were not saved; see the marked items. The others were saved."),
            status=422,
        )
    if not form.submits:
        messages.success(request, _("Saved. You can come back and continue later."))
        return redirect("supervision:detail", pk=self_inspection.pk)
    try:
        service.self_inspection_submit(
            self_inspection=self_inspection, user=request.user, nonce=form.submit_nonce
        )
    except DomainError as exc:
        if exc.code != "incomplete":
            return _post_to_submitted(request, self_inspection)
        for item_id in exc.details["item_ids"]:
            form.require_item(item_id)
        return _render_form(request, self_inspection, form=form, form_error=exc.message, status=422)
    messages.success(request, _("Submitted. Thank you: the issues you found are listed for you to fix."))
    return redirect("supervision:detail", pk=self_inspection.pk)


def _render_record(request, self_inspection, *, error=None, fix=None, status=200):
    """``fix``: (issue id, its refused SelfIssueFixForm), shown again next to that issue."""
    sheet = selectors.self_inspection_sheet(self_inspection=self_inspection)
    fix_pk, fix_form = fix or (None, None)
    context = {
        "self_inspection": self_inspection,
        "enterprise": self_inspection.enterprise,
        "groups": _grouped(_entries(sheet)),
        "progress": sheet.progress,
        "member": is_member(request.user, self_inspection.enterprise),
        "error": error,
        "issues": [
            {
                "issue": issue,
                "error": fix_form.message if issue.pk == fix_pk else None,
                "note": (fix_form["note"].value() or "") if issue.pk == fix_pk else "",
            }
            for issue in (getattr(row.answer, "issue", None) for row in sheet.rows if row.answer)
            if issue is not None
        ],
        "max_photos": service.MAX_PHOTOS,
        "note_max": service.NOTE_MAX,
    }
    return render(request, "self_inspection/record.html", context, status=status)


# --- issues and photos ------------------------------------------------------------------------------


@login_required
@require_POST
def self_issue_fix(request, pk: int):
    issue = _or_404(selectors.self_issue_get, user=request.user, pk=pk)
    form = SelfIssueFixForm(request.POST, request.FILES)
    form.is_valid()  # the service judges the note and the photos
    try:
        service.self_issue_fix(
            issue=issue,
            user=request.user,
            note=form.cleaned_data["note"],
            evidence=form.cleaned_data["photos"],
        )
    except DomainError as exc:
        if exc.status == 403:  # not a member: core.pages.DomainErrorMiddleware answers
            raise
        self_inspection = selectors.self_inspection_get(user=request.user, pk=issue.answer.self_inspection_id)
        if exc.code == "already_fixed":  # by a colleague, or a second tap: the record shows the fix
            return _render_record(request, self_inspection, error=exc.message, status=exc.status)
        form.refuse(exc)
        return _render_record(request, self_inspection, fix=(issue.pk, form), status=exc.status)
    messages.success(request, _("Marked fixed."))
    return redirect("supervision:detail", pk=issue.answer.self_inspection_id)


@login_required
@require_GET
def self_inspection_photo(request, pk: int, photo_id: int, variant: str):
    """Display copy or thumbnail of a photo of this self-inspection; never the original."""
    if variant not in SERVED_VARIANTS:
        raise Http404
    self_inspection = _or_404(selectors.self_inspection_get, user=request.user, pk=pk)
    photo = _or_404(selectors.self_inspection_photo, self_inspection=self_inspection, photo_id=photo_id)
    return photo_response(photo, variant)
