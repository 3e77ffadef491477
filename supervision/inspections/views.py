"""The inspection loop's pages: today's tasks and code scanning, the on-site record, orders.

Tablet-first and complete without JavaScript: the record form posts every item at once and the
view saves each changed answer through supervision.inspections.services, keeping what was typed next to the
reason when one is refused. inspection.js / signature.js add autosave through the JSON API
(supervision/inspections/api.py), an offline queue and signature pads; scan.js adds the camera.
Every object is fetched through core.permissions first: what a user may not see is a 404.
"""

import re
import uuid
from datetime import datetime, time, timedelta
from itertools import groupby

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from checklists.models import Severity
from core import permissions
from core import selectors as core_selectors
from core.codes import code_resolve, normalize_token
from core.errors import DomainError
from core.models import IdentityCode, Inspector, Photo
from core.pagination import Page
from supervision.inspections import route, selectors
from supervision.inspections import services as workflow
from supervision.inspections.permissions import inspections_visible_to, orders_visible_to, tasks_visible_to
from supervision.models import (
    Evaluation,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationEntry,
    RectificationOrder,
    Result,
    Signature,
)

PAGE_SIZE = 30
PHOTO_VARIANTS = {"display", "thumbnail"}
# Refusals that end the form: the record was submitted meanwhile (by the other tablet of the
# pair), its task was cancelled, or the user is not one of its inspectors. Anything else is
# about one field.
FATAL_CODES = {"already_submitted", "task_cancelled", "not_assigned", "forbidden"}
ACTIVE_ORDER_STATUSES = (
    RectificationOrder.Status.ISSUED,
    RectificationOrder.Status.SUBMITTED,
    RectificationOrder.Status.RETURNED,
)


# --- helpers ---------------------------------------------------------------------------------------


def _error(request, exc: DomainError):
    return render(request, "core/error.html", {"message": exc.message}, status=exc.status)


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _date(raw: str | None):
    try:
        return parse_date((raw or "").strip())
    except ValueError:  # well-formed but impossible, e.g. 2025-02-30
        return None


def _end_of_day(day) -> datetime:
    """A date typed as a deadline means the end of that day, in the platform's time zone."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def _utc_offset() -> str:
    """ "+08:00": inspection.js sends the deadline as an ISO datetime in the server's zone."""
    raw = timezone.localtime().strftime("%z")
    return f"{raw[:3]}:{raw[3:]}"


