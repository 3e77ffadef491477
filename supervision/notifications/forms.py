"""The preferences page's form: language, phone for SMS, quiet hours, and one tick per event and
channel. Mandatory events are shown ticked and cannot be unticked (the service refuses it too)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.permissions import roles_of
from supervision.models import Delivery, NotificationKind
from supervision.notifications.catalogue import (
    BUSINESS_KINDS,
    INSPECTOR_KINDS,
    MANDATORY,
    PUBLIC_KINDS,
    REGULATOR_KINDS,
)
from supervision.notifications.preferences import channels_enabled, wants


def kinds_for(user) -> list[str]:
    """The events a user may receive, by their roles (each once, in the order of the roles)."""
    roles = roles_of(user)
    kinds = []
    if roles.is_business:
        kinds += BUSINESS_KINDS
    if roles.inspector:
        kinds += INSPECTOR_KINDS
    if roles.regulator or roles.is_admin:
        kinds += REGULATOR_KINDS
    kinds += PUBLIC_KINDS
    return list(dict.fromkeys(kinds))


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of email and SMS"), required=False)
    phone = forms.CharField(label=_("Mobile phone for SMS"), max_length=20, required=False)
    quiet_start = forms.TimeField(
        label=_("No SMS from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label=_("No SMS until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args, user, prefs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("The language I sign in with")), *settings.LANGUAGES]
        self.channels = [c for c in Delivery.Channel if c.value in channels_enabled()]
        self.rows = []
        for kind in kinds_for(user):
            row = {
                "kind": kind,
                "label": NotificationKind(kind).label,
                "mandatory": kind in MANDATORY,
                "fields": [],
            }
            for channel in self.channels:
                name = f"{kind}:{channel.value}"
                label = f"{NotificationKind(kind).label}: {channel.label}"
                self.fields[name] = forms.BooleanField(
                    required=False,
                    initial=wants(prefs, kind, channel.value),
                    disabled=kind in MANDATORY,
                    label=label,
                    widget=forms.CheckboxInput(attrs={"aria-label": label}),
                )
                row["fields"].append(name)
            self.rows.append(row)
        if prefs is not None:
            self.initial.update(
                language=prefs.language,
                phone=prefs.phone,
                quiet_start=prefs.quiet_start,
                quiet_end=prefs.quiet_end,
            )

    def choices(self) -> dict[str, bool]:
        """The ticks of the events that may be switched off."""
        return {
            name: bool(self.cleaned_data.get(name))
            for row in self.rows
            if not row["mandatory"]
            for name in row["fields"]
        }

    def general_fields(self):
        return [self[name] for name in ("language", "phone", "quiet_start", "quiet_end")]

    def bound_rows(self):
        """The rows for the template, with their bound fields."""
        return [{**row, "fields": [self[name] for name in row["fields"]]} for row in self.rows]
