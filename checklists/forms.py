"""The forms of the content pages: a regulator's content upload, a business's acknowledgement."""

from django import forms
from django.utils.translation import gettext_lazy as _

from checklists.models import Manual


class ContentUploadForm(forms.Form):
    # An empty file is not refused here: the importer says what is wrong with it, as with any file.
    file = forms.FileField(
        allow_empty_file=True,
        widget=forms.FileInput,
        error_messages={"required": _("Choose a YAML file.")},
    )


class AcknowledgeForm(forms.Form):
    """The manual version the business read (a hidden input). An id that names no manual names no
    version: the current manual is acknowledged, as the page always did."""

    manual_id = forms.CharField(required=False, strip=False)

    def clean_manual_id(self) -> Manual | None:
        raw = self.cleaned_data["manual_id"]
        return Manual.objects.filter(pk=raw).first() if raw.isascii() and raw.isdigit() else None

    @property
    def manual(self) -> Manual | None:
        return self.cleaned_data["manual_id"] if self.is_valid() else None
