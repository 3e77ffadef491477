"""The back-test page: run a policy (or two, side by side) on a window of history, see the result
as a table and a chart, keep every run, and fit a calibrated candidate policy.

For those who may manage scoring (core.permissions.can_manage_scoring); anyone else signed in gets
403. The back-test runs inside the request: on a city's history one window takes a second or two
(one scoring query per 5,000 enterprises inspected in it), and the window is capped at
supervision.risk.backtest.MAX_DAYS.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.pages import paginate
from supervision.models import BacktestRun, ScoringPolicy
from supervision.risk import backtest as service
from supervision.risk import calibration
from supervision.risk.forms import BacktestForm, CalibrateForm
from supervision.risk.scoring import current_policy
from supervision.risk.views.gates import scoring_managers_only

PAGE_SIZE = 20
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
COLORS = {"actual": "#5c6b7a", "random": "#a86400", "a": "#0b5cad", "b": "#1e7d32"}
DASHES = {"actual": "6 4", "random": "2 4", "a": "", "b": ""}


def _form_values(source, last: BacktestRun | None) -> dict:
    return {
        "start": source.get("start", last.start.isoformat() if last else ""),
        "days": source.get("days", str(last.days) if last else "61"),
        "a": source.get("a", str(current_policy().version)),
        "b": source.get("b", ""),
    }


def _render_index(request, *, values, error=None, calibrate_error=None, calibrate_values=None, status=200):
    page = paginate(
        request,
        BacktestRun.objects.select_related("policy", "created_by").order_by("-created_at", "-pk"),
        page_size=PAGE_SIZE,
    )
    context = {
        "values": values,
        "error": error,
        "calibrate_error": calibrate_error,
        "calibrate": calibrate_values or {"before": values.get("start", ""), "months": "12", "note": ""},
        "policies": ScoringPolicy.objects.order_by("-version"),
        # The newest calibrated versions, to read what they learnt before comparing them.
        "carded": list(ScoringPolicy.objects.exclude(model_card={}).order_by("-version")[:5]),
        "current": current_policy(),
        "max_days": service.MAX_DAYS,
        "max_months": calibration.MAX_MONTHS,
        "page": page,
    }
    return render(request, "risk/backtest.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def backtest_index(request):
    scoring_managers_only(request.user)
    last = BacktestRun.objects.order_by("-created_at", "-pk").first()
    if request.method == "GET":
        return _render_index(request, values=_form_values(request.GET, last))
    # A field left out of the form takes the value the page would have shown for it.
    values = _form_values(request.POST, last)
    form = BacktestForm(values)
    try:
        if not form.is_valid():
            raise form.refusal()
        data = form.cleaned_data
        runs = [
            service.backtest_run(actor=request.user, start=data["start"], days=data["days"], policy=policy)
            for policy in (data["a"], data["b"])
            if policy is not None
        ]
    except DomainError as exc:
        return _render_index(request, values=values, error=exc, status=exc.status)
    url = reverse("backtest:detail", kwargs={"pk": runs[0].pk})
    return redirect(f"{url}?{urlencode({'vs': runs[1].pk})}" if len(runs) > 1 else url)


@login_required
@require_POST
def backtest_calibrate(request):
    scoring_managers_only(request.user)
    values = {
        key: request.POST.get(key, default)
        for key, default in (("before", ""), ("months", "12"), ("note", ""))
    }
    form = CalibrateForm(values)
    try:
        if not form.is_valid():
            raise form.refusal()
        report = calibration.policy_calibrate(actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        last = BacktestRun.objects.order_by("-created_at", "-pk").first()
        return _render_index(
            request,
            values=_form_values({}, last),
            calibrate_error=exc,
            calibrate_values=values,
            status=exc.status,
        )
    before = form.cleaned_data["before"]
    weights = ", ".join(f"{factor} {weight:g}" for factor, weight in report.weights.items())
    messages.success(
        request,
        _(
            "Candidate version %(version)s was fitted on %(n)d inspections before %(before)s "
            "(not adopted): %(weights)s. Back-test it against the current policy below."
        )
        % {"version": report.policy.version, "n": report.n, "before": before, "weights": weights},
    )
    query = {"start": before.isoformat(), "days": "61", "a": report.base.version, "b": report.policy.version}
    return redirect(f"{reverse('backtest:index')}?{urlencode(query)}")


@login_required
@require_GET
def backtest_detail(request, pk: int):
    scoring_managers_only(request.user)
    run = get_object_or_404(BacktestRun.objects.select_related("policy", "created_by"), pk=pk)
    other = None
    vs = request.GET.get("vs", "")
    if vs.isdigit():
        # Only a run of the same window and seed compares: its actual and random lines are the same.
        other = (
            BacktestRun.objects.select_related("policy")
            .filter(pk=int(vs), start=run.start, days=run.days)
            .exclude(pk=run.pk)
            .first()
        )
        if other is not None and other.result.get("seed") != run.result.get("seed"):
            other = None
    runs = [run] + ([other] if other else [])
    context = {
        "run": run,
        "other": other,
        "end": run.start + timedelta(days=run.days - 1),
        "actual_share": f"{run.result['first_half_share_actual']:.1%}",
        "table": _metrics_table(runs),
        "chart": _chart(run, other),
    }
    return render(request, "risk/backtest_detail.html", context)


def _metrics_table(runs: list[BacktestRun]) -> list[dict]:
    """Rows of the comparison: one cell per policy, then the random baseline's."""
    first = runs[0].result

    def cells(key, form, random_value):
        return [form.format(run.result[key]) for run in runs] + [
            form.format(random_value) if random_value is not None else "–"
        ]

    return [
        {
            "label": _("Critical found earlier (days, mean)"),
            "cells": cells("days_earlier", "{:+.2f}", first["random_days_earlier"]),
        },
        {
            "label": _("Critical inspections in the first half of the window"),
            "cells": cells("first_half_share_ranked", "{:.1%}", first.get("first_half_share_random")),
        },
        {"label": _("AUC of the score for a critical finding"), "cells": cells("auc", "{:.3f}", 0.5)},
    ]


