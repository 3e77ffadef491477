"""What each kind of notification says, to whom it matters, and on which channels by default.

A notification stores values (``params``), never sentences: its title, its text and its SMS are put
into words here, in the language active when they are rendered (the recipient's for email and SMS,
the reader's for the inbox and the API). Values that exist in two languages (a finding's question,
a manual's title, a data source's name) are stored as {"zh": ..., "en": ...} and picked here.

SMS texts are short and carry no personal data: the order's number or the task's id, a date, the
link; never a name, a reason written by an official, or a finding's wording.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language, ngettext, override
from django.utils.translation import gettext as _

from supervision.models import Delivery, Notification, NotificationKind

Kind = NotificationKind
EMAIL, SMS = Delivery.Channel.EMAIL, Delivery.Channel.SMS

# Cannot be switched off on any channel the recipient has an address for: the deadline of an order
# and what happens to it bind the business (and its inspectors) whether or not they read the inbox.
MANDATORY = frozenset(
    {
        Kind.ORDER_ISSUED,
        Kind.ORDER_REMINDER,
        Kind.RECTIFICATION_REJECTED,
        Kind.ORDER_OVERDUE,
        Kind.ORDER_ESCALATED,
    }
)

# Where each kind goes beyond the inbox unless the user chose otherwise (NotificationSettings.choices).
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    kind: frozenset({EMAIL, SMS}) if kind in MANDATORY else frozenset({EMAIL}) for kind in Kind.values
}
DEFAULT_CHANNELS[Kind.TASK_ASSIGNED] = frozenset({EMAIL, SMS})
DEFAULT_CHANNELS[Kind.TASK_CANCELLED] = frozenset({EMAIL, SMS})
DEFAULT_CHANNELS[Kind.COMPLAINT_FLOOD] = frozenset({EMAIL, SMS})

# Who may choose what on the preferences page: the kinds each role receives.
BUSINESS_KINDS = (
    Kind.ORDER_ISSUED,
    Kind.ORDER_REMINDER,
    Kind.RECTIFICATION_REJECTED,
    Kind.ORDER_CLOSED,
    Kind.ORDER_OVERDUE,
    Kind.ORDER_ESCALATED,
    Kind.MANUAL_PUBLISHED,
    Kind.RESULT_PUBLISHING,
)
INSPECTOR_KINDS = (
    Kind.TASK_ASSIGNED,
    Kind.TASK_MOVED,
    Kind.TASK_CANCELLED,
    Kind.REINSPECTION_PLANNED,
    Kind.RECTIFICATION_SUBMITTED,
    Kind.ORDER_OVERDUE,
)
REGULATOR_KINDS = (Kind.ORDER_ESCALATED, Kind.OVERDUE_DIGEST, Kind.COMPLAINT_FLOOD, Kind.SOURCE_SILENT)
PUBLIC_KINDS = (Kind.COMPLAINT_RECEIVED, Kind.COMPLAINT_OUTCOME)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    sms: str


# --- values into words ---------------------------------------------------------------------------------


def _english() -> bool:
    return (get_language() or "").startswith("en")


def pick(pair) -> str:
    """The value of a {"zh", "en"} pair in the active language (Chinese when there is no English)."""
    if not isinstance(pair, dict):
        return str(pair or "")
    return (pair.get("en") if _english() else None) or pair.get("zh") or pair.get("en") or ""


def bilingual(zh: str, en: str = "") -> dict:
    return {"zh": zh or "", "en": en or ""}


def when(value: str | datetime) -> str:
    """A moment, in local time (TIME_ZONE), as the active language writes it."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        return str(value)
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def day(value: str | date) -> str:
    parsed = parse_date(value) if isinstance(value, str) else value
    return formats.date_format(parsed, "DATE_FORMAT") if parsed else str(value)


def absolute(link: str) -> str:
    """The record's address as it is sent out: on PUBLIC_BASE_URL, never on a request's Host."""
    return f"{settings.PUBLIC_BASE_URL}{link}" if link.startswith("/") else link


# --- the kinds ----------------------------------------------------------------------------------------


def _order_issued(p):
    title = _("Rectification order %(number)s issued") % {"number": p["number"]}
    lines = [
        _("%(enterprise)s must rectify these findings by %(deadline)s:")
        % {"enterprise": p["enterprise"], "deadline": when(p["deadline"])}
    ]
    lines += [f"- {pick(f['question'])} ({f['code']})" for f in p.get("findings", [])]
    lines.append(_("Answer the order with what was done and photos, on its page."))
    sms = _("Order %(number)s issued: rectify by %(deadline)s.") % {
        "number": p["number"],
        "deadline": when(p["deadline"]),
    }
    return title, lines, sms


