"""Regulators' desktop pages for risk, credit and tiers: the ranking with its filters, exports and
distribution chart, and one enterprise's breakdown (with credit events). The scoring policy versions
and the background recompute are in supervision.risk.views.policies.

Only regulators and platform admins reach them (anyone else gets 404, as for a page that does not
exist); every row is limited to the user's scope by supervision.risk.permissions.scores_visible_to.
Exports are data leaving the system, so each one is written to the audit chain with its filters.
"""

import csv
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import floatformat
from django.utils import formats, timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook

from core import permissions
from core.audit import audit_record
from core.errors import DomainError
from core.models import Department, District, Enterprise, Scene
from core.pages import add_domain_error, paginate
from core.pagination import Page, PageUrls
from supervision.models import CreditEvent, CreditRating, EnterpriseScore, RectificationOrder, RiskLevel
from supervision.risk import offsite, scoring
from supervision.risk import selectors as ranking
from supervision.risk import services as rescoring
from supervision.risk.forms import CreditEventForm, errors_by_field
from supervision.risk.scoring import FACTORS
from supervision.risk.views.gates import forbidden, ranking_only

PAGE_SIZE = 50
# A spreadsheet of more rows is slow to build and to open; CSV streams any size.
XLSX_MAX_ROWS = 100_000
FILTER_KEYS = ("district", "scene", "department", "tier", "risk_level", "credit", "order", "licence")
ORDER_LABELS = {
    "risk": gettext_lazy("Risk score"),
    "tier": gettext_lazy("Tier"),
    "credit": gettext_lazy("Credit rating"),
    "overdue": gettext_lazy("Overdue orders"),
}
LICENCE_LABELS = {
    "open": gettext_lazy("Open businesses (licence active)"),
    "closed": gettext_lazy("Closed: licence suspended, revoked or deregistered"),
    "all": gettext_lazy("Every licence status"),
}


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
    ranking_only(request.user)
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
        rows = ranking.WithOpenOrders(ranking.ranking(user=request.user, filters=filters))
        page = paginate(request, rows, page_size=PAGE_SIZE)
    offset = (page.number - 1) * PAGE_SIZE
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    # The pager and the export links keep the filters, never the format of a refused export.
    page.query = query.urlencode()
    # Which list the heading names: the parsed filter, or (a refused filter) the one typed if valid.
    listing = filters.licence if filters else raw["licence"] if raw["licence"] in ranking.LICENCES else "open"
    closed = query.copy()
    closed["licence"] = "closed"
    # The off-site factors of the policies that computed the rows shown (no query: rows carry them).
    offsite_count = max((len(offsite.names(score.policy.params)) for score in page.items), default=0)
    labels = {}  # per policy, escaped: the rows of a page share one or two
    for score in page.items:
        if score.policy_id not in labels:
            labels[score.policy_id] = {
                factor: escape(str(label)) for factor, label in ranking.factor_labels(score.policy).items()
            }
    context = {
        "page": page,
        "rows": _table_rows(page.items, offset=offset, labels=labels),
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
        "orders": [(name, label, _(ranking.ORDER_MEANINGS[name])) for name, label in ORDER_LABELS.items()],
        "order_meaning": _(ranking.ORDER_MEANINGS[filters.order if filters else "risk"]),
        "licences": list(LICENCE_LABELS.items()),
        "listing": listing,
        "closed_query": closed.urlencode(),
        "due": _due(page.items),
        "factors": [
            *((name, label, f"f-{name}") for name, label in FACTORS.items()),
            *_offsite_legend(offsite_count),
        ],
        "offsite_count": offsite_count,
        "xlsx_max": XLSX_MAX_ROWS,
        "can_manage": permissions.can_manage_scoring(request.user),
    }
    return render(request, "risk/ranking.html", context, status=status)


# One row of the ranking's table: _table_rows fills it. Plain text, then one mark_safe per row, like
# _bars: a page of 50 rows of 12 cells was some 1,600 template variables, tags and filters, more than
# half of the page's time. Every value is escaped as the template escaped it; the cells' labels and
# the follow-up's messages are translations, trusted as {% translate %} and {% blocktranslate %}
# trust them. risk/ranking.html holds the rest of the page, the table's head included.
_ROW = (
    '\n    <tr data-uscc="{uscc}">'
    '\n      <td class="rk-num" data-label="#">{position}</td>'
    '\n      <td data-label="{l_enterprise}"><a href="{url}">{name}</a><br>'
    '<span class="muted mono small">{uscc}</span>{closed}</td>'
    '\n      <td class="rk-nowrap" data-label="{l_district}">{district}</td>'
    '\n      <td class="rk-nowrap" data-label="{l_scene}">{scene}</td>'
    '\n      <td class="rk-num" data-label="{l_risk_score}">{risk}</td>'
    '\n      <td data-label="{l_factors}"><svg class="rk-stack" viewBox="0 0 100 10" '
    'preserveAspectRatio="none" role="img" aria-label="{l_factors}">{bars}</svg></td>'
    '\n      <td data-label="{l_risk_level}"><span class="badge risk-{level}">{level_label}</span></td>'
    '\n      <td data-label="{l_credit_rating}"><span class="badge credit-{credit}">{credit}</span></td>'
    '\n      <td data-label="{l_tier}"><span class="badge tier-{tier}">{tier}</span></td>'
    '\n      <td class="rk-num" data-label="{l_overdue_orders}">{overdue}</td>'
    '\n      <td class="rk-follow" data-label="{l_follow_up}">{follow_up}</td>'
    '\n      <td class="rk-nowrap" data-label="{l_last_inspected_on}">{last_inspected}</td>'
    "\n    </tr>\n  "
)


