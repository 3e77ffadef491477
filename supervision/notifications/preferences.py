"""What a user chose (NotificationSettings) and what follows from it: their language, which kinds
reach them on which channel, and their addresses. Read when the outbox is written and again before
each send."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from supervision.models import NotificationSettings
from supervision.notifications.catalogue import DEFAULT_CHANNELS, EMAIL, MANDATORY, SMS

# A mobile number as people write it: digits, spaces and dashes, an optional leading +.
PHONE = re.compile(r"^\+?[\d\s-]{7,20}$")


def phone_number(raw: str) -> str:
    """The digits an SMS provider takes ("+86 138-1234-5678" -> "8613812345678"); "" if not a phone."""
    raw = (raw or "").strip()
    return re.sub(r"\D", "", raw) if PHONE.match(raw) else ""


def email_address(raw: str) -> str:
    raw = (raw or "").strip()
    try:
        validate_email(raw)
    except ValidationError:
        return ""
    return raw


def channels_enabled() -> set[str]:
    """The channels this installation sends on (settings: NOTIFY_EMAIL, SMS_BACKEND)."""
    enabled = set()
    if settings.NOTIFY_EMAIL:
        enabled.add(EMAIL)
    if settings.SMS_BACKEND != "none":
        enabled.add(SMS)
    return enabled


def language_of(prefs: NotificationSettings | None) -> str:
    if prefs is not None and (prefs.language or prefs.signin_language):
        return prefs.language or prefs.signin_language
    return settings.LANGUAGE_CODE


def wants(prefs: NotificationSettings | None, kind: str, channel: str) -> bool:
    """Does the user receive ``kind`` on ``channel``? Mandatory kinds always; others by their choice,
    else the default."""
    if kind in MANDATORY:
        return True
    choice = (prefs.choices if prefs is not None else {}).get(f"{kind}:{channel}")
    return channel in DEFAULT_CHANNELS[kind] if choice is None else bool(choice)


def user_address(user, prefs: NotificationSettings | None, channel: str) -> str:
    if channel == EMAIL:
        return email_address(user.email)
    return phone_number(prefs.phone) if prefs is not None else ""
