"""The forms of the ground floor's pages."""

from django import forms

from core.models import IdentityCode

REASON_MAX = IdentityCode._meta.get_field("end_reason").max_length


class CodeRotateForm(forms.Form):
    """Why a new identity code is issued (e.g. the sticker is lost); optional."""

    # Cut, not refused, at the column's length: the page's input stops there already, and the API
    # (core.api.ReasonIn) is where a client learns the limit.
    reason = forms.CharField(required=False, strip=False)

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"][:REASON_MAX]