def _order_reminder(p):
    days = int(p["days"])
    if days == 0:
        title = _("Order %(number)s is due today, %(deadline)s") % {
            "number": p["number"],
            "deadline": when(p["deadline"]),
        }
    else:
        title = ngettext(
            "Order %(number)s is due in %(days)d day, %(deadline)s",
            "Order %(number)s is due in %(days)d days, %(deadline)s",
            days,
        ) % {"number": p["number"], "days": days, "deadline": when(p["deadline"])}
    lines = [
        _("The rectification has not been submitted yet. Answer the order on its page before the deadline.")
    ]
    return title, lines, title


def _rectification_rejected(p):
    title = _("Rectification of order %(number)s rejected") % {"number": p["number"]}
    lines = [
        _("Reason: %(reason)s") % {"reason": p["reason"]},
        _("Rectify and answer again; the deadline is %(deadline)s.") % {"deadline": when(p["deadline"])},
    ]
    sms = _("Order %(number)s: your rectification was rejected; the reason is on its page.") % {
        "number": p["number"]
    }
    return title, lines, sms


def _order_closed(p):
    title = _("Rectification of order %(number)s accepted; the order is closed") % {"number": p["number"]}
    return title, [], title


def _order_overdue(p):
    title = _("Order %(number)s is overdue") % {"number": p["number"]}
    lines = [
        _("The deadline, %(deadline)s, has passed and %(enterprise)s has not submitted its rectification.")
        % {"deadline": when(p["deadline"]), "enterprise": p["enterprise"]}
    ]
    return title, lines, title


def _order_escalated(p):
    title = _("Order %(number)s escalated to a case") % {"number": p["number"]}
    lines = [
        _("%(enterprise)s did not rectify by the deadline; the order has become a case for investigation.")
        % {"enterprise": p["enterprise"]}
    ]
    return title, lines, title


def _manual_published(p):
    title = _("New manual to read and acknowledge: %(title)s (version %(version)d)") % {
        "title": pick(p["title"]),
        "version": int(p["version"]),
    }
    lines = [_("Read it and confirm that you have read it, on its page.")]
    sms = _("A new compliance manual (version %(version)d) is waiting for your acknowledgement.") % {
        "version": int(p["version"])
    }
    return title, lines, sms


def _result_publishing(p):
    title = _("The result of the inspection on %(day)s becomes public on %(when)s") % {
        "day": day(p["inspected_on"]),
        "when": when(p["goes_public_at"]),
    }
    lines = [
        _("Until then only your business sees it."),
        _(
            "If it is wrong, you may object to it once it is public, on its page; "
            "a regulator decides the objection."
        ),
    ]
    return title, lines, title


def _task(p, title):
    lines = [
        _("%(enterprise)s, %(address)s") % {"enterprise": p["enterprise"], "address": p.get("address", "")},
        _("Due from %(start)s to %(end)s.") % {"start": day(p["due_from"]), "end": day(p["due_to"])},
    ]
    sms = _("%(title)s, due %(start)s to %(end)s.") % {
        "title": title,
        "start": day(p["due_from"]),
        "end": day(p["due_to"]),
    }
    return title, lines, sms


def _task_assigned(p):
    return _task(p, _("New inspection task #%(id)d") % {"id": int(p["task"])})


def _reinspection_planned(p):
    return _task(
        p,
        _("Re-inspection of order %(number)s planned (task #%(id)d)")
        % {"number": p["number"], "id": int(p["task"])},
    )


def _task_moved(p):
    return _task(p, _("Task #%(id)d changed") % {"id": int(p["task"])})


def _task_cancelled(p):
    title = _("Task #%(id)d cancelled") % {"id": int(p["task"])}
    lines = [
        _("%(enterprise)s, %(address)s") % {"enterprise": p["enterprise"], "address": p.get("address", "")},
        _("Reason: %(reason)s") % {"reason": p["reason"]},
    ]
    return title, lines, title


