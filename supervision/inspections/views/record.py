"""The on-site record's pages: the tablet form of a draft, the read-only record, its rating.

Complete without JavaScript: the record form posts every item at once (forms.RecordForm) and the
view saves each changed answer through supervision.inspections.services, keeping what was typed next
to the reason when one is refused while the others are saved. inspection.js / signature.js add
autosave through the JSON API (supervision/inspections/api/), an offline queue and signature pads.
"""

import uuid
from datetime import timedelta
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from core.errors import DomainError
from core.models import Photo
from core.pages import refused
from core.photos import photo_response
from supervision.inspections import selectors
from supervision.inspections import services as workflow
from supervision.inspections.forms import EvaluationForm, RecordForm, RefusalForm, SubmitForm, first_error
from supervision.inspections.permissions import inspections_visible_to, item_wall
from supervision.inspections.views._common import photo_pk
from supervision.models import Evaluation, Inspection, InspectionAnswer, InspectionTask, Result, Signature

# Refusals that end the form: the record was submitted meanwhile (by the other tablet of the
# pair), its task was cancelled, or the user is not one of its inspectors. Anything else is
# about one field.
FATAL_CODES = {"already_submitted", "task_cancelled", "not_assigned", "forbidden"}


def _inspection(request, pk: int) -> Inspection:
    return get_object_or_404(
        inspections_visible_to(request.user).select_related(
            "enterprise__scene", "enterprise__district", "task"
        ),
        pk=pk,
    )


def _is_assigned(user, task: InspectionTask) -> bool:
    inspector = permissions.roles_of(user).inspector
    return inspector is not None and task.inspectors.filter(pk=inspector.pk).exists()


def _utc_offset() -> str:
    """ "+08:00": inspection.js sends the deadline as an ISO datetime in the server's zone."""
    raw = timezone.localtime().strftime("%z")
    return f"{raw[:3]}:{raw[3:]}"


@login_required
@require_http_methods(["GET", "POST"])
def inspection_detail(request, pk: int):
    """A draft is the tablet form (its assigned inspectors only); a submitted one is the record."""
    inspection = _inspection(request, pk)
    if inspection.status == Inspection.Status.SUBMITTED:
        if request.method == "POST":
            return _post_to_submitted(request, inspection)
        return _render_record(request, inspection)
    if request.method == "POST":
        return _save_sheet(request, inspection)
    if not _is_assigned(request.user, inspection.task):
        return _render_record(request, inspection)  # an admin looking at a draft: read only
    return _render_sheet(request, inspection)


def _entries(sheet: dict, *, values=None, errors=None) -> list[dict]:
    """Items with what the form shows: the posted values after a refusal, else what is stored."""
    values, errors = values or {}, errors or {}
    entries = []
    for item in sheet["items"]:
        answer, posted = item["answer"], values.get(item["id"], {})
        entries.append(
            {
                "item": item,
                "answer": answer,
                "result": posted.get("result") or (answer.result if answer else ""),
                "note": posted.get("note", answer.note if answer else ""),
                "photos": list(answer.photos.all()) if answer else [],
                "error": errors.get(item["id"]),
            }
        )
    return entries


def _grouped(entries: list[dict]) -> list[tuple[str, list[dict]]]:
    return [
        (name, list(group)) for name, group in groupby(entries, key=lambda e: e["item"]["department_name"])
    ]


def _signers(inspection: Inspection, signatures: list[Signature]) -> list[dict]:
    """Who signs: each assigned inspector, then the representative, with what is stored."""
    stored = {(s.role, s.inspector_id): s for s in signatures}
    team = inspection.task.inspectors.select_related("user", "department").order_by("pk")
    signers = [
        {
            "role": Signature.Role.INSPECTOR,
            "inspector": inspector,
            "signature": stored.get((Signature.Role.INSPECTOR, inspector.pk)),
        }
        for inspector in team
    ]
    signers.append(
        {
            "role": Signature.Role.REPRESENTATIVE,
            "inspector": None,
            "signature": stored.get((Signature.Role.REPRESENTATIVE, None)),
        }
    )
    return signers