def _filled(message: str, **values: str) -> SafeString:
    """A translated message with its values (text), as {% blocktranslate %} renders it: each value
    escaped, the translation's own text as it is."""
    return mark_safe(message % {key: escape(value) for key, value in values.items()})


def _table_rows(scores, *, offset: int, labels: dict) -> list[dict]:
    """The page's rows: each score with its position, its factor bars (``labels``: per policy,
    escaped) and the row's HTML (``html``, from _ROW)."""
    text = {  # the cells' labels (shown on narrow screens), translated once, not once per row
        "l_credit_rating": _("Credit rating"),
        "l_district": _("District"),
        "l_enterprise": _("Enterprise"),
        "l_factors": _("Factors"),
        "l_follow_up": _("Follow-up"),
        "l_last_inspected_on": _("Last inspected on"),
        "l_overdue_orders": _("Overdue orders"),
        "l_risk_level": _("Risk level"),
        "l_risk_score": _("Risk score"),
        "l_scene": _("Scene"),
        "l_tier": _("Tier"),
    }
    # A whole number as the template shows it: localized (grouped) only if the settings group digits.
    whole = formats.localize if settings.USE_THOUSAND_SEPARATOR else str
    follow = {
        "url": PageUrls(ranking.ORDER_PAGE),
        "open": _("Open order %(number)s"),
        "due": _("due %(day)s"),
        "overdue": _("overdue"),
        "statuses": {value: str(label) for value, label in RectificationOrder.Status.choices},
        "whole": whole,
    }
    detail_url = PageUrls("ranking:detail")
    levels = {value: str(label) for value, label in RiskLevel.choices}
    licences = {value: str(label) for value, label in Enterprise.LicenceStatus.choices}
    rows = []
    for position, score in enumerate(scores, start=offset + 1):
        enterprise = score.enterprise
        bars = _bars(score, labels[score.policy_id])
        status = enterprise.licence_status
        last = score.last_inspected_on
        html = _ROW.format(
            **text,
            uscc=escape(enterprise.uscc),
            position=whole(position),
            url=escape(detail_url(enterprise.uscc)),
            name=escape(enterprise.name),
            closed=""
            if enterprise.is_visitable
            else f' <span class="badge licence-closed">{escape(licences.get(status, status))}</span>',
            district=escape(str(enterprise.district)),
            scene=escape(str(enterprise.scene)),
            risk=floatformat(score.risk, 1),
            bars=bars,
            level=escape(score.risk_level),
            level_label=escape(levels.get(score.risk_level, score.risk_level)),
            credit=escape(score.credit),
            tier=whole(score.tier),
            overdue=whole(score.overdue_orders),
            follow_up=_follow_up(score, follow),
            last_inspected=last.isoformat() if last else "–",
        )
        rows.append({"position": position, "score": score, "bars": bars, "html": mark_safe(html)})
    return rows


def _follow_up(score, follow: dict) -> str:
    """The row's follow-up cell: its earliest open order (selectors.open_orders_attach), when it is
    due, whether it is overdue or where it stands, and how many more are open."""
    order = score.open_order
    if order is None:
        return "–"
    day = timezone.localdate(order.deadline).isoformat()  # the local day, as the date filter shows it
    cell = (
        f'<a href="{escape(follow["url"](order.pk))}">{_filled(follow["open"], number=order.number)}</a><br>'
        f'<span class="small">{_filled(follow["due"], day=day)}'
    )
    if order.is_overdue:
        cell += f' <span class="badge risk-high">{follow["overdue"]}</span>'
    elif order.status != RectificationOrder.Status.ISSUED:
        cell += f" · {escape(follow['statuses'].get(order.status, order.status))}"
    if more := score.more_open_orders:
        cell += " · " + _filled(ngettext("and %(n)s more", "and %(n)s more", more), n=follow["whole"](more))
    return cell + "</span>"


def _due(scores) -> list[dict]:
    """How much of the score measures due-ness, under each policy that computed the rows shown
    (one, except while a recompute with a new policy is under way): no query, the rows carry it."""
    policies = {score.policy.version: score.policy for score in scores}
    return [
        {"version": version, "points": ranking.due_points(policy)}
        for version, policy in sorted(policies.items(), reverse=True)
    ]


