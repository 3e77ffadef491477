"""Photos arriving with the loop's writes are decoded only once the sender may make the write
(issue 16, part 3: authorise, then decode): decoding is what costs, so a refused sender costs a
header read, not a full decode."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, ImageFile

from core.errors import DomainError
from core.models import Photo
from supervision.inspections import services as workflow
from supervision.models import RectificationOrder
from tests.factories import items_of, rectify

pytestmark = pytest.mark.django_db


def photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "orange").save(buffer, "JPEG")
    return SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def decoded(monkeypatch) -> list:
    sizes = []
    real_load = ImageFile.ImageFile.load

    def load(image):
        if image.tile:
            sizes.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


def test_an_admin_not_on_the_task_is_refused_before_the_photo_is_decoded(inspection, admin_user, decoded):
    item = items_of(inspection)["mar-1"]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(admin_user)  # sees every record, is not one of its inspectors
    response = client.post(
        f"/api/v1/inspections/{inspection.pk}/answers/{item.pk}/photos", {"photo": photo()}
    )
    assert response.status_code == 403 and response.json()["code"] == "not_assigned"
    assert decoded == [] and not Photo.objects.exists()


def test_the_assigned_inspector_s_photo_is_decoded_once(inspection, lead, decoded):
    item = items_of(inspection)["mar-1"]
    workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, result="compliant")
    answer = workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, photos=[photo()])
    assert decoded == [(400, 300)]
    assert answer.photos.count() == 1


def test_an_order_no_longer_open_is_refused_before_the_photos_are_decoded(order, business_user, decoded):
    rectify(order, business_user)  # answered: now waiting for the inspectors
    assert RectificationOrder.objects.get(pk=order.pk).status == RectificationOrder.Status.SUBMITTED
    order.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        rectify(order, business_user, photos=[photo()])
    assert refused.value.code == "order_not_open"
    assert decoded == [] and not Photo.objects.exists()


def test_a_damaged_second_photo_takes_back_the_first(order, business_user):
    first, second = order.findings.order_by("pk")[:2]
    damaged = SimpleUploadedFile("d.jpg", photo().read()[:200], content_type="image/jpeg")
    entries = {
        first.pk: {"text": "fixed", "photos": [photo()]},
        second.pk: {"text": "fixed", "photos": [damaged]},
    }
    with pytest.raises(DomainError) as refused:
        workflow.rectification_submit(order=order, actor=business_user, note="", entries=entries)
    assert refused.value.code == "truncated"
    assert not Photo.objects.exists()
