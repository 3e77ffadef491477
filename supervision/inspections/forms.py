"""The inspection loop's page forms: they parse what was posted; the services judge it.

Every rule the API also enforces (a result to choose, a note too long, a photo that is not one, a
reason to give) is the service's, with the message the API gives, so these fields accept anything
of the right type and the pages show the service's DomainError where it belongs. What only a page
can get wrong (a day typed in a date field, the button pressed, an inspector's checkbox, the
submit's idempotency key) is refused here, with the messages the pages have always shown.
"""

from datetime import datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from core.forms import PhotosField, PostedText, choose_photos_again
from core.models import Inspector


class DayField(forms.Field):
    """A day as ``<input type="date">`` sends it, read by django.utils.dateparse; a day that does not
    exist (2025-02-30) is invalid, an empty field is None."""

    default_error_messages = {"invalid": gettext_lazy("Enter a date.")}

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return day


class InspectorsField(forms.Field):
    """The ticked inspectors' ids: every one must be an inspector (jurisdiction is the service's rule)."""

    widget = forms.SelectMultiple
    default_error_messages = {"invalid": gettext_lazy("Unknown inspector.")}

    def to_python(self, value) -> list[Inspector]:
        try:
            ids = {int(raw) for raw in value or []}
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        inspectors = list(Inspector.objects.filter(pk__in=ids).select_related("user"))
        if len(inspectors) != len(ids):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return inspectors


def first_error(form: forms.Form) -> str:
    """The first thing wrong with the form, in field order: the one message a form section shows."""
    return next(iter(form.errors.values()))[0]


# --- the on-site record -----------------------------------------------------------------------------


class _RecordButtons(forms.Form):
    action = forms.CharField(required=False)

    @property
    def pressed(self) -> str:
        """The button that sent the record form: "submit", "refuse" (the refusal's own small form),
        or "save" for anything else."""
        action = self.cleaned_data.get("action")
        return action if action in {"submit", "refuse"} else "save"


class RecordForm(_RecordButtons):
    """The tablet form without JavaScript posts every item at once: for each item ``result-<id>``,
    ``note-<id>`` and ``photos-<id>``; and the record's ``note`` and ``representative_name``.
    ``items`` are the sheet's (supervision.inspections.selectors.inspection_sheet): what changed is
    what differs from their stored answers, and from the ``inspection``'s stored fields."""

    note = PostedText()
    representative_name = PostedText()

    # What the conclusion section shows again after a refusal: every field as typed, those of the
    # submit and of the refusal too.
    TYPED_FIELDS = ("note", "representative_name", "conclusion", "rectify_deadline", "refusal_note")

    def __init__(self, *args, items, inspection, **kwargs):
        super().__init__(*args, **kwargs)
        self.items, self.inspection = items, inspection
        for item in items:
            pk = item["id"]
            self.fields[f"result-{pk}"] = forms.CharField(required=False, strip=False, empty_value=None)
            self.fields[f"note-{pk}"] = PostedText()
            self.fields[f"photos-{pk}"] = PhotosField(required=False)
        self.refused_items: dict[int, str] = {}

    def changes(self) -> list[dict]:
        """``workflow.inspection_answer`` keywords for every item whose posted answer differs from the
        stored one (photos always count); the note only if it changed. Items whose fields did not
        parse are left out: they keep their error."""
        changes = []
        for item in self.items:
            pk, answer = item["id"], item["answer"]
            if any(f"{name}-{pk}" in self.errors for name in ("result", "note", "photos")):
                continue
            result = self.cleaned_data[f"result-{pk}"]
            note = self.cleaned_data[f"note-{pk}"]
            photos = self.cleaned_data[f"photos-{pk}"]
            note_changed = note is not None and note.strip() != (answer.note if answer else "")
            result_changed = result is not None and result != (answer.result if answer else None)
            if note_changed or result_changed or photos:
                changes.append(
                    {
                        "item_id": pk,
                        "result": result,
                        "note": note if note_changed else None,
                        "photos": photos,
                    }
                )
        return changes

    def refuse_item(self, item_id: int, exc: DomainError) -> None:
        self.refused_items[item_id] = choose_photos_again(
            exc.message, self.cleaned_data.get(f"photos-{item_id}", [])
        )

    def item_errors(self) -> dict[int, str]:
        """Each refused item's reason: the service's, or why its fields did not parse."""
        errors = {}
        for item in self.items:
            pk = item["id"]
            unparsed = [
                message
                for name in ("result", "note", "photos")
                for message in self.errors.get(f"{name}-{pk}", [])
            ]
            if unparsed:
                errors[pk] = " ".join(unparsed)
            elif pk in self.refused_items:
                errors[pk] = self.refused_items[pk]
        return errors

    def typed(self) -> dict[int, dict]:
        """What was posted for each item, to show again: the note only if it was posted."""
        typed = {}
        for item in self.items:
            pk = item["id"]
            note = self.data.get(f"note-{pk}")
            typed[pk] = {
                "result": self.data.get(f"result-{pk}") or "",
                **({"note": note} if note is not None else {}),
            }
        return typed

    def typed_record(self) -> dict[str, str]:
        return {name: self.data.get(name, "") for name in self.TYPED_FIELDS}

    def record_error(self) -> str | None:
        """Why the record's own fields did not parse (shown under its note, as the service's refusals)."""
        unparsed = [*self.errors.get("note", []), *self.errors.get("representative_name", [])]
        return " ".join(unparsed) or None

    def record_changes(self) -> dict | None:
        """``workflow.inspection_update`` keywords when the note or the representative changed."""
        if self.record_error():
            return None
        note, representative = self.cleaned_data["note"], self.cleaned_data["representative_name"]
        if (note is not None and note.strip() != self.inspection.note) or (
            representative is not None and representative.strip() != self.inspection.representative_name
        ):
            return {"note": note, "representative_name": representative}
        return None


