"""Self-inspection pages: phone-first, server-rendered, complete without JavaScript.

The form posts every item at once and the server saves each changed answer through the service;
an item that is refused keeps what was typed and shows why next to it, the others are saved.
self_inspection.js only adds autosave of single answers through the API.
"""

import uuid
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import selectors
from core.errors import DomainError
from core.pagination import Page
from core.permissions import is_member
from supervision.models import Result, SelfInspection
from supervision.self_inspection import services as service

PAGE_SIZE = 20


def _or_404(function, **kwargs):
    try:
        return function(**kwargs)
    except DomainError as exc:
        if exc.status in (404, 422):  # a malformed code is as unknown as a missing one
            raise Http404(exc.message) from None
        raise


def _forbidden(request, exc: DomainError):
    return render(request, "core/error.html", {"message": exc.message}, status=exc.status)


# --- the enterprise's self-inspections ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def enterprise_self_inspections(request, uscc: str):
    """GET: the draft to resume, the submitted ones and the open issues. POST: start or resume."""
    enterprise = _or_404(selectors.enterprise_get, user=request.user, uscc=uscc)
    if request.method == "POST":
        try:
            self_inspection, _created = service.self_inspection_start(
                enterprise=enterprise, user=request.user
            )
        except DomainError as exc:
            if exc.status == 409:
                return _render_overview(request, enterprise, error=exc.message, status=exc.status)
            return _forbidden(request, exc)
        return redirect("supervision:detail", pk=self_inspection.pk)
    return _render_overview(request, enterprise)


def _render_overview(request, enterprise, *, error=None, status=200):
    member = is_member(request.user, enterprise)
    draft = service.self_inspection_draft(enterprise=enterprise) if member else None
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        number = 1
    submitted = service.self_inspections_of(user=request.user, enterprise=enterprise).filter(
        status=SelfInspection.Status.SUBMITTED
    )
    context = {
        "enterprise": enterprise,
        "member": member,
        "draft": draft,
        "draft_progress": service.self_inspection_progress(self_inspection=draft) if draft else None,
        "page": Page(submitted, page=number, page_size=PAGE_SIZE),
        "open_issues": list(
            service.self_issues_of(user=request.user, enterprise=enterprise, status="open")[:PAGE_SIZE]
        ),
        "error": error,
    }
    return render(request, "self_inspection/enterprise.html", context, status=status)


# --- one self-inspection ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def self_inspection_detail(request, pk: int):
    """A draft is the form (members only: nobody else sees drafts); a submitted one is the record."""
    self_inspection = _or_404(service.self_inspection_get, user=request.user, pk=pk)
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
        return render(request, "core/error.html", {"message": message}, status=403)
    try:
        if request.POST.get("action") != "submit":
            raise DomainError(
                _("This self-inspection has been submitted and can no longer be changed."),
                code="already_submitted",
                status=409,
            )
        service.self_inspection_submit(
            self_inspection=self_inspection, user=request.user, nonce=request.POST.get("nonce") or None
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


def _render_form(request, self_inspection, *, values=None, errors=None, form_error=None, status=200):
    sheet = service.self_inspection_sheet(self_inspection=self_inspection)
    context = {
        "self_inspection": self_inspection,
        "enterprise": self_inspection.enterprise,
        "groups": _grouped(_entries(sheet, values=values, errors=errors)),
        "progress": sheet.progress,
        "results": Result.choices,
        "form_error": form_error,
        "nonce": uuid.uuid4().hex,
        "max_photos": service.MAX_PHOTOS,
        "note_max": service.NOTE_MAX,
    }
    return render(request, "self_inspection/form.html", context, status=status)


def _save_form(request, self_inspection):
    sheet = service.self_inspection_sheet(self_inspection=self_inspection)
    values, errors = {}, {}
    for row in sheet.rows:
        pk = row.item.pk
        result = request.POST.get(f"result-{pk}") or None
        note = request.POST.get(f"note-{pk}")
        photos = request.FILES.getlist(f"photos-{pk}")
        values[pk] = {"result": result or "", **({"note": note} if note is not None else {})}
        stored_result = row.answer.result if row.answer else None
        stored_note = row.answer.note if row.answer else ""
        changed = (
            (result is not None and result != stored_result)
            or (note is not None and note.strip() != stored_note)
            or bool(photos)
        )
        if not changed:
            continue
        try:
            service.self_inspection_answer(
                self_inspection=self_inspection,
                user=request.user,
                item_id=pk,
                result=result,
                note=note,
                photos=photos,
            )
        except DomainError as exc:
            if exc.code in {"already_submitted", "not_member"}:  # submitted meanwhile, from another phone
                return _post_to_submitted(request, self_inspection)
            errors[pk] = exc.message
            if photos:
                errors[pk] += " " + _("Choose the photos again.")
    if errors:
        return _render_form(
            request,
            self_inspection,
            values=values,
            errors=errors,
            form_error=_("Some answers were not saved; see the marked items. The others were saved."),
            status=422,
        )
    if request.POST.get("action") != "submit":
        messages.success(request, _("Saved. You can come back and continue later."))
        return redirect("supervision:detail", pk=self_inspection.pk)
    try:
        service.self_inspection_submit(
            self_inspection=self_inspection, user=request.user, nonce=request.POST.get("nonce") or None
        )
    except DomainError as exc:
        if exc.code != "incomplete":
            return _post_to_submitted(request, self_inspection)
        missing = {pk: _("Answer this item before submitting.") for pk in exc.details["item_ids"]}
        return _render_form(
            request, self_inspection, values=values, errors=missing, form_error=exc.message, status=422
        )
    messages.success(request, _("Submitted. Thank you: the issues you found are listed for you to fix."))
    return redirect("supervision:detail", pk=self_inspection.pk)


def _render_record(request, self_inspection, *, error=None, fix_errors=None, fix_values=None, status=200):
    sheet = service.self_inspection_sheet(self_inspection=self_inspection)
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
                "error": (fix_errors or {}).get(issue.pk),
                "note": (fix_values or {}).get(issue.pk, ""),
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
    issue = _or_404(service.self_issue_get, user=request.user, pk=pk)
    note = request.POST.get("note", "")
    try:
        service.self_issue_fix(
            issue=issue, user=request.user, note=note, evidence=request.FILES.getlist("photos")
        )
    except DomainError as exc:
        if exc.status == 403:
            return _forbidden(request, exc)
        self_inspection = service.self_inspection_get(user=request.user, pk=issue.answer.self_inspection_id)
        if exc.code == "already_fixed":  # by a colleague, or a second tap: the record shows the fix
            return _render_record(request, self_inspection, error=exc.message, status=exc.status)
        message = exc.message
        if request.FILES.getlist("photos"):
            message += " " + _("Choose the photos again.")
        return _render_record(
            request,
            self_inspection,
            fix_errors={issue.pk: message},
            fix_values={issue.pk: note},
            status=exc.status,
        )
    messages.success(request, _("Marked fixed."))
    return redirect("supervision:detail", pk=issue.answer.self_inspection_id)


@login_required
@require_GET
def self_inspection_photo(request, pk: int, photo_id: int, variant: str):
    """Display copy or thumbnail of a photo of this self-inspection; never the original."""
    if variant not in {"display", "thumbnail"}:
        raise Http404
    self_inspection = _or_404(service.self_inspection_get, user=request.user, pk=pk)
    photo = _or_404(service.self_inspection_photo, self_inspection=self_inspection, photo_id=photo_id)
    response = FileResponse(getattr(photo, variant).open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response
