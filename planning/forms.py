"""The forms of the planning pages: a risk-driven plan, a double-random draw, a declared conflict.

A page shows one refusal (planning/_error.html: its message and code) with its status, as the API
answers. So a form checks its fields in the order the page always checked them (the area before
the dates, the dates before the numbers), and ``arguments()`` raises the first problem as the
service would have: a DomainError with its code and status.
"""

import functools
from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import permissions
from core import selectors as core_selectors
from core.errors import DomainError
from planning import draws
from planning.common import area_resolve, refuse, scene_resolve

PERIOD_FROM = gettext_lazy("start of the period")
PERIOD_TO = gettext_lazy("end of the period")


def iso_date(raw: str, label) -> date:
    """A date as a date input sends it (YYYY-MM-DD)."""
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        raise refuse(_("Give the %(field)s as a date.") % {"field": label}, "invalid_date") from None


def whole_number(raw: str, label, *, optional: bool = False) -> int | None:
    raw = (raw or "").strip()
    if not raw and optional:
        return None
    try:
        return int(raw)
    except ValueError:
        raise refuse(
            _("Give the %(field)s as a whole number.") % {"field": label}, "invalid_number"
        ) from None


def refusing(clean):
    """A ``clean_<field>`` method that calls what raises DomainErrors: the error goes on the field,
    and is kept as raised (code and status) for ``arguments()``."""
    name = clean.__name__.removeprefix("clean_")

    @functools.wraps(clean)
    def checked(form):
        try:
            return clean(form)
        except DomainError as exc:
            form.refusals.setdefault(name, exc)
            raise forms.ValidationError(exc.message, code=exc.code) from None

    return checked


def _text() -> forms.CharField:
    # Never required: an empty value is refused by the parser or the service, with their message.
    return forms.CharField(required=False)


class PlanningForm(forms.Form):
    def __init__(self, data=None, *, actor, **kwargs):
        super().__init__(data, **kwargs)
        self.actor = actor
        self.refusals: dict[str, DomainError] = {}

    def arguments(self) -> dict:
        """The service's keyword arguments; raises the first problem, in field order, if any."""
        if self.is_valid():
            return self.cleaned_data
        name, errors = next(iter(self.errors.as_data().items()))
        raise self.refusals.get(name) or refuse(errors[0].messages[0], errors[0].code)

    def values(self) -> dict:
        """What the form's inputs show: the initial values, or those posted."""
        if not self.is_bound:
            return dict(self.initial)
        # Text inputs; a form with others (DrawForm's checkboxes) adds those.
        return {
            name: self.data.get(name, "").strip()
            for name, value in self.initial.items()
            if isinstance(value, str)
        }


class AreaForm(PlanningForm):
    """What a plan and a draw share (planning/_area_fields.html): the department and district,
    resolved to an Area in the actor's scope, the period and the team size."""

    department = _text()
    district = _text()
    period_from = _text()
    period_to = _text()
    inspectors_per_task = _text()
    max_tasks_per_inspector = _text()

    MAX_TASKS_OPTIONAL = True
    MAX_TASKS_DEFAULT = ""

    def __init__(self, data=None, *, actor, scope: permissions.PlanningScope, **kwargs):
        initial = {
            "department": scope.department.code if scope.department else "",
            "district": scope.district.code if scope.district else "",
            "period_from": timezone.localdate().isoformat(),
            "period_to": "",
            "inspectors_per_task": "2",
            "max_tasks_per_inspector": self.MAX_TASKS_DEFAULT,
        }
        super().__init__(data, actor=actor, initial=initial, **kwargs)

    @refusing
    def clean_district(self):
        return area_resolve(
            actor=self.actor,
            department=self.cleaned_data.get("department", ""),
            district=self.cleaned_data["district"],
        )

    @refusing
    def clean_period_from(self):
        return iso_date(self.cleaned_data["period_from"], PERIOD_FROM)

    @refusing
    def clean_period_to(self):
        return iso_date(self.cleaned_data["period_to"], PERIOD_TO)

    @refusing
    def clean_inspectors_per_task(self):
        return whole_number(self.cleaned_data["inspectors_per_task"], gettext_lazy("inspectors per task"))

    @refusing
    def clean_max_tasks_per_inspector(self):
        return whole_number(
            self.cleaned_data["max_tasks_per_inspector"],
            gettext_lazy("most tasks per inspector"),
            optional=self.MAX_TASKS_OPTIONAL,
        )

    def clean(self):
        # The services take the Area clean_district resolved from both codes.
        data = super().clean()
        data.pop("department", None)
        if "district" in data:
            data["area"] = data.pop("district")
        return data


class PlanForm(AreaForm):
    capacity = _text()

    field_order = [
        "department",
        "district",
        "period_from",
        "period_to",
        "capacity",
        "inspectors_per_task",
        "max_tasks_per_inspector",
    ]

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.initial["capacity"] = ""

    @refusing
    def clean_capacity(self):
        return whole_number(self.cleaned_data["capacity"], gettext_lazy("capacity"))


class DrawForm(AreaForm):
    """A draw: the area, the tiers in the pool with the share of each to draw (``ratio_<tier>``,
    empty for the policy's), the scene, the period and the team."""

    # Every checked value as posted (a list), parsed by clean_tiers.
    tiers = forms.Field(required=False, widget=forms.CheckboxSelectMultiple)
    scene = _text()

    MAX_TASKS_OPTIONAL = False
    MAX_TASKS_DEFAULT = str(draws.DEFAULT_MAX_TASKS)
    field_order = [
        "department",
        "district",
        "tiers",
        "scene",
        "period_from",
        "period_to",
        "inspectors_per_task",
        "max_tasks_per_inspector",
    ]

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        for tier in draws.TIERS:
            self.fields[f"ratio_{tier}"] = _text()
        self.initial.update(
            scene="",
            tiers=[str(tier) for tier in draws.TIERS],
            ratios=dict.fromkeys((str(tier) for tier in draws.TIERS), ""),
        )

    @refusing
    def clean_tiers(self):
        try:
            tiers = sorted({int(tier) for tier in self.cleaned_data["tiers"] or []})
        except ValueError:
            raise refuse(_("Tiers are 1 to 4."), "invalid_tiers") from None
        if not tiers:
            raise refuse(_("Choose at least one tier."), "invalid_tiers")
        return tiers

    @refusing
    def clean_scene(self):
        area = self.cleaned_data.get("district")
        return scene_resolve(area=area, scene=self.cleaned_data["scene"]) if area else None

    def clean(self):
        data = super().clean()
        tiers = data.get("tiers") or []
        ratios = {str(tier): data.pop(f"ratio_{tier}", "") for tier in draws.TIERS}
        data["ratios"] = {tier: ratio for tier, ratio in ratios.items() if ratio and int(tier) in tiers}
        return data

    def values(self) -> dict:
        values = super().values()
        if self.is_bound:
            values["tiers"] = self.data.getlist("tiers")
            values["ratios"] = {str(tier): self.data.get(f"ratio_{tier}", "").strip() for tier in draws.TIERS}
        return values


class ConflictForm(PlanningForm):
    """An inspector declares a conflict of interest with an enterprise (by its credit code)."""

    enterprise = _text()
    reason = _text()

    def __init__(self, data=None, *, actor, **kwargs):
        super().__init__(data, actor=actor, initial={"enterprise": "", "reason": ""}, **kwargs)

    @refusing
    def clean_enterprise(self):
        return core_selectors.enterprise_get(user=self.actor, uscc=self.cleaned_data["enterprise"])