def _render_sheet(
    request,
    inspection: Inspection,
    *,
    values=None,
    errors=None,
    record=None,
    record_errors=None,
    form_error=None,
    submission_id=None,
    status=200,
):
    sheet = selectors.inspection_sheet(inspection=inspection)
    entries = _entries(sheet, values=values, errors=errors)
    tomorrow = timezone.localdate() + timedelta(days=1)
    context = {
        "inspection": inspection,
        "enterprise": inspection.enterprise,
        "task": inspection.task,
        "groups": _grouped(entries),
        "answered": sheet["answered"],
        "total": sheet["total"],
        "results": Result.choices,
        "conclusions": Inspection.Conclusion.choices,
        "signers": _signers(inspection, sheet["signatures"]),
        "record": {
            "note": inspection.note,
            "representative_name": inspection.representative_name,
            "conclusion": "",
            "rectify_deadline": "",
            "refusal_note": inspection.refusal_note,
            **(record or {}),
        },
        "record_errors": record_errors or {},
        "form_error": form_error,
        # The no-JS submit's idempotency key: a double tap or a resent form is the same submission.
        "submission_id": submission_id or uuid.uuid4(),
        "note_max": workflow.NOTE_MAX,
        "max_photos": workflow.MAX_PHOTOS_PER_ANSWER,
        "min_deadline": tomorrow.isoformat(),
        "utc_offset": _utc_offset(),
    }
    return render(request, "inspections/inspection_form.html", context, status=status)


def _save_changes(request, inspection: Inspection, form: RecordForm) -> tuple[Inspection, dict]:
    """Save every changed item and the record's own fields; a refused item is marked on the form, a
    refused record field comes back by name. A refusal that ends the form propagates."""
    for change in form.changes():
        try:
            workflow.inspection_answer(inspection=inspection, actor=request.user, **change)
        except DomainError as exc:
            if exc.code in FATAL_CODES:
                raise
            form.refuse_item(change["item_id"], exc)
    record_errors = {}
    if form.record_error():
        record_errors["note"] = form.record_error()
    elif changes := form.record_changes():
        try:
            inspection = workflow.inspection_update(inspection=inspection, actor=request.user, **changes)
        except DomainError as exc:
            if exc.code in FATAL_CODES:
                raise
            record_errors["note"] = exc.message
    return inspection, record_errors


def _save_sheet(request, inspection: Inspection):
    """The no-JS path: save what changed, then save, record a refusal, or submit."""
    sheet = selectors.inspection_sheet(inspection=inspection)
    form = RecordForm(request.POST, request.FILES, items=sheet["items"], inspection=inspection)
    form.is_valid()  # an item that does not parse keeps its error; the others are saved
    try:
        inspection, record_errors = _save_changes(request, inspection, form)
    except DomainError as exc:
        if exc.code == "already_submitted":
            return _post_to_submitted(request, inspection)
        raise

    def again(form_error, status=422, **extra):
        return _render_sheet(
            request,
            inspection,
            values=form.typed(),
            errors=extra.pop("errors", form.item_errors()),
            record=form.typed_record(),
            record_errors=record_errors,
            form_error=form_error,
            status=status,
            **extra,
        )

    if form.item_errors() or record_errors:
        return again(_("Some changes were not saved; see the marked fields. The others were saved."))
    if form.pressed == "refuse":
        refusal = RefusalForm(request.POST)
        if not refusal.is_valid():
            record_errors["refusal"] = first_error(refusal)
            return again(record_errors["refusal"])
        try:
            workflow.inspection_record_refusal(
                inspection=inspection, actor=request.user, note=refusal.cleaned_data["refusal_note"]
            )
        except DomainError as exc:
            record_errors["refusal"] = exc.message
            return again(exc.message, status=exc.status)
        messages.success(request, _("The representative's refusal to sign is recorded."))
        return redirect(reverse("loop:inspection", args=[inspection.pk]) + "#signatures")
    if form.pressed != "submit":
        messages.success(request, _("Saved."))
        return redirect("loop:inspection", pk=inspection.pk)
    submit = SubmitForm(request.POST)
    if submit.has_error("submission_id"):
        return again(submit.errors["submission_id"][0])
    submission_id = submit.cleaned_data["submission_id"]
    if not submit.is_valid():
        if submit.has_error("rectify_deadline"):
            record_errors["rectify_deadline"] = submit.errors["rectify_deadline"][0]
        return again(first_error(submit), submission_id=submission_id)
    try:
        workflow.inspection_submit(
            inspection=inspection,
            actor=request.user,
            submission_id=submission_id,
            conclusion=submit.cleaned_data["conclusion"],
            rectify_deadline=submit.cleaned_data["rectify_deadline"],
        )
    except DomainError as exc:
        if exc.code == "already_submitted":
            return _post_to_submitted(request, inspection)
        if exc.status == 403:
            raise
        missing = {}
        if exc.code == "incomplete":
            codes = set((exc.details or {}).get("missing", []))
            missing = {
                item["id"]: _("Answer this item before submitting.")
                for item in sheet["items"]
                if item["code"] in codes
            }
        return again(exc.message, status=exc.status, errors=missing, submission_id=submission_id)
    messages.success(request, _("Submitted. The record can no longer change."))
    return redirect("loop:inspection", pk=inspection.pk)


