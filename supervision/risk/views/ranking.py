"""Regulators' desktop pages for risk, credit and tiers: the ranking with its filters, exports and
distribution chart, one enterprise's breakdown (with credit events), the scoring policy versions
and the background recompute.

Only regulators and platform admins reach them (anyone else gets 404, as for a page that does not
exist); every row is limited to the user's scope by supervision.risk.permissions.scores_visible_to. Changing
the policy or starting a recompute is for core.permissions.can_manage_scoring (403 otherwise).
Exports are data leaving the system, so each one is written to the audit chain with its filters.
"""

import copy
import csv
import math
import re
import tempfile
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from openpyxl import Workbook

from core import permissions
from core.audit import audit_record
from core.errors import DomainError
from core.models import Department, District, Scene
from core.pagination import Page
from supervision.models import (
    CreditEvent,
    CreditRating,
    EnterpriseScore,
    RiskLevel,
    ScoreRun,
    ScoringPolicy,
)
from supervision.risk import scoring
from supervision.risk import selectors as ranking
from supervision.risk import services as rescoring
from supervision.risk.scoring import FACTORS, RATINGS, RISK_LEVELS

PAGE_SIZE = 50
# A spreadsheet of more rows is slow to build and to open; CSV streams any size.
XLSX_MAX_ROWS = 100_000
FILTER_KEYS = ("district", "scene", "department", "tier", "risk_level", "credit", "order")
ORDER_LABELS = {
    "risk": gettext_lazy("Risk score"),
    "tier": gettext_lazy("Tier"),
    "credit": gettext_lazy("Credit rating"),
    "overdue": gettext_lazy("Overdue orders"),
}


def _ranking_only(user) -> None:
    if not permissions.may_see_ranking(user):
        raise Http404


def _forbidden(request):
    return render(request, "core/error.html", {"message": _("You may not do this.")}, status=403)