def _rectification_submitted(p):
    title = _("Rectification of order %(number)s waiting for your verification") % {"number": p["number"]}
    lines = [_("%(enterprise)s answered the order.") % {"enterprise": p["enterprise"]}]
    if p.get("late"):
        lines.append(_("It was answered after the deadline."))
    lines.append(_("Accept it, reject it with the reason, or plan a re-inspection, on its page."))
    return title, lines, title


def _overdue_digest(p):
    count = int(p["count"])
    title = ngettext(
        "%(count)d order went overdue on %(day)s",
        "%(count)d orders went overdue on %(day)s",
        count,
    ) % {"count": count, "day": day(p["day"])}
    lines = [
        ngettext(
            "In your scope %(total)d order is overdue in all.",
            "In your scope %(total)d orders are overdue in all.",
            int(p["total"]),
        )
        % {"total": int(p["total"])}
    ]
    return title, lines, title


def _complaint_flood(p):
    title = _("Suspected complaint flood: %(enterprise)s") % {"enterprise": p["enterprise"]}
    lines = [
        ngettext(
            "%(count)d complaint about it in %(hours)d hours.",
            "%(count)d complaints about it in %(hours)d hours.",
            int(p["count"]),
        )
        % {"count": int(p["count"]), "hours": int(p["hours"])},
        _("Check whether they are genuine before acting on them."),
    ]
    return title, lines, title


def _source_silent(p):
    title = _("Data source %(source)s stopped sending") % {"source": pick(p["source"])}
    lines = [_("Its last batch arrived at %(when)s.") % {"when": when(p["last_received_at"])}]
    return title, lines, title


def _complaint_received(p):
    title = _("Your report #%(id)d about %(enterprise)s was received") % {
        "id": int(p["complaint"]),
        "enterprise": p["enterprise"],
    }
    lines = [_("Regulators will look at it. You will be told what became of it.")]
    return title, lines, title


def _complaint_outcome(p):
    values = {"id": int(p["complaint"]), "enterprise": p["enterprise"]}
    outcome = p["outcome"]
    if outcome == "inspected":
        title = _("Your report #%(id)d about %(enterprise)s was checked on site by inspectors") % values
        lines = [_("Published inspection results appear on the business's public card.")]
    elif outcome == "merged":
        title = (
            _("Your report #%(id)d about %(enterprise)s was joined to an earlier report of the same matter")
            % values
        )
        lines = [_("It is followed up together with that report.")]
    else:
        title = _("Your report #%(id)d about %(enterprise)s was closed without an inspection") % values
        lines = [_("Regulators found nothing in it to inspect.")]
    return title, lines, title


RENDER = {
    Kind.ORDER_ISSUED: _order_issued,
    Kind.ORDER_REMINDER: _order_reminder,
    Kind.RECTIFICATION_REJECTED: _rectification_rejected,
    Kind.ORDER_CLOSED: _order_closed,
    Kind.ORDER_OVERDUE: _order_overdue,
    Kind.ORDER_ESCALATED: _order_escalated,
    Kind.MANUAL_PUBLISHED: _manual_published,
    Kind.RESULT_PUBLISHING: _result_publishing,
    Kind.TASK_ASSIGNED: _task_assigned,
    Kind.TASK_MOVED: _task_moved,
    Kind.TASK_CANCELLED: _task_cancelled,
    Kind.REINSPECTION_PLANNED: _reinspection_planned,
    Kind.RECTIFICATION_SUBMITTED: _rectification_submitted,
    Kind.OVERDUE_DIGEST: _overdue_digest,
    Kind.COMPLAINT_FLOOD: _complaint_flood,
    Kind.SOURCE_SILENT: _source_silent,
    Kind.COMPLAINT_RECEIVED: _complaint_received,
    Kind.COMPLAINT_OUTCOME: _complaint_outcome,
}


def render(notification: Notification, *, language: str | None = None) -> Message:
    """The notification in words: in ``language`` (email, SMS: the recipient's), else in the active
    language (the inbox, the API: the reader's)."""
    if language is not None:
        with override(language):
            return render(notification)
    title, lines, sms = RENDER[notification.kind](notification.params)
    link = absolute(notification.link) if notification.link else ""
    body = "\n".join([title, "", *lines, *(["", link] if link else [])])
    return Message(title=title, body=body, sms=f"{sms} {link}".strip())


def detail(notification: Notification) -> str:
    """The lines under the title (the inbox's and the API's ``body``), in the active language."""
    _title, lines, _sms = RENDER[notification.kind](notification.params)
    return "\n".join(lines)
