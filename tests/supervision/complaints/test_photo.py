"""The reporter's photo on the complaint desk: the officials who see the complaint see its display
copy and thumbnail (metadata stripped), never the original; nobody else gets it."""

import io

import pytest
from django.test import Client
from PIL import Image

from core.models import Complaint
from core.photos import photo_ingest
from tests.factories import MembershipFactory, jpeg, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def complaint(enterprise):
    return Complaint.objects.create(
        enterprise=enterprise, text="后厨有老鼠", client="test", photo=photo_ingest(upload=jpeg(color="blue"))
    )


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def image_of(response) -> Image.Image:
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def test_the_triaging_regulator_sees_the_thumbnail_linked_to_the_display_copy(complaint, regulator_user):
    client = client_for(regulator_user)
    page = client.get(f"/complaints/{complaint.pk}/").content.decode()
    assert f'href="/complaints/{complaint.pk}/photo/display" id="complaint-photo"' in page
    assert f'src="/complaints/{complaint.pk}/photo/thumbnail"' in page
    for variant in ("display", "thumbnail"):
        response = client.get(f"/complaints/{complaint.pk}/photo/{variant}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, max-age=3600"
        image = image_of(response)
        assert image.format == "JPEG" and not image.getexif()
    thumbnail = image_of(client.get(f"/complaints/{complaint.pk}/photo/thumbnail"))
    assert max(thumbnail.size) <= max(image_of(client.get(f"/complaints/{complaint.pk}/photo/display")).size)


def test_the_original_as_uploaded_is_never_served(complaint, regulator_user):
    client = client_for(regulator_user)
    for variant in ("original", "file", "..", "display.jpg"):
        assert client.get(f"/complaints/{complaint.pk}/photo/{variant}").status_code == 404


def test_a_complaint_without_a_photo_has_none_to_serve(enterprise, regulator_user):
    bare = Complaint.objects.create(enterprise=enterprise, text="没有照片", client="test")
    client = client_for(regulator_user)
    assert "none" in client.get(f"/complaints/{bare.pk}/").content.decode()
    assert client.get(f"/complaints/{bare.pk}/photo/display").status_code == 404


def test_the_business_an_outsider_and_an_inspector_without_the_task_do_not_get_it(
    complaint, enterprise, outsider
):
    url = f"/complaints/{complaint.pk}/photo/display"
    business = MembershipFactory(enterprise=enterprise).user
    inspector = make_team()[0].user
    for user in (business, outsider, inspector):
        assert client_for(user).get(url).status_code == 404
    assert client_for().get(url).status_code == 302  # to the sign-in page
