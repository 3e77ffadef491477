"""The objection page's forms: the business objects, a regulator decides.

They only read what was posted; supervision.publication.services judges it (a reason is required,
a correction when upholding) and its refusal is shown on the page with its code.
"""

from django import forms

DECISIONS = {"uphold": True, "reject": False}


class ObjectionForm(forms.Form):
    reason = forms.CharField(required=False, strip=False)


class DecisionForm(forms.Form):
    decision = forms.CharField(required=False, strip=False)
    note = forms.CharField(required=False, strip=False)
    correction = forms.CharField(required=False, strip=False)
    corrected_conclusion = forms.CharField(required=False, strip=False)

    def clean_decision(self) -> bool | None:
        """True to uphold, False to reject; None when neither was chosen (the service refuses it)."""
        return DECISIONS.get(self.cleaned_data["decision"])