class SubmitForm(_RecordButtons):
    """The record form's submit: the client's idempotency key (a double tap or a resent form is the
    same submission), the conclusion, and an optional rectification deadline, a day."""

    submission_id = forms.UUIDField(
        error_messages={
            "required": gettext_lazy("The form was out of date. Check it and submit again."),
            "invalid": gettext_lazy("The form was out of date. Check it and submit again."),
        }
    )
    conclusion = forms.CharField(required=False, strip=False)
    rectify_deadline = DayField(required=False)

    def clean_rectify_deadline(self) -> datetime | None:
        # A day typed as a deadline means the end of that day, in the platform's time zone.
        day = self.cleaned_data["rectify_deadline"]
        return timezone.make_aware(datetime.combine(day, time(23, 59, 59))) if day else None


class RefusalForm(forms.Form):
    """The representative refuses to sign: what they said or did (the service requires it)."""

    refusal_note = forms.CharField(required=False, strip=False)


class EvaluationForm(forms.Form):
    """一业一评: a rating from 1 to 5 and an optional comment."""

    rating = forms.CharField(required=False)
    comment = forms.CharField(required=False, strip=False)

    def clean_rating(self) -> int:
        # Not a number: 0, which the service refuses with its own message after checking who rates.
        try:
            return int(self.cleaned_data["rating"])
        except ValueError:
            return 0

    def typed(self) -> dict:
        return {"rating": self.data.get("rating", ""), "comment": self.data.get("comment", "")}


# --- orders -----------------------------------------------------------------------------------------


class RectificationForm(forms.Form):
    """Multipart: ``note``; per finding of the order ``text-<finding id>`` and files
    ``photos-<finding id>``."""

    note = forms.CharField(required=False, strip=False)

    def __init__(self, *args, findings, **kwargs):
        super().__init__(*args, **kwargs)
        self.finding_ids = [finding.pk for finding in findings]
        for pk in self.finding_ids:
            self.fields[f"text-{pk}"] = forms.CharField(required=False, strip=False)
            self.fields[f"photos-{pk}"] = PhotosField(required=False)

    def entries(self) -> dict[int, dict]:
        """``workflow.rectification_submit``'s entries: finding id to {"text", "photos"}."""
        return {
            pk: {
                "text": self.cleaned_data.get(f"text-{pk}", ""),
                "photos": self.cleaned_data.get(f"photos-{pk}", []),
            }
            for pk in self.finding_ids
        }

    def refusal(self, message: str) -> str:
        return choose_photos_again(
            message, [p for pk in self.finding_ids for p in self.cleaned_data.get(f"photos-{pk}", [])]
        )

    def typed(self) -> dict:
        """What was typed, to show again after a refusal."""
        return {
            "note": self.data.get("note", ""),
            "texts": {pk: self.data.get(f"text-{pk}", "") for pk in self.finding_ids},
        }


class VerificationForm(forms.Form):
    """Accept (closes the order) or reject (returns it, with the reason the service requires)."""

    decision = forms.ChoiceField(
        choices=[("accept", "accept"), ("reject", "reject")],
        error_messages={
            "required": gettext_lazy("Accept or reject the rectification."),
            "invalid_choice": gettext_lazy("Accept or reject the rectification."),
        },
    )
    note = forms.CharField(required=False, strip=False)

    @property
    def accepted(self) -> bool:
        return self.cleaned_data["decision"] == "accept"

    def typed(self) -> dict:
        return {"verify_note": self.data.get("note", "")}


class ReinspectionForm(forms.Form):
    """Send inspectors back: the ticked ``inspectors`` and the visit's window."""

    inspectors = InspectorsField(required=False)
    due_from = DayField(
        error_messages={
            "required": gettext_lazy("Choose the dates of the visit."),
            "invalid": gettext_lazy("Choose the dates of the visit."),
        }
    )
    due_to = DayField(
        error_messages={
            "required": gettext_lazy("Choose the dates of the visit."),
            "invalid": gettext_lazy("Choose the dates of the visit."),
        }
    )

    def typed(self) -> dict:
        return {
            "inspectors": self.data.getlist("inspectors"),
            "due_from": self.data.get("due_from", ""),
            "due_to": self.data.get("due_to", ""),
        }


class EscalationForm(forms.Form):
    """An overdue order becomes a case: its description (the service requires one)."""

    reason = forms.CharField(required=False, strip=False)

    def typed(self) -> dict:
        return {"reason": self.data.get("reason", "")}
