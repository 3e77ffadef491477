"""Regulators' pages for the scoring policy: its versions, one version, the form for a new one,
adopting a candidate, and the background recompute that applies the current policy.

Regulators and platform admins see them (anyone else gets 404, as for a page that does not exist);
changing the policy or starting a recompute is for core.permissions.can_manage_scoring (403
otherwise), see supervision.risk.views.gates.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import permissions
from core.errors import DomainError
from core.pages import paginate
from supervision.models import RiskLevel, ScoreRun, ScoringPolicy
from supervision.risk import model_card, offsite, scoring
from supervision.risk import selectors as ranking
from supervision.risk import services as rescoring
from supervision.risk.forms import (
    CREDIT_FIELDS,
    OFFSITE_PATH,
    PARAM_FIELDS,
    PolicyForm,
    policy_paths,
    policy_values,
)
from supervision.risk.scoring import RATINGS
from supervision.risk.selectors import TIERS
from supervision.risk.views.gates import ranking_only, scoring_managers_only

PAGE_SIZE = 50


# --- policies ------------------------------------------------------------------------------------------


def _offsite_errors(errors: dict) -> list[dict]:
    """Problems of one off-site definition ("params.offsite.2.radius_m") as (factor number from 1,
    key, problem), in order."""
    found = []
    for path, text in errors.items():
        if path.startswith(OFFSITE_PATH + "."):
            index, _dot, key = path.removeprefix(OFFSITE_PATH + ".").partition(".")
            number = int(index) + 1 if index.isdigit() else 0
            found.append({"number": number, "key": key, "text": text})
    return sorted(found, key=lambda e: (e["number"], e["key"]))


def _policy_form(values: dict, errors: dict, paths: list[tuple[str, str]]) -> dict:
    """The inputs grouped for the template: each with name, label, value and its error."""
    fields = {
        path: {"name": path, "label": label, "value": values.get(path, ""), "error": errors.get(path)}
        for path, label in paths
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
        "weights": [fields[path] for path, _label in paths if path.startswith("weights.")],
        "offsite": fields[OFFSITE_PATH],
        # Problems of one definition ("params.offsite.2.radius_m"), listed under the text area.
        "offsite_errors": _offsite_errors(errors),
        "params": [fields[path] for path, _label in PARAM_FIELDS],
        "credit": [fields[path] for path, _label in CREDIT_FIELDS],
        "tiers": [
            {
                "tier": tier,
                "interval": fields[f"params.tiers.{tier}.interval_days"],
                "ratio": fields[f"params.tiers.{tier}.draw_ratio"],
            }
            for tier in TIERS
        ],
        "matrix": matrix,
        "ratings": RATINGS,
        # Problems of a whole group ("weights", "params.risk_thresholds"): shown above the form.
        "other_errors": sorted(
            (path, text)
            for path, text in errors.items()
            if path not in known and not path.startswith(OFFSITE_PATH + ".")
        ),
    }


@login_required
@require_GET
def policy_list(request):
    ranking_only(request.user)
    page = paginate(
        request,
        ScoringPolicy.objects.select_related("created_by", "adopted_by").order_by("-version"),
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
    kinds = {d["name"]: d["type"] for d in offsite.definitions(policy.params)}
    return [
        {
            "name": factor,
            "label": label,
            "kind": offsite.TYPES.get(kinds.get(factor)),
            "weight": policy.weights.get(factor),
            "share": 100.0 * float(policy.weights.get(factor, 0)) / total,
        }
        for factor, label in ranking.factor_labels(policy).items()
    ]


def _definitions_table(policy: ScoringPolicy) -> list[dict]:
    """Each off-site factor as the policy declares it: its label, type and settings."""
    return [
        {
            "name": d["name"],
            "label": offsite.label(d),
            "type": offsite.TYPES.get(d["type"], d["type"]),
            "settings": {key: value for key, value in d.items() if key not in offsite.COMMON_KEYS},
        }
        for d in offsite.definitions(policy.params)
    ]


@login_required
@require_GET
def policy_detail(request, version: int):
    ranking_only(request.user)
    policy = get_object_or_404(
        ScoringPolicy.objects.select_related("created_by", "adopted_by"), version=version
    )
    context = {
        "policy": policy,
        "current": scoring.current_policy(),
        "weights": _weights_table(policy),
        "definitions": _definitions_table(policy),
        "penalty_kinds": offsite.penalty_kinds(policy.params),
        "form": _policy_form(policy_values(policy), {}, policy_paths(offsite.definitions(policy.params))),
        "can_manage": permissions.can_manage_scoring(request.user),
    }
    return render(request, "risk/policy_detail.html", context)


@login_required
@require_GET
def policy_card(request, version: int):
    """A calibrated version's model card: what it learnt, from which data, how sure it is."""
    ranking_only(request.user)
    policy = get_object_or_404(ScoringPolicy.objects.select_related("created_by"), version=version)
    if not policy.model_card:
        raise Http404
    context = {
        "policy": policy,
        "current": scoring.current_policy(),
        "card": model_card.view(policy),
        "can_manage": permissions.can_manage_scoring(request.user),
    }
    return render(request, "risk/policy_card.html", context)


@login_required
@require_POST
def policy_offsite_example(request):
    ranking_only(request.user)
    scoring_managers_only(request.user)
    policy = scoring.policy_offsite_example(actor=request.user)
    messages.success(
        request,
        _(
            "Version %(v)s adds the example off-site factors to the current policy, as a candidate: "
            "back-test it, calibrate it, then adopt it."
        )
        % {"v": policy.version},
    )
    return redirect("ranking:policy", version=policy.version)


@login_required
@require_http_methods(["GET", "POST"])
def policy_new(request):
    ranking_only(request.user)
    scoring_managers_only(request.user)
    source = request.POST.get("from") or request.GET.get("from")
    base = None
    if source and source.isdigit():
        base = ScoringPolicy.objects.filter(version=int(source)).first()
    base = base or scoring.current_policy()
    values, errors, status = policy_values(base), {}, 200
    paths = policy_paths(offsite.definitions(base.params))
    note, adopt = "", False
    message = None
    if request.method == "POST":
        # Its inputs are never refused by the form itself: validate_policy names every problem.
        form = PolicyForm(request.POST, base=base)
        form.is_valid()
        data = form.cleaned_data
        values, note, adopt = form.values(), data["note"], data["adopt"]
        paths = form.paths
        try:
            policy = scoring.policy_create(
                actor=request.user, weights=data["weights"], params=data["params"], note=note, adopt=adopt
            )
        except DomainError as exc:
            errors = form.problems(exc)
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
        "form": _policy_form(values, errors, paths),
        "note": note,
        "adopt": adopt,
        "message": message,
    }
    return render(request, "risk/policy_form.html", context, status=status)


@login_required
@require_POST
def policy_adopt(request, version: int):
    ranking_only(request.user)
    scoring_managers_only(request.user)
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
    ranking_only(request.user)
    scoring_managers_only(request.user)
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
    ranking_only(request.user)
    run = get_object_or_404(ScoreRun.objects.select_related("policy", "requested_by"), pk=pk)
    context = {
        "run": run,
        "active": run.status in rescoring.ACTIVE,
        "percent": round(100 * run.done / run.total) if run.total else 0,
    }
    return render(request, "risk/scorerun_detail.html", context)
