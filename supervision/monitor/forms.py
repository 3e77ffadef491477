"""The monitor's forms that write: planning an inspection task, cancelling one.

supervision.inspections.services judges the team, the window and the reason (with the messages
the API gives too); these forms only read what was posted, and refuse just a due window they
cannot read, before anything reaches the service.
"""

from django import forms
from django.utils.translation import gettext as _

from core.forms import LenientDateField, TickedInspectorsField
from supervision.models import InspectionTask


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
