"""Form fields every feature's pages share, and the forms of the ground floor's own pages.

The features' forms parse what a page posted into what their services take; the services judge it
(with the messages the API gives). These fields therefore accept anything of their type and leave
refusing to the service, except where a page alone can get something wrong.
"""

from datetime import date

from django import forms
from django.utils.translation import gettext as _

from core.models import IdentityCode, Inspector

REASON_MAX = IdentityCode._meta.get_field("end_reason").max_length


class CodeRotateForm(forms.Form):
    """Why a new identity code is issued (e.g. the sticker is lost); optional."""

    # Cut, not refused, at the column's length: the page's input stops there already, and the API
    # (core.api.ReasonIn) is where a client learns the limit.
    reason = forms.CharField(required=False, strip=False)

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"][:REASON_MAX]


# --- fields the features share ----------------------------------------------------------------------


class _MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.Field):
    """Every file posted under the name, as uploaded: core.photos validates them, with its messages."""

    widget = _MultipleFileInput

    def to_python(self, value) -> list:
        return list(value or [])


class PostedText(forms.CharField):
    """Text as typed, or None when the field was not posted at all (what is stored is kept)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, strip=False, **kwargs)

    def to_python(self, value):
        return None if value is None else super().to_python(value)


class LenientDateField(forms.Field):
    """A date as the date input sends it (YYYY-MM-DD); None when it is missing or unreadable, for
    the service to refuse with its own message."""

    def to_python(self, value) -> date | None:
        try:
            return date.fromisoformat((value or "").strip())
        except ValueError:
            return None


class TickedInspectorsField(forms.Field):
    """The inspectors ticked, in order; ids naming no inspector are left out (the service checks
    each one's jurisdiction and refuses)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[Inspector]:
        ids = [int(raw) for raw in value or [] if raw.isdigit()]
        found = Inspector.objects.select_related("user", "department").in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]


def choose_photos_again(message: str, photos: list) -> str:
    """A refusal's message on a form that carried photos: a browser never posts files again after a
    refusal, so say so rather than let them seem kept."""
    return f"{message} {_('Choose the photos again.')}" if photos else message