_PLACES = {places: Decimal(1).scaleb(-places) for places in (1, 2)}
# A factor's class in the stylesheet (supervision/ranking.css); every off-site factor shares one.
_FACTOR_CSS = {factor: escape(f"f-{factor}") for factor in FACTORS}


def _fixed(value: float, places: int) -> str:
    """A number with ``places`` (1 or 2) decimals, rounded half up as the floatformat filter rounds:
    the shortest decimal that reads back as ``value`` (its repr), rounded half up.

    Python's own formatting rounds the float's exact binary value, to nearest: the same digits,
    except when the repr ends in a 5 just past ``places`` (0.125 gives 0.12 there, 0.13 here). Only
    those go through Decimal; a page has several hundred of these numbers."""
    text = repr(value)
    point = text.find(".")
    if point >= 0 and len(text) - point - 1 == places + 1 and text[-1] == "5":
        return str(Decimal(text).quantize(_PLACES[places], ROUND_HALF_UP))
    return f"{value:.{places}f}"


def _bars(score, labels: dict[str, str]) -> SafeString:
    """The score as a stacked bar on the 0-100 scale, one segment per contributing factor (drawn
    as SVG rectangles: the pages' CSP allows no inline styles). Off-site factors share a colour:
    a policy names them, the stylesheet cannot know them.

    Built here, not in the template: a page of 50 rows has several hundred segments, and the
    template's variable lookups and floatformat filters on each were most of the page's time."""
    segments, x = [], 0.0
    for factor, points in ranking.contributions(score).items():
        if points >= 0.05:
            # Plain text, then one mark_safe: format_html_join escaping every value was a fifth of
            # the page's time. The numbers are ours; the label (escaped by the caller, once per
            # policy, or here) and the class name are escaped.
            label = labels[factor] if factor in labels else escape(factor)
            segments.append(
                f'<rect class="{_FACTOR_CSS.get(factor, "f-offsite")}" x="{_fixed(x, 2)}" y="0" '
                f'width="{_fixed(points, 2)}" height="10"><title>{label}: {_fixed(points, 1)}</title></rect>'
            )
            x += points
    return mark_safe("".join(segments))  # every value above is escaped or a number


def _offsite_legend(count: int) -> list[tuple[str, str, str]]:
    return [("offsite", _("Other departments' data (each off-site factor)"), "f-offsite")] if count else []


# --- exports -------------------------------------------------------------------------------------------


def _header(names: list[str], labels: dict[str, str]) -> list[str]:
    """The columns of an export; ``names``: the current policy's off-site factors, one column
    each (a row scored under another policy leaves the ones it lacks blank)."""
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
        *(labels[name] for name in names),
        _("Other departments' data (points)"),
        _("Policy version"),
        _("As of"),
        _("Licence status"),
    ]


def _text(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet; a name must stay a name.
    return f"'{value}" if value[:1] in {"=", "+", "-", "@"} else value


def _rows(queryset, levels: dict, statuses: dict, names: list[str]):
    for position, score in enumerate(queryset.iterator(chunk_size=2000), start=1):
        enterprise = score.enterprise
        stored = score.offsite or {}
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
            *(round(getattr(score, f"risk_{factor}"), 2) for factor in FACTORS),
            *(round(float(stored[name]), 2) if name in stored else "" for name in names),
            round(score.risk_offsite, 2),
            score.policy.version,
            timezone.localtime(score.as_of).strftime("%Y-%m-%d %H:%M"),
            statuses.get(enterprise.licence_status, enterprise.licence_status),
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
    statuses = {value: str(label) for value, label in Enterprise.LicenceStatus.choices}
    policy = scoring.current_policy()
    names = offsite.names(policy.params)
    header = _header(names, ranking.factor_labels(policy))
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_lines(header, _rows(queryset, levels, statuses, names), translation.get_language()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="ranking-{stamp}.csv"'
        return response
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Risk ranking")[:31])
    sheet.append(header)
    for row in _rows(queryset, levels, statuses, names):
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
    ranking_only(request.user)
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
        "licences": list(LICENCE_LABELS.items()),
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
    ranking_only(request.user)
    return _render_detail(request, _ranked_enterprise(request, uscc))


@login_required
@require_POST
def credit_event_new(request, uscc: str):
    ranking_only(request.user)
    enterprise = _ranked_enterprise(request, uscc)
    if not permissions.can_record_credit_event(request.user, enterprise):
        raise forbidden()
    form = CreditEventForm(request.POST)
    if form.is_valid():
        try:
            rescoring.credit_event_record(actor=request.user, enterprise=enterprise, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The credit event was recorded and the score recomputed."))
            return redirect("ranking:detail", uscc=enterprise.uscc)
    errors = errors_by_field(form)
    return _render_detail(request, enterprise, values=form.values(), errors=errors, status=422)
