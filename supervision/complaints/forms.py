"""The triage forms of a complaint's page: dismiss, merge as a duplicate, send inspectors.

They turn what was posted into what supervision.complaints.services takes (rows, dates) and never
refuse anything themselves: what cannot be read goes on as None or an empty list, and the service
refuses it with its code, which the page shows (``data-code``) like the API does.
"""

from django import forms

from core.forms import LenientDateField, TickedInspectorsField


class DismissForm(forms.Form):
    reason = forms.CharField(required=False, strip=False)


class MergeForm(forms.Form):
    into = forms.CharField(required=False)

    def __init__(self, *args, complaints, **kwargs):
        """``complaints``: those the user sees, the only ones a merge may name."""
        super().__init__(*args, **kwargs)
        self.complaints = complaints

    def clean_into(self):
        raw = self.cleaned_data["into"]
        # Any other id reads as "none chosen", which the service refuses.
        return self.complaints.filter(pk=raw).first() if raw.isdigit() else None


class ComplaintTaskForm(forms.Form):
    inspectors = TickedInspectorsField(required=False, initial=list)
    due_from = LenientDateField(required=False)
    due_to = LenientDateField(required=False)
    department = forms.CharField(required=False, strip=False)
    note = forms.CharField(required=False, strip=False)
