"""The notifications' test world: SMS through a fake Alibaba Cloud endpoint on 127.0.0.1, email
through Django's in-memory backend (the test runner's), and no quiet hours unless a test sets
them."""

from datetime import time

import pytest

from tests.supervision.notifications.builders import EN_TEMPLATE, ZH_TEMPLATE
from tests.supervision.notifications.fake_sms import KEY_ID, SECRET, FakeAliyun


@pytest.fixture
def fake_sms():
    fake = FakeAliyun()
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def _channels(settings, fake_sms):
    settings.NOTIFY_EMAIL = True
    settings.SMS_BACKEND = "aliyun"
    settings.SMS_ALIYUN_ENDPOINT = fake_sms.url
    settings.SMS_ALIYUN_ACCESS_KEY_ID = KEY_ID
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.SMS_ALIYUN_SIGN_NAME = "监管平台"
    settings.SMS_ALIYUN_TEMPLATES = f"zh-hans={ZH_TEMPLATE},en={EN_TEMPLATE}"
    settings.SMS_ALIYUN_TEMPLATE_PARAM = "content"
    settings.SMS_TIMEOUT = 5
    # No quiet hours unless a test sets them: most tests run at whatever time the clock says.
    settings.NOTIFY_QUIET_HOURS = (time(0), time(0))
    settings.PUBLIC_BASE_URL = "https://supervision.example.gov.cn"
