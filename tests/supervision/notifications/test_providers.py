"""The SMS providers: Alibaba Cloud's API (signed; a timeout is a send in doubt, a refused connection
is not), the development file, and a configuration that is incomplete."""

import socket
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from supervision.models import Delivery
from supervision.notifications import delivery as engine
from supervision.notifications.providers import FileSms, Lookup, sms_provider
from tests.supervision.notifications.builders import PHONE, received

Status = Delivery.Status
pytestmark = pytest.mark.django_db


def test_a_timeout_is_a_send_in_doubt_resolved_by_asking(fake_sms, settings):
    settings.SMS_TIMEOUT = 1
    fake_sms.script = [{"hang": True}]
    [pk] = received()
    assert engine.delivery_attempt(delivery_id=pk) == Status.SENDING
    row = Delivery.objects.get(pk=pk)
    assert row.provider_answer.startswith("no answer") and row.attempts == 1
    fake_sms.release.set()
    with time_machine.travel(row.lease_until + timedelta(seconds=1)):
        assert engine.dispatch_due() == {Status.SENT: 1}
    assert len(fake_sms.delivered) == 1


def test_a_refused_connection_is_retried_as_not_sent(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        settings.SMS_ALIYUN_ENDPOINT = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    [pk] = received()
    assert engine.delivery_attempt(delivery_id=pk) == Status.PENDING
    assert Delivery.objects.get(pk=pk).provider_answer.startswith("could not send")


def test_the_request_is_signed_and_carries_the_template_of_the_language(fake_sms):
    engine.delivery_attempt(delivery_id=received(language="en")[0])
    [request] = fake_sms.requests
    # The fake checked the signature with the secret; here, what was signed.
    assert request["Action"] == "SendSms" and request["SignatureMethod"] == "HMAC-SHA1"
    assert request["TemplateCode"] == "SMS_EN_1" and request["SignName"] == "监管平台"
    assert request["PhoneNumbers"] == PHONE


def test_a_wrong_secret_is_refused_by_the_provider_and_fails_for_the_admins(fake_sms, settings):
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    [pk] = received()
    assert engine.delivery_attempt(delivery_id=pk) == Status.FAILED
    assert "SignatureDoesNotMatch" in Delivery.objects.get(pk=pk).provider_answer
    assert fake_sms.delivered == []


def test_the_file_backend_writes_and_finds(tmp_path):
    provider = FileSms(tmp_path / "sms.jsonl")
    assert provider.lookup(to=PHONE, key="k1", since=timezone.now()) == (Lookup.NOT_SENT, "no file")
    assert provider.send(to=PHONE, subject="", text="您好", language="zh-hans", key="k1").ok
    assert provider.lookup(to=PHONE, key="k1", since=timezone.now())[0] == Lookup.SENT
    assert provider.lookup(to=PHONE, key="k2", since=timezone.now())[0] == Lookup.NOT_SENT
    assert "您好" in (tmp_path / "sms.jsonl").read_text(encoding="utf-8")


def test_aliyun_without_its_keys_is_a_configuration_error(settings):
    settings.SMS_ALIYUN_ACCESS_KEY_ID = ""
    with pytest.raises(ImproperlyConfigured):
        sms_provider()
    settings.SMS_BACKEND = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured):
        sms_provider()


def test_a_row_waits_while_its_provider_is_misconfigured(fake_sms, settings):
    settings.SMS_ALIYUN_ACCESS_KEY_ID = ""
    [pk] = received()
    assert engine.delivery_attempt(delivery_id=pk) == Status.PENDING
    row = Delivery.objects.get(pk=pk)
    assert row.attempts == 0 and row.provider_answer.startswith("configuration:")
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "test-key-id"
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        assert engine.dispatch_due() == {Status.SENT: 1}
    assert len(fake_sms.delivered) == 1
