"""A complainant who left a contact hears that the report was received and what became of it
(closed without an inspection, joined to another report, checked on site), in the language they
wrote it in, and nothing about the business beyond its public card: never a regulator's reason,
a finding, a conclusion, an order or a person's name."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.codes import code_issue
from core.models import Complaint
from supervision.complaints import services as triage
from supervision.inspections import services as workflow
from supervision.models import Inspection, Notification, NotificationKind
from tests.factories import FAILING, make_ready, make_team, submit

pytestmark = pytest.mark.django_db
SECRET_REASON = "经查该企业负责人张三丰已被立案调查"
NEVER = [SECRET_REASON, "张三丰", "检查项", "Is item", "mar-", "ZG", "rectif", "整改", "Inspector", "team"]


def report(capture, token, *, contact, language, text="后厨有老鼠"):
    client = Client(headers={"Accept-Language": language})
    with capture(execute=True):
        response = client.post(f"/c/{token}", {"text": text, "contact": contact}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302, response.content[:500]
    return Complaint.objects.latest("pk")


def test_the_complainant_hears_what_became_of_the_report_and_nothing_more(
    enterprise, regulator_user, loop_checklist, fake_sms, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    token = code_issue(enterprise=enterprise).token
    card = f"https://supervision.example.gov.cn/c/{token}"
    dismissed = report(capture, token, contact="13800000077", language="en")
    inspected = report(capture, token, contact="reporter@example.com", language="zh-hans")
    merged = report(capture, token, contact="+86 138-0000-0088", language="en")

    # Received, each in the language of the request that sent it.
    assert fake_sms.texts_to("13800000077") == [
        f"Your report #{dismissed.pk} about {enterprise.name} was received {card}"
    ]
    [email] = mail.outbox
    assert email.to == ["reporter@example.com"] and email.extra_headers["Content-Language"] == "zh-hans"
    assert card in email.body
    assert fake_sms.texts_to("8613800000088") == [
        f"Your report #{merged.pk} about {enterprise.name} was received {card}"
    ]

    with capture(execute=True):
        triage.complaint_dismiss(complaint=dismissed, actor=regulator_user, reason=SECRET_REASON)
    with capture(execute=True):
        triage.complaint_merge(complaint=merged, actor=regulator_user, into=inspected)
    team = make_team()
    today = timezone.localdate()
    with capture(execute=True):
        task = triage.complaint_to_task(
            complaint=inspected,
            actor=regulator_user,
            inspectors=team,
            due_from=today,
            due_to=today + timedelta(days=3),
        )
    # Sending inspectors is not announced: an announced inspection is no inspection.
    assert not Notification.objects.filter(
        kind=NotificationKind.COMPLAINT_OUTCOME, params__outcome="tasked"
    ).exists()
    record = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(record, team[0].user, team, FAILING)
    with capture(execute=True):
        submit(record, team[0].user, Inspection.Conclusion.RECTIFY)

    assert fake_sms.texts_to("13800000077")[1:] == [
        f"Your report #{dismissed.pk} about {enterprise.name} was closed without an inspection {card}"
    ]
    assert fake_sms.texts_to("8613800000088")[1:] == [
        f"Your report #{merged.pk} about {enterprise.name} was joined to an earlier report of the same "
        f"matter {card}",
        f"Your report #{merged.pk} about {enterprise.name} was checked on site by inspectors {card}",
    ]
    assert len(mail.outbox) == 2 and card in mail.outbox[1].body
    # Nothing beyond the public card, on any channel, in any language.
    everything = [m["text"] for m in fake_sms.delivered] + [m.subject + m.body for m in mail.outbox]
    for text in everything:
        assert enterprise.name in text
        # The card's address is allowed; its random code could hold "ZG" by chance (it once did).
        for secret in NEVER:
            assert secret not in text.replace(card, ""), (secret, text)
    # The business's people heard of the order, not of the complaint.
    assert not Notification.objects.filter(
        kind__in=[NotificationKind.COMPLAINT_RECEIVED, NotificationKind.COMPLAINT_OUTCOME], user__isnull=False
    ).exists()


def test_a_contact_that_is_neither_a_phone_nor_an_email_is_told_nothing(
    enterprise, fake_sms, django_capture_on_commit_callbacks
):
    token = code_issue(enterprise=enterprise).token
    report(django_capture_on_commit_callbacks, token, contact="李四", language="zh-hans")
    assert not Notification.objects.exists()
    assert fake_sms.delivered == [] and mail.outbox == []
