"""A stored document printed for another address is never served as current.

The record's QR code and the order's "sign in at" line carry PUBLIC_BASE_URL. When it changes (a
new domain, a demo on another port), the next request issues the document again for the new
address, with a new verification number; the old one is superseded and still verifies. The same
holds for a batch of code stickers: it is printed again before it is served.
"""

import io

import pytest
import zxingcpp
from django.core.files.storage import default_storage
from django.test import Client
from pypdf import PdfReader

from core import code_documents
from core.errors import DomainError
from core.models import AuditEvent, CodeBatch
from supervision.inspections import services as workflow
from supervision.inspections.documents import document_for, document_successor, document_verify
from supervision.models import Document, Result
from tests.factories import make_ready, make_task, submit

pytestmark = pytest.mark.django_db

RECORD, ORDER = Document.Kind.INSPECTION_RECORD, Document.Kind.RECTIFICATION_ORDER
HERE, THERE = "http://127.0.0.1:8000", "http://127.0.0.1:8101"


def qr_texts(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    images = {image.data: image.image for page in reader.pages for image in page.images}
    return [barcode.text for image in images.values() for barcode in zxingcpp.read_barcodes(image)]


def text_of(pdf: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def stored(document) -> bytes:
    with default_storage.open(document.file.name, "rb") as file:
        return file.read()


@pytest.fixture
def submitted(enterprise, team, regulator_user, loop_checklist):
    task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, {"mar-3": Result.NON_COMPLIANT})
    return submit(inspection, team[0].user)


def test_a_document_is_printed_for_the_address_it_is_served_from(settings, submitted):
    settings.PUBLIC_BASE_URL = THERE
    record = document_for(inspection=submitted, kind=RECORD)
    assert record.base_url == THERE
    assert qr_texts(stored(record)) == [f"{THERE}/v/{record.public_id}"]
    order = document_for(inspection=submitted, kind=ORDER)
    assert f"{THERE}/accounts/login/" in text_of(stored(order))


@pytest.mark.parametrize("kind", [RECORD, ORDER])
def test_after_the_address_changes_the_document_is_issued_again_and_the_old_one_still_verifies(
    settings, submitted, kind
):
    settings.PUBLIC_BASE_URL = HERE
    old = document_for(inspection=submitted, kind=kind)

    settings.PUBLIC_BASE_URL = THERE
    new = document_for(inspection=submitted, kind=kind)

    assert new.pk != old.pk and new.public_id != old.public_id
    assert new.base_url == THERE and new.superseded_at is None
    old.refresh_from_db()
    assert old.superseded_at is not None
    assert document_successor(old) == new
    if kind == RECORD:
        assert qr_texts(stored(new)) == [f"{THERE}/v/{new.public_id}"]
    # Asked again, the new one is served; nothing more is issued.
    assert document_for(inspection=submitted, kind=kind) == new
    issues = AuditEvent.objects.filter(action="document.issue", data__kind=kind).order_by("seq")
    assert [event.data["public_id"] for event in issues] == [old.public_id, new.public_id]
    assert issues.last().data["supersedes"] == old.public_id
    # Paper copies of the old one keep verifying, and both stored files are kept.
    assert document_verify(public_id=old.public_id).valid
    assert document_verify(public_id=new.public_id).valid
    assert default_storage.exists(old.file.name) and default_storage.exists(new.file.name)


def test_the_verification_page_of_a_superseded_document_says_so_and_stays_valid(settings, submitted):
    settings.PUBLIC_BASE_URL = HERE
    old = document_for(inspection=submitted, kind=RECORD)
    client = Client(headers={"Accept-Language": "en"})
    assert 'id="superseded"' not in client.get(f"/v/{old.public_id}").content.decode()
    settings.PUBLIC_BASE_URL = THERE
    document_for(inspection=submitted, kind=RECORD)
    page = client.get(f"/v/{old.public_id}").content.decode()
    assert 'id="superseded"' in page
    assert "issued again with a new verification number" in page
    assert "Valid: this document was issued by the platform and is unchanged." in page


def test_a_document_from_before_the_address_was_kept_is_served_as_it_is(settings, submitted):
    settings.PUBLIC_BASE_URL = HERE
    record = document_for(inspection=submitted, kind=RECORD)
    Document.objects.filter(pk=record.pk).update(base_url="")
    settings.PUBLIC_BASE_URL = THERE
    assert document_for(inspection=submitted, kind=RECORD).pk == record.pk
    assert Document.objects.filter(inspection=submitted).count() == 1


def test_the_api_serves_the_document_for_the_current_address(settings, submitted, team):
    settings.PUBLIC_BASE_URL = HERE
    client = Client()
    client.force_login(team[0].user)
    first = client.get(f"/api/v1/inspections/{submitted.pk}/record.pdf")
    assert first.status_code == 200
    settings.PUBLIC_BASE_URL = THERE
    second = client.get(f"/api/v1/inspections/{submitted.pk}/record.pdf")
    assert second.status_code == 200
    current = Document.objects.get(inspection=submitted, kind=RECORD, superseded_at__isnull=True)
    assert qr_texts(b"".join(second.streaming_content) if second.streaming else second.content) == [
        f"{THERE}/v/{current.public_id}"
    ]


# --- code batches ------------------------------------------------------------------------------------


def test_a_batch_printed_for_another_address_is_printed_again_before_it_is_served(
    settings, regulator_user, enterprise, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = HERE
    with django_capture_on_commit_callbacks(execute=True):
        batch = code_documents.code_batch_create(
            user=regulator_user, layout="sticker", usccs=[enterprise.uscc]
        )
    batch.refresh_from_db()
    assert (batch.status, batch.base_url) == (CodeBatch.Status.DONE, HERE)
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(regulator_user)
    url = f"/api/v1/code-batches/{batch.pk}/file"
    assert client.get(url).status_code == 200

    settings.PUBLIC_BASE_URL = THERE
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.get(url)
        # A second request while it is queued neither serves the old file nor queues it twice.
        with pytest.raises(DomainError):
            code_documents.code_batch_current(batch=CodeBatch.objects.get(pk=batch.pk))
    assert refused.status_code == 409
    assert refused.json()["code"] == "code_batch_rerendering"
    assert AuditEvent.objects.filter(action="code.batch.rerender").count() == 1

    batch.refresh_from_db()
    assert (batch.status, batch.base_url) == (CodeBatch.Status.DONE, THERE)
    served = client.get(url)
    assert served.status_code == 200
    pdf = b"".join(served.streaming_content)
    assert all(text.startswith(f"{THERE}/c/") for text in qr_texts(pdf)) and qr_texts(pdf)
