"""The monitor's forms that write: planning an inspection task, cancelling one.

supervision.inspections.services judges the team, the window and the reason (with the messages
the API gives too); these forms only read what was posted, and refuse just a due window they
cannot read, before anything reaches the service.
"""

from datetime import date

from django import forms
from django.utils.translation import gettext as _

from core.models import Inspector
from supervision.models import InspectionTask


class _IsoDate(forms.Field):
    """A date as the date input sends it (YYYY-MM-DD); None when it is missing or unreadable."""

    def to_python(self, value) -> date | None:
        try:
            return date.fromisoformat((value or "").strip())
        except ValueError:
            return None


class _Inspectors(forms.Field):
    """The inspectors ticked, in order; ids naming no inspector are left out."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[Inspector]:
        ids = [int(raw) for raw in value or [] if raw.isdigit()]
        # Any inspector id may be posted: task_create checks each one's jurisdiction and refuses.
        found = Inspector.objects.select_related("user", "department").in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]


class TaskPlanForm(forms.Form):
    """The fields of supervision.inspections.services.task_create a regulator chooses."""

    inspectors = _Inspectors(required=False, initial=list)
    due_from = _IsoDate(required=False)
    due_to = _IsoDate(required=False)
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