def _page_number(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


# --- the ranking ---------------------------------------------------------------------------------------


def _districts_for(user):
    """The district choices: the regulator's own subtree, or every district and street."""
    regulator = permissions.roles_of(user).regulator
    qs = District.objects.exclude(level=District.Level.CITY)
    if regulator and regulator.district_id:
        qs = District.objects.filter(path__startswith=regulator.district.path)
    return qs.order_by("path")


def _raw_filters(request) -> dict:
    return {key: request.GET.get(key, "").strip() for key in FILTER_KEYS}


@login_required
@require_GET
def ranking_list(request):
    _ranking_only(request.user)
    raw = _raw_filters(request)
    try:
        filters = ranking.ranking_filters_parse(**raw)
    except ranking.RankingError as exc:
        return _render_list(request, raw, None, errors=exc.details, message=exc.message, status=exc.status)
    fmt = request.GET.get("format")
    if fmt in {"csv", "xlsx"}:
        return _export(request, raw, filters, fmt)
    return _render_list(request, raw, filters)


def _render_list(request, raw, filters, *, errors=None, message=None, status=200):
    if filters is None:
        page = Page(EnterpriseScore.objects.none(), page=1, page_size=PAGE_SIZE)
    else:
        page = Page(
            ranking.ranking(user=request.user, filters=filters),
            page=_page_number(request),
            page_size=PAGE_SIZE,
        )
    offset = (page.number - 1) * PAGE_SIZE
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    context = {
        "page": page,
        "rows": [
            {"position": offset + index, "score": score, "bars": _bars(score)}
            for index, score in enumerate(page.items, start=1)
        ],
        "filters": raw,
        "errors": errors or {},
        "message": message,
        "query": query.urlencode(),
        "districts": _districts_for(request.user),
        "scenes": Scene.objects.all(),
        "departments": Department.objects.all(),
        "tiers": ranking.TIERS,
        "risk_levels": RiskLevel.choices,
        "credits": CreditRating.choices,
        "orders": list(ORDER_LABELS.items()),
        "factors": list(FACTORS.items()),
        "xlsx_max": XLSX_MAX_ROWS,
        "can_manage": permissions.can_manage_scoring(request.user),
    }
    return render(request, "risk/ranking.html", context, status=status)


def _bars(score) -> list[dict]:
    """The score as a stacked bar on the 0-100 scale, one segment per contributing factor (drawn
    as SVG rectangles: the pages' CSP allows no inline styles)."""
    segments, x = [], 0.0
    for factor, points in ranking.contributions(score).items():
        if points >= 0.05:
            segments.append({"factor": factor, "label": FACTORS[factor], "x": x, "width": points})
            x += points
    return segments


# --- exports -------------------------------------------------------------------------------------------


def _header() -> list[str]:
    return [
        _("Rank"),
        _("Unified social credit code"),
        _("Name"),
        _("District"),
        _("Scene"),
        _("Risk score"),
        _("Risk level"),
        _("Credit rating"),
        _("Credit points"),
        _("Tier"),
        _("Open orders"),
        _("Overdue orders"),
        _("Last inspected on"),
        *(str(label) for label in FACTORS.values()),
        _("Policy version"),
        _("As of"),
    ]


def _text(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet; a name must stay a name.
    return f"'{value}" if value[:1] in {"=", "+", "-", "@"} else value


def _rows(queryset, levels: dict):
    for position, score in enumerate(queryset.iterator(chunk_size=2000), start=1):
        enterprise = score.enterprise
        yield [
            position,
            enterprise.uscc,
            _text(enterprise.name),
            _text(enterprise.district.display_name),
            _text(enterprise.scene.display_name),
            round(score.risk, 2),
            levels.get(score.risk_level, score.risk_level),
            score.credit,
            score.credit_points,
            score.tier,
            score.open_orders,
            score.overdue_orders,
            score.last_inspected_on.isoformat() if score.last_inspected_on else "",
            *(round(points, 2) for points in ranking.contributions(score).values()),
            score.policy.version,
            timezone.localtime(score.as_of).strftime("%Y-%m-%d %H:%M"),
        ]


class _Echo:
    def write(self, value):
        return value


def _csv_lines(header, rows, language):
    # Streamed after the view has returned: keep the request's language for names and labels.
    with translation.override(language):
        writer = csv.writer(_Echo())
        yield "\ufeff"  # the BOM makes Excel read UTF-8, so Chinese names survive a double-click
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)


def _export(request, raw, filters: ranking.RankingFilters, fmt: str):
    queryset = ranking.ranking(user=request.user, filters=filters)
    # One count per export (never per page): the audit chain records how many rows left.
    count = queryset.count()
    if fmt == "xlsx" and count > XLSX_MAX_ROWS:
        message = _(
            "A spreadsheet holds at most %(max)s rows; this ranking has %(count)s. "
            "Narrow the filters, or export CSV."
        ) % {"max": f"{XLSX_MAX_ROWS:,}", "count": f"{count:,}"}
        return _render_list(request, raw, filters, message=message, status=400)
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action="export.ranking",
            data={"format": fmt, "filters": filters.as_data(), "rows": count},
        )
    levels = {value: str(label) for value, label in RiskLevel.choices}
    header = _header()
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_lines(header, _rows(queryset, levels), translation.get_language()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="ranking-{stamp}.csv"'
        return response
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Risk ranking")[:31])
    sheet.append(header)
    for row in _rows(queryset, levels):
        sheet.append(row)
    # A temporary file, not memory: 100,000 rows compress to megabytes. FileResponse closes it.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    workbook.save(out)
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"ranking-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- the distribution ----------------------------------------------------------------------------------


@login_required
@require_GET
def ranking_distribution(request):
    _ranking_only(request.user)
    raw = _raw_filters(request)
    errors, message, status, table = {}, None, 200, None
    try:
        filters = ranking.ranking_filters_parse(**raw)
    except ranking.RankingError as exc:
        errors, message, status = exc.details, exc.message, exc.status
    else:
        table = ranking.distribution(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "table": table,
        "chart": _chart(table) if table else [],
        "filters": raw,
        "errors": errors,
        "message": message,
        "query": query.urlencode(),
        "districts": _districts_for(request.user),
        "scenes": Scene.objects.all(),
        "departments": Department.objects.all(),
        "tiers": ranking.TIERS,
        "risk_levels": RiskLevel.choices,
        "credits": CreditRating.choices,
    }
    return render(request, "risk/ranking_distribution.html", context, status=status)


def _chart(table: ranking.Distribution) -> list[dict]:
    """Each district's bar: one segment per tier, on a scale where the largest district is 100."""
    largest = table.largest or 1
    chart = []
    for row in table.rows:
        segments, x = [], 0.0
        for tier, n in zip(ranking.TIERS, row.counts, strict=True):
            width = 100.0 * n / largest
            if n:
                segments.append({"tier": tier, "n": n, "x": x, "width": width})
            x += width
        chart.append({"row": row, "segments": segments})
    return chart


# --- one enterprise: the breakdown and its credit events -----------------------------------------------


def _ranked_enterprise(request, uscc: str):
    return get_object_or_404(
        permissions.ranked_enterprises_visible_to(request.user).select_related("district", "scene"),
        uscc=uscc.strip().upper(),
    )


def _render_detail(request, enterprise, *, values=None, errors=None, status=200):
    explanation = ranking.score_explain(enterprise=enterprise)
    context = {
        "enterprise": enterprise,
        "explanation": explanation,
        "score": explanation.score,
        "can_record": permissions.can_record_credit_event(request.user, enterprise),
        "kinds": CreditEvent.Kind.choices,
        "values": values or {"kind": "", "occurred_on": "", "ends_on": "", "reference": "", "note": ""},
        "errors": errors or {},
        "today": timezone.localdate(),
    }
    return render(request, "risk/ranking_detail.html", context, status=status)


@login_required
@require_GET
def ranking_detail(request, uscc: str):
    _ranking_only(request.user)
    return _render_detail(request, _ranked_enterprise(request, uscc))


def _parse_day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


@login_required
@require_POST
def credit_event_new(request, uscc: str):
    _ranking_only(request.user)
    enterprise = _ranked_enterprise(request, uscc)
    if not permissions.can_record_credit_event(request.user, enterprise):
        return _forbidden(request)
    values = {key: request.POST.get(key, "").strip() for key in ("kind", "occurred_on", "ends_on")}
    values.update(reference=request.POST.get("reference", ""), note=request.POST.get("note", ""))
    days, errors = {}, {}
    for key in ("occurred_on", "ends_on"):
        try:
            days[key] = _parse_day(values[key])
        except ValueError:
            errors[key] = _("Give a date as YYYY-MM-DD.")
    if not errors:
        try:
            rescoring.credit_event_record(
                actor=request.user,
                enterprise=enterprise,
                kind=values["kind"],
                occurred_on=days["occurred_on"],
                ends_on=days["ends_on"],
                reference=values["reference"],
                note=values["note"],
            )
        except DomainError as exc:
            errors = exc.details if isinstance(exc.details, dict) else {"form": exc.message}
    if errors:
        return _render_detail(request, enterprise, values=values, errors=errors, status=422)
    messages.success(request, _("The credit event was recorded and the score recomputed."))
    return redirect("ranking:detail", uscc=enterprise.uscc)


# --- policies ------------------------------------------------------------------------------------------

# The policy form: one input per weight and per parameter, named by the path validate_policy uses
# in its problems ("weights.scene", "params.tiers.1.draw_ratio"), so each problem lands on its input.
PARAM_FIELDS = [
    ("params.half_life_days", gettext_lazy("Half-life of a violation (days)")),
    ("params.severity_points.minor", gettext_lazy("Points of a minor finding")),
    ("params.severity_points.major", gettext_lazy("Points of a major finding")),
    ("params.severity_points.critical", gettext_lazy("Points of a critical finding")),
    ("params.violations_saturation", gettext_lazy("Violation points that nearly fill the factor")),
    ("params.orders_saturation", gettext_lazy("Open orders that nearly fill the factor")),
    ("params.overdue_order_weight", gettext_lazy("Weight of an overdue order")),
    ("params.complaints_saturation", gettext_lazy("Complaint points that nearly fill the factor")),
    ("params.complaint_half_life_days", gettext_lazy("Half-life of a complaint (days)")),
    ("params.verified_complaint_weight", gettext_lazy("Weight of a verified complaint")),
    ("params.self_inspection_max_age_days", gettext_lazy("A self-inspection counts for (days)")),
    ("params.discrepancy_saturation", gettext_lazy("Discrepancies that nearly fill the factor")),
    ("params.new_licence_days", gettext_lazy("A licence counts as new for (days)")),
    ("params.default_interval_days", gettext_lazy("Inspection interval without a tier (days)")),
    ("params.risk_thresholds.medium", gettext_lazy("Medium risk from (score)")),
    ("params.risk_thresholds.high", gettext_lazy("High risk from (score)")),
]
CREDIT_FIELDS = [
    ("params.credit.repair_days", gettext_lazy("Credit repair period (days)")),
    ("params.credit.points.penalty", gettext_lazy("Points per administrative penalty")),
    ("params.credit.points.late_order", gettext_lazy("Points per order closed late")),
    ("params.credit.points.unclosed_order", gettext_lazy("Points per overdue open order")),
    ("params.credit.points.refusal", gettext_lazy("Points per refused inspection")),
    ("params.credit.thresholds.B", gettext_lazy("Rating B from (points)")),
    ("params.credit.thresholds.C", gettext_lazy("Rating C from (points)")),
    ("params.credit.thresholds.D", gettext_lazy("Rating D from (points)")),
]
# Blank means "no fixed interval: random draws only".
OPTIONAL_FIELDS = {f"params.tiers.{tier}.interval_days" for tier in ranking.TIERS}

# validate_policy's reasons (English, machine-made) in the UI language.
REASONS = {
    "missing": gettext_lazy("Required."),
    "must be a number": gettext_lazy("Must be a number."),
    "unknown factor": gettext_lazy("Unknown factor."),
    "not an object": gettext_lazy("Malformed."),
    "must be a tier 1-4": gettext_lazy("Choose a tier from 1 to 4."),
    "at least one weight must be above zero": gettext_lazy("At least one weight must be above zero."),
    "medium must be below high": gettext_lazy("The medium threshold must be below the high one."),
    "B < C < D required": gettext_lazy("The thresholds must rise from B to C to D."),
    "tiers 1, 2, 3 and 4 are required": gettext_lazy("Tiers 1, 2, 3 and 4 are required."),
}


def _reason(text: str) -> str:
    if text in REASONS:
        return str(REASONS[text])
    if match := re.fullmatch(r"must be at (least|most) (\S+)", text):
        limit = match.group(2)
        return (
            _("Must be at least %(n)s.") % {"n": limit}
            if match.group(1) == "least"
            else _("Must be at most %(n)s.") % {"n": limit}
        )
    return text


def _get(tree, path: str):
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(tree: dict, path: str, value) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _unset(tree: dict, path: str) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.get(part)
        if not isinstance(node, dict):
            return
    node.pop(parts[-1], None)


def _number(raw: str):
    """A typed number; anything else is passed on as text for validate_policy to name."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return raw
    return value if math.isfinite(value) else raw


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _policy_paths() -> list[tuple[str, str]]:
    """Every input of the form as (path, label), in the order the form shows them."""
    paths = [(f"weights.{factor}", str(label)) for factor, label in FACTORS.items()]
    paths += [(path, str(label)) for path, label in PARAM_FIELDS + CREDIT_FIELDS]
    for tier in ranking.TIERS:
        paths.append(
            (f"params.tiers.{tier}.interval_days", _("Tier %(tier)s: interval (days)") % {"tier": tier})
        )
        paths.append((f"params.tiers.{tier}.draw_ratio", _("Tier %(tier)s: draw ratio") % {"tier": tier}))
    for level in RISK_LEVELS:
        for rating in RATINGS:
            paths.append((f"params.matrix.{level}.{rating}", f"{level}/{rating}"))
    return paths


def _policy_form(values: dict, errors: dict) -> dict:
    """The inputs grouped for the template: each with name, label, value and its error."""
    fields = {
        path: {"name": path, "label": label, "value": values.get(path, ""), "error": errors.get(path)}
        for path, label in _policy_paths()
    }
    matrix = [
        {
            "level": label,
            "cells": [fields[f"params.matrix.{level}.{rating}"] for rating in RATINGS],
        }
        for level, label in RiskLevel.choices
    ]
    known = set(fields)
    return {
        "weights": [fields[f"weights.{factor}"] for factor in FACTORS],
        "params": [fields[path] for path, _label in PARAM_FIELDS],
        "credit": [fields[path] for path, _label in CREDIT_FIELDS],
        "tiers": [
            {
                "tier": tier,
                "interval": fields[f"params.tiers.{tier}.interval_days"],
                "ratio": fields[f"params.tiers.{tier}.draw_ratio"],
            }
            for tier in ranking.TIERS
        ],
        "matrix": matrix,
        "ratings": RATINGS,
        # Problems of a whole group ("weights", "params.risk_thresholds"): shown above the form.
        "other_errors": sorted((path, text) for path, text in errors.items() if path not in known),
    }


def _values_of(policy: ScoringPolicy) -> dict:
    tree = {"weights": policy.weights, "params": policy.params}
    return {path: _display(_get(tree, path)) for path, _label in _policy_paths()}


def _policy_from_post(post, base: ScoringPolicy) -> tuple[dict, dict, dict]:
    """(weights, params, values): the base version's parameters with the form's inputs laid over
    them (parameters the form does not show are kept). A blank input is left out, so validation
    names it as missing — except a tier's interval, where blank means random draws only."""
    tree = {"weights": {}, "params": copy.deepcopy(base.params)}
    values = {}
    for path, _label in _policy_paths():
        raw = post.get(path, "").strip()
        values[path] = raw
        if raw:
            _set(tree, path, _number(raw))
        elif path in OPTIONAL_FIELDS:
            _set(tree, path, None)
        else:
            _unset(tree, path)
    return tree["weights"], tree["params"], values


@login_required
@require_GET
def policy_list(request):
    _ranking_only(request.user)
    page = Page(
        ScoringPolicy.objects.select_related("created_by", "adopted_by").order_by("-version"),
        page=_page_number(request),
        page_size=PAGE_SIZE,
    )
    context = {
        "page": page,
        "current": scoring.current_policy(),
        "runs": list(ScoreRun.objects.select_related("policy", "requested_by").order_by("-created_at")[:10]),
        "active_run": rescoring.score_run_active(),
        "can_manage": permissions.can_manage_scoring(request.user),
    }
    return render(request, "risk/policy_list.html", context)


def _weights_table(policy: ScoringPolicy) -> list[dict]:
    total = sum(float(v) for v in policy.weights.values()) or 1.0
    return [
        {
            "name": factor,
            "label": label,
            "weight": policy.weights.get(factor),
            "share": 100.0 * float(policy.weights.get(factor, 0)) / total,
        }
        for factor, label in FACTORS.items()
    ]


@login_required
@require_GET
def policy_detail(request, version: int):
    _ranking_only(request.user)
    policy = get_object_or_404(
        ScoringPolicy.objects.select_related("created_by", "adopted_by"), version=version
    )
    values = _values_of(policy)
    context = {
        "policy": policy,
        "current": scoring.current_policy(),
        "weights": _weights_table(policy),
        "form": _policy_form(values, {}),
        "can_manage": permissions.can_manage_scoring(request.user),
    }
    return render(request, "risk/policy_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def policy_new(request):
    _ranking_only(request.user)
    if not permissions.can_manage_scoring(request.user):
        return _forbidden(request)
    source = request.POST.get("from") or request.GET.get("from")
    base = None
    if source and source.isdigit():
        base = ScoringPolicy.objects.filter(version=int(source)).first()
    base = base or scoring.current_policy()
    values, errors, status = _values_of(base), {}, 200
    note, adopt = "", False
    message = None
    if request.method == "POST":
        weights, params, values = _policy_from_post(request.POST, base)
        note = request.POST.get("note", "").strip()[:300]
        adopt = request.POST.get("adopt") == "1"
        try:
            policy = scoring.policy_create(
                actor=request.user, weights=weights, params=params, note=note, adopt=adopt
            )
        except DomainError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            errors = {path: _reason(str(text)) for path, text in details.items()}
            message, status = exc.message, exc.status
        else:
            if adopt:
                messages.success(
                    request, _("Version %(v)s is now the current policy.") % {"v": policy.version}
                )
            else:
                messages.success(
                    request, _("Version %(v)s was saved as a candidate.") % {"v": policy.version}
                )
            return redirect("ranking:policy", version=policy.version)
    context = {
        "base": base,
        "form": _policy_form(values, errors),
        "note": note,
        "adopt": adopt,
        "message": message,
    }
    return render(request, "risk/policy_form.html", context, status=status)


@login_required
@require_POST
def policy_adopt(request, version: int):
    _ranking_only(request.user)
    if not permissions.can_manage_scoring(request.user):
        return _forbidden(request)
    policy = get_object_or_404(ScoringPolicy, version=version)
    try:
        adopted = scoring.policy_adopt(actor=request.user, policy=policy)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("ranking:policy", version=policy.version)
    messages.success(
        request,
        _("Version %(v)s is now the current policy. Recompute the scores to apply it.")
        % {"v": adopted.version},
    )
    return redirect("ranking:policy", version=adopted.version)


# --- recompute -----------------------------------------------------------------------------------------


@login_required
@require_POST
def recompute(request):
    _ranking_only(request.user)
    if not permissions.can_manage_scoring(request.user):
        return _forbidden(request)
    try:
        run = rescoring.score_run_start(actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        active = (exc.details or {}).get("run") if isinstance(exc.details, dict) else None
        return redirect("ranking:run", pk=active) if active else redirect("ranking:policies")
    return redirect("ranking:run", pk=run.pk)


@login_required
@require_GET
def scorerun_detail(request, pk: int):
    _ranking_only(request.user)
    run = get_object_or_404(ScoreRun.objects.select_related("policy", "requested_by"), pk=pk)
    context = {
        "run": run,
        "active": run.status in rescoring.ACTIVE,
        "percent": round(100 * run.done / run.total) if run.total else 0,
    }
    return render(request, "risk/scorerun_detail.html", context)
