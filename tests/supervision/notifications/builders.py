"""Builders of the notifications' tests: people with their settings, an issued order, the smallest
event, and what was sent (the fixtures are in conftest.py)."""

from django.utils import translation

from checklists.models import Checklist
from supervision.inspections import services as workflow
from supervision.models import Inspection, NotificationKind, NotificationSettings, RectificationOrder
from supervision.notifications.outbox import Event, notify
from tests.factories import FAILING, make_checklist, make_ready, make_task, make_team, submit

# The Alibaba Cloud templates the tests configure, one per language (conftest.py).
ZH_TEMPLATE, EN_TEMPLATE = "SMS_ZH_1", "SMS_EN_1"
PHONE = "13800000009"


def received(n: int = 1, *, to: str = PHONE, language: str = "zh-hans") -> list[int]:
    """A report's receipt told to an outside phone number: the smallest event there is."""
    return notify(
        Event(
            kind=NotificationKind.COMPLAINT_RECEIVED,
            key=f"complaint.received:{n}",
            addresses=[to],
            language=language,
            params={"complaint": n, "enterprise": "测试企业"},
            link="/c/abc",
        )
    )


def with_prefs(user, *, email: str = "", language: str = "", phone: str = "", **extra):
    """Give a user an email address and notification settings (language, phone for SMS)."""
    if email:
        user.email = email
        user.save(update_fields=["email"])
    NotificationSettings.objects.update_or_create(
        user=user, defaults={"language": language, "phone": phone, **extra}
    )
    return user


def mail_to(outbox) -> list[tuple[str, str]]:
    """(recipient, subject) of every email sent, in order."""
    return [(message.to[0], message.subject) for message in outbox]


def said(language: str, message: str, plural: str | None = None, n: int | None = None, **params) -> str:
    """``message`` as the catalogue of ``language`` says it (English where it has no translation);
    with ``plural``, the form for ``n`` (ngettext)."""
    with translation.override(language):
        if plural is not None:
            return translation.ngettext(message, plural, n) % params
        return translation.gettext(message) % params


def issue_order(enterprise, actor, *, deadline=None, team=None):
    """The loop up to an issued order (market regulation's checklist, two findings) of ``enterprise``:
    planned by ``actor``, by a new team of Chaoyang inspectors unless ``team`` is given."""
    if not Checklist.objects.filter(scene__code="catering", department__code="market_regulation").exists():
        make_checklist("catering", "market_regulation", items=3)
    team = team or make_team()
    task = make_task(enterprise=enterprise, team=team, actor=actor)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, FAILING)
    submit(inspection, team[0].user, Inspection.Conclusion.RECTIFY, rectify_deadline=deadline)
    return RectificationOrder.objects.select_related("enterprise").get(inspection=inspection)
