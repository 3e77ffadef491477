"""The monitor's forms: planning an inspection task, cancelling one, and the filters of the
inspectors' consistency report.

supervision.inspections.services judges the team, the window and the reason (with the messages
the API gives too); the forms that write only read what was posted, and refuse just a due window
they cannot read, before anything reaches the service. The report's filters are judged here: a
read has no service to refuse them.
"""

from datetime import date

from django import forms
from django.utils.translation import gettext as _

from core.forms import LenientDateField, TickedInspectorsField
from supervision.models import InspectionTask
from supervision.monitor import consistency


class TaskPlanForm(forms.Form):
    """The fields of supervision.inspections.services.task_create a regulator chooses."""

    inspectors = TickedInspectorsField(required=False, initial=list)
    due_from = LenientDateField(required=False)
    due_to = LenientDateField(required=False)
    source = forms.CharField(required=False, strip=False, initial=InspectionTask.Source.MANUAL)
    note = forms.CharField(required=False, strip=False, initial="")

    def clean(self):
        data = super().clean()
        if data.get("due_from") is None or data.get("due_to") is None:
            raise forms.ValidationError(_("Give both dates of the due window."), code="invalid_date")
        return data

    @property
    def refusal(self) -> forms.ValidationError | None:
        """The form's own refusal (a due window it cannot read), with its message and code."""
        errors = self.non_field_errors().as_data()
        return errors[0] if errors else None


class TaskCancelForm(forms.Form):
    reason = forms.CharField(required=False, strip=False)
    next = forms.CharField(required=False, strip=False)


class _CodeChoiceField(forms.ModelChoiceField):
    """A row chosen by its code; a value with a NUL byte is refused like any unknown code (PostgreSQL
    refuses NUL in text, and the lookup must never reach it)."""

    def to_python(self, value):
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ConsistencyFilterForm(forms.Form):
    """The filters of the inspectors' consistency report (supervision.monitor.consistency): the
    period (local dates, both included; the last 12 months by default), the inspectors' department
    and the visited enterprises' district (choices limited to the user's scope), the severity that
    counts, and the minimum sample for a flag."""

    # A date before 1990 or after 2100 is a typing slip, and midnight of year 1 or 9999 would not
    # convert to UTC.
    EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)

    def __init__(self, data, *, departments, districts, today: date):
        super().__init__(data)
        self.today = today
        date_errors = {"invalid": _("Give dates as YYYY-MM-DD.")}
        self.fields["from"] = forms.DateField(
            required=False, input_formats=["%Y-%m-%d"], error_messages=date_errors
        )
        self.fields["to"] = forms.DateField(
            required=False, input_formats=["%Y-%m-%d"], error_messages=date_errors
        )
        self.fields["department"] = _CodeChoiceField(
            queryset=departments,
            to_field_name="code",
            required=False,
            error_messages={"invalid_choice": _("Choose a department from the list.")},
        )
        self.fields["district"] = _CodeChoiceField(
            queryset=districts,
            to_field_name="code",
            required=False,
            error_messages={"invalid_choice": _("Choose a district from the list.")},
        )
        self.fields["severity"] = forms.ChoiceField(
            required=False,
            choices=[("", ""), *consistency.SEVERITY_LABELS.items()],
            error_messages={"invalid_choice": _("Choose a severity from the list.")},
        )
        low, high = consistency.MINIMUM_RANGE
        self.fields["minimum"] = forms.IntegerField(
            required=False,
            min_value=low,
            max_value=high,
            error_messages={
                "invalid": _("Give the minimum number of inspections as a whole number."),
                "min_value": _("The minimum number of inspections is at least %(limit_value)s."),
                "max_value": _("The minimum number of inspections is at most %(limit_value)s."),
            },
        )

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not self.EARLIEST <= day <= self.LATEST:
            raise forms.ValidationError(
                _("Give a date between %(first)s and %(last)s.")
                % {"first": self.EARLIEST.isoformat(), "last": self.LATEST.isoformat()},
                code="invalid_date",
            )
        return day

    def clean_from(self):
        return self._clean_day("from")

    def clean_to(self):
        return self._clean_day("to")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        first, last = data.get("from"), data.get("to")
        if first is None and last is None:
            first, last = consistency.default_period(self.today)
        elif first is None:
            first = consistency.default_period(last)[0]
        elif last is None:
            last = max(first, self.today)
        if last < first:
            raise forms.ValidationError(_("The date range ends before it starts."), code="invalid_range")
        data["from"], data["to"] = first, last
        data["severity"] = data.get("severity") or "critical"
        if data.get("minimum") is None:
            data["minimum"] = consistency.DEFAULT_MINIMUM
        return data

    def report_arguments(self) -> dict:
        """consistency.consistency_report's keyword arguments (after is_valid())."""
        data = self.cleaned_data
        return {
            "first": data["from"],
            "last": data["to"],
            "severity": data["severity"],
            "department": data["department"],
            "district": data["district"],
            "minimum": data["minimum"],
        }