def _post_to_submitted(request, inspection: Inspection):
    """A resent submit (same submission id) lands on the record; any change is refused."""
    if not _is_assigned(request.user, inspection.task):
        return refused(request, DomainError(_("You may not do this."), code="forbidden", status=403))
    form = SubmitForm(request.POST)
    form.is_valid()
    if form.pressed != "submit":
        messages.error(request, _("This inspection is submitted and can no longer change."))
        return redirect("loop:inspection", pk=inspection.pk)
    try:
        workflow.inspection_submit(
            inspection=inspection,
            actor=request.user,
            # Not this record's id: refused below as already submitted.
            submission_id=form.cleaned_data.get("submission_id") or uuid.uuid4(),
            conclusion=form.cleaned_data.get("conclusion") or inspection.conclusion,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Submitted. The record can no longer change."))
    return redirect("loop:inspection", pk=inspection.pk)


def _render_record(request, inspection: Inspection, *, evaluation_error=None, evaluation=None, status=200):
    # Read-only: a department's officials see the results of their own department's items.
    sheet = selectors.inspection_sheet(inspection=inspection, viewer=request.user)
    submitted = inspection.status == Inspection.Status.SUBMITTED
    member = permissions.is_member(request.user, inspection.enterprise)
    stored_evaluation = Evaluation.objects.filter(inspection=inspection).first() if submitted else None
    context = {
        "inspection": inspection,
        "enterprise": inspection.enterprise,
        "task": inspection.task,
        "submitted": submitted,
        "groups": _grouped(_entries(sheet)),
        "answered": sheet["answered"],
        "total": sheet["total"],
        "signers": _signers(inspection, sheet["signatures"]),
        "order": sheet["order_obj"],
        "findings": sum(
            1 for item in sheet["items"] if item["answer"] and item["answer"].result == Result.NON_COMPLIANT
        ),
        "member": member,
        "evaluation": stored_evaluation,
        "can_rate": submitted and member and stored_evaluation is None,
        "evaluation_error": evaluation_error,
        "evaluation_values": evaluation or {},
        "ratings": [5, 4, 3, 2, 1],
    }
    return render(request, "inspections/inspection_record.html", context, status=status)


@login_required
@require_POST
def inspection_evaluate(request, pk: int):
    inspection = _inspection(request, pk)
    form = EvaluationForm(request.POST)

    def again(message: str, status: int):
        return _render_record(
            request, inspection, evaluation_error=message, evaluation=form.typed(), status=status
        )

    if not form.is_valid():
        return again(first_error(form), 422)
    try:
        workflow.evaluation_submit(inspection=inspection, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        if exc.status == 403:
            raise
        if exc.code == "already_rated":  # a second tap, or a colleague was quicker
            messages.info(request, exc.message)
            return redirect("loop:inspection", pk=inspection.pk)
        return again(exc.message, exc.status)
    messages.success(request, _("Thank you for your rating."))
    return redirect("loop:inspection", pk=inspection.pk)


@login_required
@require_GET
def inspection_photo(request, pk: int, photo_id: int, variant: str):
    """Display copy or thumbnail of a photo of this record; never the original. A photo of an item
    behind the viewer's department walls (permissions.item_wall) is a 404 like any other's."""
    inspection = _inspection(request, pk)
    attached = InspectionAnswer.photos.through.objects.filter(
        item_wall(request.user, inspection).q("inspectionanswer__item__checklist__department"),
        inspectionanswer__inspection=inspection,
    )
    photo = get_object_or_404(Photo, pk=photo_pk(photo_id), pk__in=attached.values("photo_id"))
    return photo_response(photo, variant)
