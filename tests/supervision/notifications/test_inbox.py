"""The inbox: the bell on every signed-in page, /notifications/ and its marks, the preferences page,
and GET /api/v1/notifications with POST .../read. Each user sees their own notifications only."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from core.errors import DomainError
from supervision.models import Notification, NotificationKind, NotificationSettings
from supervision.notifications.outbox import Event, notify
from supervision.notifications.services import preferences_update
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


def tell(user, n: int, **extra) -> Notification:
    notify(
        Event(
            kind=NotificationKind.COMPLAINT_RECEIVED,
            key=f"complaint.received:{n}",
            users=[user],
            params={"complaint": n, "enterprise": "测试企业"},
            link="/public/inspections/",
            **extra,
        )
    )
    return Notification.objects.get(event_key=f"complaint.received:{n}", user=user)


@pytest.fixture
def reader(db):
    return UserFactory(username="reader", email="reader@example.cn")


@pytest.fixture
def client_of():
    def make(user=None, language="en"):
        client = Client(headers={"Accept-Language": language})
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def three(reader):
    """Three notifications a minute apart, the newest last."""
    start = datetime(2025, 6, 2, 10, 0, tzinfo=BEIJING)
    made = []
    for n in range(3):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            made.append(tell(reader, n + 1))
    return made


# --- pages ----------------------------------------------------------------------------------------------


def test_the_bell_counts_unread_on_every_signed_in_page(reader, three, client_of):
    page = client_of(reader).get("/public/inspections/")
    assert 'id="unread-count"' in page.text and ">3</span>" in page.text
    assert client_of().get("/public/inspections/").text.count('id="bell"') == 0


def test_the_bell_stops_counting_at_99(reader, client_of):
    for n in range(101):
        tell(reader, n)
    assert ">99+</span>" in client_of(reader).get("/notifications/").text


def test_the_inbox_lists_newest_first_and_marks_read(reader, three, client_of):
    client = client_of(reader)
    page = client.get("/notifications/")
    assert page.status_code == 200
    ids = [int(part.split('"')[0]) for part in page.text.split('data-id="')[1:]]
    assert ids == [n.pk for n in reversed(three)]
    response = client.post(f"/notifications/{three[0].pk}/read", {"next": "/notifications/"})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert Notification.objects.get(pk=three[0].pk).read_at is not None
    # Opening one marks it read and goes to its record.
    response = client.post(f"/notifications/{three[1].pk}/read", {"open": "1"})
    assert response["Location"] == "/public/inspections/"
    assert client.get("/notifications/?unread=1").text.count('data-id="') == 1
    client.post("/notifications/read-all")
    assert not Notification.objects.filter(user=reader, read_at__isnull=True).exists()


def test_another_users_notification_is_not_found(reader, three, client_of):
    other = UserFactory(username="other")
    assert client_of(other).post(f"/notifications/{three[0].pk}/read").status_code == 404
    assert Notification.objects.get(pk=three[0].pk).read_at is None
    assert client_of(other).get("/notifications/").text.count('data-id="') == 0


def test_the_pages_need_a_sign_in(three, client_of):
    assert client_of().get("/notifications/").status_code == 302
    assert client_of().post(f"/notifications/{three[0].pk}/read").status_code == 302
    assert client_of().get("/notifications/preferences").status_code == 302
    assert Notification.objects.filter(read_at__isnull=False).count() == 0


def test_preferences_are_saved_and_mandatory_ones_stay_on(reader, client_of, settings):
    settings.SMS_BACKEND = "console"
    client = client_of(reader)
    assert client.get("/notifications/preferences").status_code == 200
    response = client.post(
        "/notifications/preferences",
        {
            "language": "en",
            "phone": "+86 138 0000 0001",
            "quiet_start": "21:30",
            "quiet_end": "08:00",
            "complaint_received:email": "",  # off
            "complaint_outcome:sms": "on",  # on, not a default
        },
    )
    assert response.status_code == 302
    prefs = NotificationSettings.objects.get(user=reader)
    assert (prefs.language, prefs.phone, prefs.quiet_start, prefs.quiet_end) == (
        "en",
        "+86 138 0000 0001",
        time(21, 30),
        time(8),
    )
    assert prefs.choices["complaint_received:email"] is False
    assert prefs.choices["complaint_outcome:sms"] is True


def test_a_mandatory_notification_cannot_be_switched_off(reader):
    with pytest.raises(DomainError) as refused:
        preferences_update(
            user=reader,
            language="",
            phone="",
            quiet_start=None,
            quiet_end=None,
            choices={"order_issued:sms": False},
        )
    assert refused.value.code == "mandatory_notification" and refused.value.status == 422
    assert not NotificationSettings.objects.filter(user=reader).exists()


@pytest.mark.parametrize(
    "posted, field",
    [
        ({"phone": "call me"}, "phone"),
        ({"quiet_start": "22:00"}, "quiet_start"),
        ({"language": "fr"}, "language"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_is_saved(reader, client_of, posted, field):
    client = client_of(reader)  # signing in keeps the language of the sign-in: a row already
    before = list(NotificationSettings.objects.filter(user=reader).values())
    response = client.post("/notifications/preferences", posted)
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.text
    assert list(NotificationSettings.objects.filter(user=reader).values()) == before


def test_the_language_of_the_sign_in_is_remembered(reader, client_of):
    client = Client(headers={"Accept-Language": "en"})
    assert client.post("/accounts/login/", {"username": "reader", "password": PASSWORD}).status_code == 302
    assert NotificationSettings.objects.get(user=reader).signin_language == "en"


# --- API -------------------------------------------------------------------------------------------------


def test_the_api_lists_newest_first_with_read_and_link(reader, three, client_of):
    client = client_of(reader)
    body = client.get("/api/v1/notifications?page_size=2").json()
    assert [item["id"] for item in body["items"]] == [three[2].pk, three[1].pk]
    assert body["has_next"] is True
    first = body["items"][0]
    assert first["read"] is False and first["kind"] == "complaint_received"
    assert first["link"] == "https://supervision.example.gov.cn/public/inspections/"
    assert first["title"] == "Your report #3 about 测试企业 was received"
    page_two = client.get("/api/v1/notifications?page_size=2&page=2").json()
    assert [item["id"] for item in page_two["items"]] == [three[0].pk] and page_two["has_next"] is False


def test_the_api_marks_read(reader, three, client_of):
    client = client_of(reader)
    answer = client.post(f"/api/v1/notifications/{three[0].pk}/read")
    assert answer.status_code == 200 and answer.json()["read"] is True
    again = client.post(f"/api/v1/notifications/{three[0].pk}/read")
    assert again.json()["read_at"] == answer.json()["read_at"]
    assert [i["id"] for i in client.get("/api/v1/notifications?unread=true").json()["items"]] == [
        three[2].pk,
        three[1].pk,
    ]
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2}


def test_the_api_answers_only_the_callers_own(reader, three, client_of):
    other = client_of(UserFactory(username="other"))
    answer = other.post(f"/api/v1/notifications/{three[0].pk}/read")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert other.get("/api/v1/notifications").json()["items"] == []
    assert client_of().get("/api/v1/notifications").status_code == 401
    assert client_of().post(f"/api/v1/notifications/{three[0].pk}/read").status_code == 401
    assert Notification.objects.filter(read_at__isnull=False).count() == 0
