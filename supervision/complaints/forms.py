"""The triage forms of a complaint's page: dismiss, merge as a duplicate, send inspectors.

They turn what was posted into what supervision.complaints.services takes (rows, dates) and never
refuse anything themselves: what cannot be read goes on as None or an empty list, and the service
refuses it with its code, which the page shows (``data-code``) like the API does.
"""

from datetime import date

from django import forms

from core.models import Inspector


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
    inspectors = _Inspectors(required=False, initial=list)
    due_from = _IsoDate(required=False)
    due_to = _IsoDate(required=False)
    department = forms.CharField(required=False, strip=False)
    note = forms.CharField(required=False, strip=False)
