"""The self-inspection page forms: they parse what was posted; the services judge it.

Every refusal a business can meet (no result chosen, a note too long, a photo that is not one) is
the service's, with the same message the API gives, so the fields here accept anything and the
pages show the service's DomainError next to the item it concerns.
"""

from django import forms
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.forms import PhotosField, PostedText, choose_photos_again
from core.pages import add_domain_error
from supervision.self_inspection.selectors import Sheet
from supervision.self_inspection.services import AnswerChange


class SubmitForm(forms.Form):
    """The button tapped: ``action`` "submit" submits (after saving), anything else only saves;
    ``nonce`` makes a second tap on a poor connection a retry, not a second submit."""

    action = forms.CharField(required=False, strip=False)
    nonce = forms.CharField(required=False, strip=False)

    @property
    def submits(self) -> bool:
        return self.cleaned_data["action"] == "submit"

    @property
    def submit_nonce(self) -> str | None:
        return self.cleaned_data["nonce"] or None


class SelfInspectionForm(SubmitForm):
    """The whole sheet at once: for each item ``result-<id>``, ``note-<id>`` and ``photos-<id>``."""

    def __init__(self, *args, sheet: Sheet, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = sheet.rows
        for row in self.rows:
            pk = row.item.pk
            self.fields[f"result-{pk}"] = forms.CharField(required=False, strip=False, empty_value=None)
            self.fields[f"note-{pk}"] = PostedText()
            self.fields[f"photos-{pk}"] = PhotosField(required=False)

    def changes(self) -> list[AnswerChange]:
        """The items whose posted answer differs from the stored one (photos always count)."""
        changes = []
        for row in self.rows:
            pk = row.item.pk
            result = self.cleaned_data[f"result-{pk}"]
            note = self.cleaned_data[f"note-{pk}"]
            photos = self.cleaned_data[f"photos-{pk}"]
            stored_result = row.answer.result if row.answer else None
            stored_note = row.answer.note if row.answer else ""
            if (
                (result is not None and result != stored_result)
                or (note is not None and note.strip() != stored_note)
                or photos
            ):
                changes.append(AnswerChange(item_id=pk, result=result, note=note, photos=photos))
        return changes

    def refuse_item(self, item_id: int, exc: DomainError) -> None:
        photos = self.cleaned_data.get(f"photos-{item_id}", [])
        self._item_error(item_id, choose_photos_again(exc.message, photos))

    def require_item(self, item_id: int) -> None:
        self._item_error(item_id, _("Answer this item before submitting."))

    def _item_error(self, item_id: int, message: str) -> None:
        # An item the sheet no longer shows (the enterprise's features changed meanwhile) has no
        # place on the page; submit's own message says how many are left.
        if f"result-{item_id}" in self.fields:
            self.add_error(f"result-{item_id}", message)

    def typed(self) -> dict[int, dict]:
        """What was posted for each item, to show again: the note only if it was posted."""
        typed = {}
        for row in self.rows:
            pk = row.item.pk
            note = self[f"note-{pk}"].value()
            typed[pk] = {
                "result": self[f"result-{pk}"].value() or "",
                **({"note": note} if note is not None else {}),
            }
        return typed

    def item_errors(self) -> dict[int, str]:
        return {
            row.item.pk: " ".join(self.errors[f"result-{row.item.pk}"])
            for row in self.rows
            if f"result-{row.item.pk}" in self.errors
        }


class SelfIssueFixForm(forms.Form):
    """Mark a self-identified issue fixed: what was done (the service requires it) and photos."""

    note = forms.CharField(required=False, strip=False)
    photos = PhotosField(required=False)

    def refuse(self, exc: DomainError) -> None:
        add_domain_error(self, exc)
        if self.cleaned_data.get("photos"):
            self.add_error(None, _("Choose the photos again."))

    @property
    def message(self) -> str:
        return " ".join(self.non_field_errors())