def _chart(run: BacktestRun, other: BacktestRun | None) -> dict:
    """Geometry of the inline SVG: cumulative share of critical inspections found by day."""
    days = run.days
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: float) -> float:
        return round(LEFT + plot_w * day / days, 1)

    def y(share: float) -> float:
        return round(TOP + plot_h * (1 - share), 1)

    def points(values: list[float]) -> str:
        # Day d's value is the share found by the end of day d: the curve starts at 0 at the start.
        return " ".join(f"{x(d)},{y(v)}" for d, v in [(0, 0.0), *((d + 1, v) for d, v in enumerate(values))])

    series = run.result["series"]
    lines = [
        {"key": "actual", "label": _("Real order"), "values": series["actual"]},
        {"key": "random", "label": _("Random order (mean)"), "values": series["random"]},
        {"key": "a", "label": _("Policy v%(v)s") % {"v": run.policy.version}, "values": series["ranked"]},
    ]
    if other is not None:
        lines.append(
            {
                "key": "b",
                "label": _("Policy v%(v)s") % {"v": other.policy.version},
                "values": other.result["series"]["ranked"],
            }
        )
    for index, line in enumerate(lines):
        line.update(
            points=points(line["values"]),
            color=COLORS[line["key"]],
            dash=DASHES[line["key"]],
            legend_y=HEIGHT - BOTTOM - 12 - 18 * (len(lines) - 1 - index),
        )
    step = next(s for s in (1, 7, 14, 30, 61, 91, 183) if days / s <= 10)
    x_ticks = [
        {"x": x(d), "label": (run.start + timedelta(days=d)).strftime("%m-%d")} for d in range(0, days, step)
    ]
    y_ticks = [{"y": y(share), "label": f"{share:.0%}"} for share in (0, 0.25, 0.5, 0.75, 1.0)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "half": x(days / 2),
        "lines": lines,
        "x_ticks": x_ticks,
        "y_ticks": y_ticks,
        "legend_x": WIDTH - RIGHT - 190,
        "label_y": HEIGHT - BOTTOM + 16,
        "axis_y": HEIGHT - 6,
    }
