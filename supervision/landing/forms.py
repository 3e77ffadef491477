"""The public's report form on the scan landing (/c/<token>)."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS


class ReportForm(forms.Form):
    """A report about the business behind a code: what happened, an optional photo and contact.

    supervision.complaints.intake.complaint_submit checks all of it and names each field it
    refuses (its ``details``), so the form only reads the post: the messages stay the service's,
    and the page and the scan API refuse alike."""

    text = forms.CharField(required=False, strip=False)
    contact = forms.CharField(required=False, strip=False)
    photo = forms.FileField(required=False, allow_empty_file=True, widget=forms.FileInput)

    def field_messages(self) -> dict[str, str]:
        """For landing/_report_form.html: one message per field, or, when no field has one, the
        refusal of the whole report under "form"."""
        errors = {name: errors[0] for name, errors in self.errors.items() if name != NON_FIELD_ERRORS}
        if not errors and self.non_field_errors():
            errors["form"] = self.non_field_errors()[0]
        return errors