def _serve(photo: Photo, variant: str) -> FileResponse:
    response = FileResponse(getattr(photo, variant).open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _photo_pk(photo_id) -> int | None:
    try:
        return int(photo_id)
    except (TypeError, ValueError):
        return None


def _inspection(request, pk: int) -> Inspection:
    return get_object_or_404(
        inspections_visible_to(request.user).select_related(
            "enterprise__scene", "enterprise__district", "task"
        ),
        pk=pk,
    )


def _order(request, pk: int) -> RectificationOrder:
    return get_object_or_404(
        orders_visible_to(request.user).select_related(
            "enterprise__scene", "enterprise__district", "inspection"
        ),
        pk=pk,
    )


def _is_assigned(user, task: InspectionTask) -> bool:
    inspector = permissions.roles_of(user).inspector
    return inspector is not None and task.inspectors.filter(pk=inspector.pk).exists()


# --- today's tasks and scanning ------------------------------------------------------------------


@login_required
@require_GET
def today(request):
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    return _render_today(request)


def _render_today(request, *, code: str = "", error: str | None = None, status: int = 200):
    day = timezone.localdate()
    me = permissions.roles_of(request.user).inspector
    tasks = selectors.tasks_for_day(user=request.user, day=day).prefetch_related(
        Prefetch("inspectors", queryset=Inspector.objects.select_related("user").order_by("pk"))
    )
    page = Page(tasks, page=_page_number(request), page_size=PAGE_SIZE)
    started = dict(
        Inspection.objects.filter(task__in=[task.pk for task in page.items]).values_list("task_id", "pk")
    )
    rows = [
        {
            "task": task,
            "co_inspectors": [i for i in task.inspectors.all() if i.pk != me.pk],
            "inspection_id": started.get(task.pk),
            "late": task.due_to < day,
        }
        for task in page.items
    ]
    context = {
        "day": day,
        "rows": rows,
        "page": page,
        "code": code,
        "scan_error": error,
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
    return render(request, "inspections/today.html", context, status=status)


# The most visits one day's route shows; a longer list is a planning problem, not a route.
ROUTE_LIMIT = 60


def _start_point(raw: str) -> tuple[float, float] | None:
    """``?from=lat,lng`` from the tablet's location; anything else means "start at the first task"."""
    try:
        lat, lng = (float(part) for part in raw.split(","))
    except ValueError:
        return None
    return (lat, lng) if -90 <= lat <= 90 and -180 <= lng <= 180 else None


@login_required
@require_GET
def today_route(request):
    """Today's visits in a route order with distances, and a sketch of the route (no map tiles)."""
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    day = timezone.localdate()
    # Most overdue first: without a location the route starts at the most urgent visit.
    tasks = list(selectors.tasks_for_day(user=request.user, day=day)[: ROUTE_LIMIT + 1])
    start = _start_point(request.GET.get("from", ""))
    stops, unplaced = route.day_route(tasks[:ROUTE_LIMIT], start=start)
    context = {
        "day": day,
        "stops": stops,
        "unplaced": unplaced,
        "more": len(tasks) > ROUTE_LIMIT,
        "limit": ROUTE_LIMIT,
        "start": start,
        "bad_start": bool(request.GET.get("from")) and start is None,
        "sketch": route.sketch(stops),
    }
    return render(request, "inspections/route.html", context)


# A code's URL as printed (https://host/c/TOKEN) or just its path: the token is the last part.
_CODE_PATH = re.compile(r"/c/([^/?#\s]+)")


@login_required
@require_GET
def scan(request):
    """The typed fallback of the camera: a code token (or its URL) opens the landing; a credit
    code opens the entity card through the enterprise's active code, if the inspector sees it."""
    if permissions.roles_of(request.user).inspector is None:
        raise Http404
    raw = request.GET.get("code", "").strip()[:200]
    match = _CODE_PATH.search(raw)
    compact = re.sub(r"[\s-]", "", match.group(1) if match else raw)
    if not compact:
        return _render_today(
            request, error=_("Type the code printed under the QR code, or a credit code."), status=422
        )
    token = normalize_token(compact)
    if token is not None:
        if code_resolve(token).outcome == "unknown":
            return _render_today(
                request,
                code=raw,
                error=_("No enterprise has this code. Check the characters printed under the QR code."),
                status=404,
            )
        return redirect("landing", token=token)  # the landing records the scan, or says it is no longer valid
    try:
        enterprise = core_selectors.enterprise_get(user=request.user, uscc=compact)
    except DomainError as exc:
        if exc.status == 404:
            message = _("No enterprise in your jurisdiction has this credit code.")
        elif len(compact) == 18:
            message = exc.message
        else:
            message = _(
                "This is neither a code (22 characters under the QR code) nor a credit code (18 characters)."
            )
        return _render_today(request, code=raw, error=message, status=exc.status)
    code = IdentityCode.objects.filter(enterprise=enterprise, status=IdentityCode.Status.ACTIVE).first()
    if code is None:
        messages.info(request, _("This enterprise has no active code; here is its record."))
        return redirect("enterprise-detail", uscc=enterprise.uscc)
    return redirect("landing", token=code.token)


@login_required
@require_POST
def task_start(request, pk: int):
    task = get_object_or_404(tasks_visible_to(request.user), pk=pk)
    try:
        inspection = workflow.inspection_start(task=task, actor=request.user)
    except DomainError as exc:
        return _error(request, exc)
    return redirect("loop:inspection", pk=inspection.pk)


# --- the on-site record ---------------------------------------------------------------------------


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


def _save_answers(request, inspection: Inspection, sheet: dict) -> tuple[dict, dict]:
    """Save every changed item; refused ones come back as (posted values, errors by item id)."""
    values, errors = {}, {}
    for item in sheet["items"]:
        pk, answer = item["id"], item["answer"]
        result = request.POST.get(f"result-{pk}") or None
        note = request.POST.get(f"note-{pk}")
        photos = request.FILES.getlist(f"photos-{pk}")
        values[pk] = {"result": result or "", **({"note": note} if note is not None else {})}
        note_changed = note is not None and note.strip() != (answer.note if answer else "")
        result_changed = result is not None and result != (answer.result if answer else None)
        if not (note_changed or result_changed or photos):
            continue
        try:
            workflow.inspection_answer(
                inspection=inspection,
                actor=request.user,
                item_id=pk,
                result=result,
                note=note if note_changed else None,
                photos=photos,
            )
        except DomainError as exc:
            if exc.code in FATAL_CODES:
                raise
            errors[pk] = exc.message + (" " + _("Choose the photos again.") if photos else "")
    return values, errors


def _save_sheet(request, inspection: Inspection):
    """The no-JS path: save what changed, then save, record a refusal, or submit."""
    action = request.POST.get("action", "save")
    sheet = selectors.inspection_sheet(inspection=inspection)
    fields = ("note", "representative_name", "conclusion", "rectify_deadline", "refusal_note")
    record = {name: request.POST.get(name, "") for name in fields}
    record_errors = {}
    try:
        values, errors = _save_answers(request, inspection, sheet)
        note, representative = request.POST.get("note"), request.POST.get("representative_name")
        if (note is not None and note.strip() != inspection.note) or (
            representative is not None and representative.strip() != inspection.representative_name
        ):
            try:
                inspection = workflow.inspection_update(
                    inspection=inspection, actor=request.user, note=note, representative_name=representative
                )
            except DomainError as exc:
                if exc.code in FATAL_CODES:
                    raise
                record_errors["note"] = exc.message
    except DomainError as exc:
        if exc.code == "already_submitted":
            return _post_to_submitted(request, inspection)
        return _error(request, exc)

    def again(form_error, status=422, **extra):
        return _render_sheet(
            request,
            inspection,
            values=values,
            errors=extra.pop("errors", errors),
            record=record,
            record_errors=record_errors,
            form_error=form_error,
            status=status,
            **extra,
        )

    if errors or record_errors:
        return again(_("Some changes were not saved; see the marked fields. The others were saved."))
    if action == "refuse":
        try:
            workflow.inspection_record_refusal(
                inspection=inspection, actor=request.user, note=record["refusal_note"]
            )
        except DomainError as exc:
            record_errors["refusal"] = exc.message
            return again(exc.message, status=exc.status)
        messages.success(request, _("The representative's refusal to sign is recorded."))
        return redirect(reverse("loop:inspection", args=[inspection.pk]) + "#signatures")
    if action != "submit":
        messages.success(request, _("Saved."))
        return redirect("loop:inspection", pk=inspection.pk)
    try:
        submission_id = uuid.UUID(request.POST.get("submission_id", ""))
    except ValueError:
        return again(_("The form was out of date. Check it and submit again."))
    deadline = None
    if record["rectify_deadline"].strip():
        day = _date(record["rectify_deadline"])
        if day is None:
            record_errors["rectify_deadline"] = _("Enter a date.")
            return again(record_errors["rectify_deadline"], submission_id=submission_id)
        deadline = _end_of_day(day)
    try:
        workflow.inspection_submit(
            inspection=inspection,
            actor=request.user,
            submission_id=submission_id,
            conclusion=record["conclusion"],
            rectify_deadline=deadline,
        )
    except DomainError as exc:
        if exc.code == "already_submitted":
            return _post_to_submitted(request, inspection)
        if exc.status == 403:
            return _error(request, exc)
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
        return render(request, "core/error.html", {"message": _("You may not do this.")}, status=403)
    if request.POST.get("action") != "submit":
        messages.error(request, _("This inspection is submitted and can no longer change."))
        return redirect("loop:inspection", pk=inspection.pk)
    try:
        submission_id = uuid.UUID(request.POST.get("submission_id", ""))
    except ValueError:
        submission_id = uuid.uuid4()  # not this record's: refused below as already submitted
    try:
        workflow.inspection_submit(
            inspection=inspection,
            actor=request.user,
            submission_id=submission_id,
            conclusion=request.POST.get("conclusion") or inspection.conclusion,
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
    raw, comment = request.POST.get("rating", ""), request.POST.get("comment", "")
    try:
        rating = int(raw)
    except ValueError:
        rating = 0  # refused by the service with its own message
    try:
        workflow.evaluation_submit(inspection=inspection, actor=request.user, rating=rating, comment=comment)
    except DomainError as exc:
        if exc.status == 403:
            return _error(request, exc)
        if exc.code == "already_rated":  # a second tap, or a colleague was quicker
            messages.info(request, exc.message)
            return redirect("loop:inspection", pk=inspection.pk)
        return _render_record(
            request,
            inspection,
            evaluation_error=exc.message,
            evaluation={"rating": raw, "comment": comment},
            status=exc.status,
        )
    messages.success(request, _("Thank you for your rating."))
    return redirect("loop:inspection", pk=inspection.pk)


@login_required
@require_GET
def inspection_photo(request, pk: int, photo_id: int, variant: str):
    """Display copy or thumbnail of a photo of this record; never the original."""
    if variant not in PHOTO_VARIANTS:
        raise Http404
    inspection = _inspection(request, pk)
    attached = InspectionAnswer.photos.through.objects.filter(inspectionanswer__inspection=inspection)
    photo = get_object_or_404(Photo, pk=_photo_pk(photo_id), pk__in=attached.values("photo_id"))
    return _serve(photo, variant)


# --- orders -------------------------------------------------------------------------------------------


@login_required
@require_GET
def order_list(request):
    roles = permissions.roles_of(request.user)
    if roles.primary == "public":
        raise Http404
    filters = {key: request.GET.get(key, "").strip() for key in ("status", "overdue", "enterprise")}
    queryset = orders_visible_to(request.user).select_related("enterprise")
    error = None
    try:
        if filters["enterprise"]:
            enterprise = core_selectors.enterprise_get(user=request.user, uscc=filters["enterprise"])
            queryset = queryset.filter(enterprise=enterprise)
        if filters["status"] == "active":
            queryset = queryset.filter(status__in=ACTIVE_ORDER_STATUSES)
        elif filters["status"]:
            if filters["status"] not in RectificationOrder.Status.values:
                raise DomainError(_("Unknown status."), code="unknown_status")
            queryset = queryset.filter(status=filters["status"])
        if filters["overdue"] in {"yes", "no"}:
            overdue = selectors.overdue_q(now=timezone.now())
            queryset = queryset.filter(overdue) if filters["overdue"] == "yes" else queryset.exclude(overdue)
        elif filters["overdue"]:
            raise DomainError(_("Unknown filter."), code="unknown_filter")
    except DomainError as exc:
        error, queryset = exc.message, RectificationOrder.objects.none()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": Page(queryset.order_by("deadline", "pk"), page=_page_number(request), page_size=PAGE_SIZE),
        "filters": filters,
        "statuses": RectificationOrder.Status.choices,
        "error": error,
        "query": query.urlencode(),
    }
    return render(request, "inspections/order_list.html", context, status=400 if error else 200)


def _render_order(request, order: RectificationOrder, *, errors=None, values=None, status=200):
    errors, values = errors or {}, values or {}
    user, enterprise = request.user, order.enterprise
    sheet = selectors.order_sheet(order=order)
    evidence = {
        finding.pk: list(finding.answer.photos.all())
        for finding in Finding.objects.filter(order=order)
        .select_related("answer")
        .prefetch_related("answer__photos")
    }
    texts, entry_errors = values.get("texts", {}), errors.get("entries", {})
    findings = [
        {
            **finding,
            "severity_label": Severity(finding["severity"]).label,
            "photos": evidence.get(finding["id"], []),
            "text": texts.get(finding["id"], ""),
            "error": entry_errors.get(finding["id"]),
        }
        for finding in sheet["findings"]
    ]
    entries = RectificationEntry.objects.select_related("finding__item").prefetch_related("photos")
    rectifications = list(
        Rectification.objects.filter(order=order)
        .select_related("submitted_by", "reviewed_by")
        .prefetch_related(Prefetch("entries", queryset=entries.order_by("finding_id")))
        .order_by("-submitted_at")[:20]
    )
    can_verify = permissions.can_verify_orders(user, enterprise)
    finished = order.status in (RectificationOrder.Status.CLOSED, RectificationOrder.Status.ESCALATED)
    can_reinspect = not finished and (can_verify or permissions.can_plan_tasks(user, enterprise))
    official = permissions.landing_view_for(user, enterprise) in {"inspector", "regulator"}
    today = timezone.localdate()
    context = {
        "order": order,
        "enterprise": enterprise,
        "overdue": order.is_overdue,
        "findings": findings,
        "rectifications": rectifications,
        "can_rectify": permissions.is_member(user, enterprise) and order.status in RectificationOrder.OPEN,
        "can_verify": can_verify and order.status == RectificationOrder.Status.SUBMITTED,
        "can_reinspect": can_reinspect,
        "can_escalate": order.is_overdue and permissions.can_escalate_orders(user, enterprise),
        "candidates": list(permissions.inspectors_with_jurisdiction(enterprise=enterprise)[:100])
        if can_reinspect
        else [],
        "reinspections": list(
            order.reinspection_tasks.filter(
                status__in=(InspectionTask.Status.PLANNED, InspectionTask.Status.IN_PROGRESS)
            ).order_by("due_from")
        )
        if official
        else [],
        "errors": errors,
        "values": values,
        "chosen": {str(pk) for pk in values.get("inspectors", [])},
        "today": today.isoformat(),
        "note_max": workflow.NOTE_MAX,
        "max_photos": workflow.MAX_PHOTOS_PER_ANSWER,
    }
    return render(request, "inspections/order.html", context, status=status)


@login_required
@require_GET
def order_detail(request, pk: int):
    return _render_order(request, _order(request, pk))


@login_required
@require_POST
def order_rectify(request, pk: int):
    """Multipart: ``note``; per finding ``text-<finding id>`` and files ``photos-<finding id>``."""
    order = _order(request, pk)
    note = request.POST.get("note", "")
    entries = {
        finding.pk: {
            "text": request.POST.get(f"text-{finding.pk}", ""),
            "photos": request.FILES.getlist(f"photos-{finding.pk}"),
        }
        for finding in order.findings.all()
    }
    try:
        workflow.rectification_submit(order=order, actor=request.user, note=note, entries=entries)
    except DomainError as exc:
        if exc.status == 403:
            return _error(request, exc)
        missing = (exc.details or {}).get("findings", []) if exc.code == "incomplete" else []
        message = exc.message
        if any(entry["photos"] for entry in entries.values()):
            message += " " + _("Choose the photos again.")
        return _render_order(
            request,
            order,
            errors={"rectify": message, "entries": {pk: _("Say what was done.") for pk in missing}},
            values={"note": note, "texts": {pk: entry["text"] for pk, entry in entries.items()}},
            status=exc.status,
        )
    messages.success(request, _("Sent. An inspector will check your rectification."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_POST
def order_verify(request, pk: int):
    order = _order(request, pk)
    decision, note = request.POST.get("decision"), request.POST.get("note", "")
    try:
        if decision not in {"accept", "reject"}:
            raise DomainError(_("Accept or reject the rectification."), code="invalid_decision", status=422)
        workflow.order_verify(order=order, actor=request.user, accepted=decision == "accept", note=note)
    except DomainError as exc:
        if exc.status == 403:
            return _error(request, exc)
        return _render_order(
            request, order, errors={"verify": exc.message}, values={"verify_note": note}, status=exc.status
        )
    if decision == "accept":
        messages.success(request, _("Accepted: the order is closed."))
    else:
        messages.success(request, _("Rejected: the order is returned to the business with your reason."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_POST
def order_reinspect(request, pk: int):
    order = _order(request, pk)
    raw_ids = request.POST.getlist("inspectors")
    values = {
        "inspectors": raw_ids,
        "due_from": request.POST.get("due_from", ""),
        "due_to": request.POST.get("due_to", ""),
    }
    try:
        ids = {int(value) for value in raw_ids}
        inspectors = list(Inspector.objects.filter(pk__in=ids).select_related("user"))
        if len(inspectors) != len(ids):
            raise ValueError
    except ValueError:
        inspectors = None
    due_from, due_to = _date(values["due_from"]), _date(values["due_to"])
    try:
        if inspectors is None:
            raise DomainError(_("Unknown inspector."), code="unknown_inspector", status=422)
        if due_from is None or due_to is None:
            raise DomainError(_("Choose the dates of the visit."), code="invalid_window", status=422)
        workflow.order_reinspect(
            order=order, actor=request.user, inspectors=inspectors, due_from=due_from, due_to=due_to
        )
    except DomainError as exc:
        if exc.status == 403:
            return _error(request, exc)
        return _render_order(
            request, order, errors={"reinspect": exc.message}, values=values, status=exc.status
        )
    messages.success(request, _("A re-inspection is planned; it is on the inspectors' task lists."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_POST
def order_escalate(request, pk: int):
    order = _order(request, pk)
    reason = request.POST.get("reason", "")
    try:
        workflow.order_escalate(order=order, actor=request.user, note=reason)
    except DomainError as exc:
        if exc.status == 403:
            return _error(request, exc)
        return _render_order(
            request, order, errors={"escalate": exc.message}, values={"reason": reason}, status=exc.status
        )
    messages.success(request, _("The order is escalated to a case."))
    return redirect("loop:order", pk=order.pk)


@login_required
@require_GET
def order_photo(request, pk: int, photo_id: int, variant: str):
    """A photo of the order: the inspection's evidence for its findings, or the business's
    rectification evidence. Display copy or thumbnail only; never the original."""
    if variant not in PHOTO_VARIANTS:
        raise Http404
    order = _order(request, pk)
    rectified = RectificationEntry.photos.through.objects.filter(
        rectificationentry__rectification__order=order
    )
    found = InspectionAnswer.photos.through.objects.filter(inspectionanswer__finding__order=order)
    photo = get_object_or_404(
        Photo,
        pk=_photo_pk(photo_id),
        pk__in=rectified.values("photo_id").union(found.values("photo_id")),
    )
    return _serve(photo, variant)
