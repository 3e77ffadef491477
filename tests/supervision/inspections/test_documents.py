"""The inspection record and rectification order PDFs, and their verification at /v/<public_id>.

The submitted inspection is built directly with the ORM: these tests are about documents, not
about the workflow that submits inspections.
"""

import hashlib
import io
import json
from datetime import date, timedelta

import pytest
import zxingcpp
from django.contrib.auth import views as auth_views
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from checklists import publishing
from checklists.models import ChecklistItem
from core.audit import audit_record, content_digest
from core.errors import DomainError
from core.models import AuditEvent
from core.photos import photo_ingest
from supervision.inspections import documents, verify_urls
from supervision.inspections import services as workflow
from supervision.inspections.documents import document_for, verify_url
from supervision.inspections.services.record import order_issue_content
from supervision.landing import views as landing_views
from supervision.models import (
    Document,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    RectificationOrder,
    Result,
    Signature,
)
from tests.factories import InspectorFactory, UserFactory, make_checklist
from tests.factories.audit import tampering

# Only what core/base.html links to for a visitor, and the page under test: the site's urlconf
# pulls in every app, and these tests should not depend on modules being written alongside.
urlpatterns = [
    path("", landing_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("supervision.inspections.verify_urls")),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

RECORD, ORDER = Document.Kind.INSPECTION_RECORD, Document.Kind.RECTIFICATION_ORDER
ENTERPRISE_NAME = "北京市朝阳区老王家常菜馆有限公司"


def flat(text: str) -> str:
    return "".join(text.split())


def pdf_text(content: bytes) -> str:
    return flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def stored_bytes(document: Document) -> bytes:
    with default_storage.open(document.file.name, "rb") as stored:
        return stored.read()


def image_bytes(fmt: str, color="red", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def inspectors(db):
    return [
        InspectorFactory(user__first_name="李明", certificate_no="11010500000001"),
        InspectorFactory(user__first_name="赵强", certificate_no="11010500000002"),
    ]


@pytest.fixture
def checklist(db):
    checklist = make_checklist(items=3, publish=False)
    ChecklistItem.objects.filter(checklist=checklist, code="mar-2").update(
        required_action="立即悬挂有效许可证", required_action_en="Display a valid licence"
    )
    publishing.checklist_publish(checklist=checklist, actor=None)
    checklist.refresh_from_db()
    return checklist


def build_inspection(
    enterprise, checklist, inspectors, *, status=Inspection.Status.SUBMITTED, order=True, name=ENTERPRISE_NAME
):
    """A submitted inspection of the three items: compliant, not compliant (with a photo), n.a."""
    lead = inspectors[0]
    enterprise.name = name
    enterprise.save()
    today = date.today()
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=checklist.department,
        due_from=today,
        due_to=today + timedelta(days=7),
        created_by=UserFactory(),
    )
    task.inspectors.set(inspectors)
    now = timezone.now()
    submitted = status == Inspection.Status.SUBMITTED
    inspection = Inspection.objects.create(
        task=task,
        enterprise=enterprise,
        status=status,
        started_by=lead.user,
        note="后厨地面有积水",
        conclusion=Inspection.Conclusion.RECTIFY if submitted else "",
        rectify_deadline=now + timedelta(days=7) if submitted else None,
        representative_name="王五",
        submitted_at=now if submitted else None,
        submitted_by=lead.user if submitted else None,
    )
    inspection.checklists.set([checklist])
    items = {item.code: item for item in checklist.items.all()}
    results = {"mar-1": Result.COMPLIANT, "mar-2": Result.NON_COMPLIANT, "mar-3": Result.NOT_APPLICABLE}
    answers = {
        code: InspectionAnswer.objects.create(
            inspection=inspection, item=items[code], result=result, note=f"说明 {code}", updated_by=lead.user
        )
        for code, result in results.items()
    }
    answers["mar-2"].photos.add(photo_ingest(upload=io.BytesIO(image_bytes("JPEG")), uploaded_by=lead.user))
    # A different colour each, so that each signature is an image of its own in the PDF.
    for inspector, color in zip(inspectors, ["blue", "green"], strict=True):
        add_signature(inspection, Signature.Role.INSPECTOR, image_bytes("PNG", color, (120, 40)), inspector)
    add_signature(inspection, Signature.Role.REPRESENTATIVE, image_bytes("PNG", "black", (120, 40)))
    rectification = None
    if order:
        rectification = RectificationOrder.objects.create(
            number="ZG-2025-000123",
            enterprise=enterprise,
            inspection=inspection,
            deadline=now + timedelta(days=7),
        )
    Finding.objects.create(
        inspection=inspection,
        answer=answers["mar-2"],
        item=items["mar-2"],
        severity="major",
        order=rectification,
    )
    if submitted:
        # What the submit service seals (/v/ checks the record against it): the content hash, on
        # the record and in its audit events.
        inspection.content_hash = content_digest(workflow.inspection_content(inspection))
        inspection.save(update_fields=["content_hash"])
        audit_record(
            actor=lead.user,
            action="inspection.submit",
            target=inspection,
            data={"content_hash": inspection.content_hash, "findings": 1},
        )
        if rectification:
            audit_record(
                actor=lead.user,
                action="order.issue",
                target=rectification,
                data=order_issue_content(rectification, rectification.findings.all()),
            )
    return inspection


def add_signature(inspection, role, png: bytes, inspector=None) -> Signature:
    signature = Signature(
        inspection=inspection, role=role, inspector=inspector, sha256=hashlib.sha256(png).hexdigest()
    )
    signature.image.save("signature.png", ContentFile(png))
    return signature


@pytest.fixture
def inspection(enterprise, checklist, inspectors):
    return build_inspection(enterprise, checklist, inspectors)


@pytest.fixture
def record(inspection):
    return document_for(inspection=inspection, kind=RECORD)


# --- the on-site record ---------------------------------------------------------------------------


def test_the_record_shows_the_enterprise_items_results_and_legal_basis(
    record, inspection, enterprise, checklist
):
    text = pdf_text(stored_bytes(record))
    for snippet in [
        "现场检查笔录",
        "On-site inspection record",
        record.public_id,
        ENTERPRISE_NAME,
        enterprise.uscc,
        enterprise.address,
        enterprise.legal_representative,
        "检查项1是否符合要求？",
        "检查项2是否符合要求？",
        "检查项3是否符合要求？",
        "《中华人民共和国食品安全法》第五十五条",
        "不符合",
        "不适用",
        "说明 mar-2",
        "后厨地面有积水",
        "责令限期改正",
        "ZG-2025-000123",
        "李明",
        "11010500000001",
        "赵强",
        "11010500000002",
        f"第 {checklist.version} 版",
        "共检查3项：符合1项，不符合1项，不适用1项",
        "王五",
        inspection.content_hash,
        "扫码核验本文书真伪",
        verify_url(record.public_id),
    ]:
        assert flat(snippet) in text, snippet


def test_the_record_is_a4_with_page_numbers_and_the_record_number_in_the_footer(record):
    reader = PdfReader(io.BytesIO(stored_bytes(record)))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    text = flat(reader.pages[0].extract_text())
    assert f"第1页/共{len(reader.pages)}页" in text
    assert f"笔录编号{record.public_id}" in text


def test_the_record_embeds_the_photo_thumbnail_signatures_and_a_qr_that_decodes_to_the_verify_url(record):
    reader = PdfReader(io.BytesIO(stored_bytes(record)))
    # Pages may share one resource dictionary, so the same image can be listed on every page.
    images = {image.data: image.image for page in reader.pages for image in page.images}
    sizes = sorted(image.size for image in images.values())
    # The QR, the photo's thumbnail (a 40x30 photo stays 40x30) and the three signatures.
    assert sizes == sorted([(410, 410), (40, 30), (120, 40), (120, 40), (120, 40)])
    decoded = [barcode.text for image in images.values() for barcode in zxingcpp.read_barcodes(image)]
    assert decoded == [verify_url(record.public_id)]


def test_the_record_says_the_representative_refused_to_sign(inspection):
    inspection.representative_refused = True
    inspection.refusal_note = "当事人称负责人不在场"
    inspection.save()
    inspection.signatures.filter(role=Signature.Role.REPRESENTATIVE).delete()
    text = pdf_text(stored_bytes(document_for(inspection=inspection, kind=RECORD)))
    assert "当事人拒绝签字" in text
    assert "当事人称负责人不在场" in text


def test_it_prints_a_script_tag_in_a_name_as_text(enterprise, checklist, inspectors):
    inspection = build_inspection(enterprise, checklist, inspectors, name="<script>alert(1)</script>")
    html = documents.document_html(inspection=inspection, kind=RECORD, public_id="X" * 22)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "<script>alert(1)</script>" in pdf_text(
        stored_bytes(document_for(inspection=inspection, kind=RECORD))
    )


def test_it_reads_images_from_storage_and_never_by_url(inspection):
    html = documents.document_html(inspection=inspection, kind=RECORD, public_id="X" * 22)
    sources = [part.split('"', 1)[0] for part in html.split('src="')[1:]]
    assert len(sources) == 5
    assert all(source.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for source in sources)


# --- the rectification order --------------------------------------------------------------------------


def test_the_order_shows_the_findings_deadline_inspectors_and_how_to_answer(inspection, enterprise):
    document = document_for(inspection=inspection, kind=ORDER)
    order = inspection.order
    assert document.order == order
    text = pdf_text(stored_bytes(document))
    deadline = timezone.localtime(order.deadline)
    for snippet in [
        "责令改正通知书",
        "ZG-2025-000123",
        ENTERPRISE_NAME,
        enterprise.uscc,
        "检查项2是否符合要求？",
        "《中华人民共和国食品安全法》第五十五条",
        "立即悬挂有效许可证",
        "较重",
        f"{deadline.year}年{deadline.month}月{deadline.day}日",
        "李明",
        "11010500000002",
        "一业一码",
        "/accounts/login/",
        "扫码核验本文书真伪",
        verify_url(document.public_id),
    ]:
        assert flat(snippet) in text, snippet
    assert "检查项1是否符合要求？" not in text  # compliant items are no finding


def test_an_inspection_without_an_order_has_no_order_document(enterprise, checklist, inspectors):
    inspection = build_inspection(enterprise, checklist, inspectors, order=False)
    with pytest.raises(DomainError) as error:
        document_for(inspection=inspection, kind=ORDER)
    assert (error.value.code, error.value.status) == ("no_order", 404)
    assert not Document.objects.exists()


# --- issuing once ---------------------------------------------------------------------------------------


def test_it_renders_once_and_returns_the_stored_document_afterwards(inspection, monkeypatch):
    renders = []
    real_render = documents.render_pdf
    monkeypatch.setattr(documents, "render_pdf", lambda html: renders.append(1) or real_render(html))
    first = document_for(inspection=inspection, kind=RECORD)
    second = document_for(inspection=Inspection.objects.get(pk=inspection.pk), kind=RECORD)
    assert (second.pk, second.public_id, second.sha256) == (first.pk, first.public_id, first.sha256)
    assert len(renders) == 1
    assert Document.objects.filter(inspection=inspection, kind=RECORD).count() == 1
    assert hashlib.sha256(stored_bytes(first)).hexdigest() == first.sha256


def test_issuing_writes_the_hash_into_the_audit_chain(record, inspection):
    (event,) = AuditEvent.objects.filter(action="document.issue")
    assert event.actor_id is None
    assert event.data["public_id"] == record.public_id
    assert event.data["sha256"] == record.sha256
    assert event.data["kind"] == RECORD
    assert event.data["inspection"] == inspection.pk


def test_the_public_id_is_a_long_random_token_without_look_alikes(inspection):
    ids = {document_for(inspection=inspection, kind=kind).public_id for kind in (RECORD, ORDER)}
    assert len(ids) == 2
    for public_id in ids:
        assert len(public_id) >= 22  # 22 characters of a 31-letter alphabet: about 109 bits
        assert not set(public_id) & set("01OIL")


def test_it_refuses_a_draft(enterprise, checklist, inspectors):
    draft = build_inspection(enterprise, checklist, inspectors, status=Inspection.Status.DRAFT, order=False)
    with pytest.raises(DomainError) as error:
        document_for(inspection=draft, kind=RECORD)
    assert (error.value.code, error.value.status) == ("not_submitted", 409)
    assert not Document.objects.exists()
    assert not AuditEvent.objects.filter(action="document.issue").exists()


def test_it_refuses_an_unknown_kind(inspection):
    with pytest.raises(DomainError) as error:
        document_for(inspection=inspection, kind="poster")
    assert error.value.code == "unknown_kind"


def test_a_concurrent_first_request_loses_the_race_and_returns_the_winner(inspection, monkeypatch):
    real_render = documents.render_pdf
    calls = []

    def render_while_another_request_issues(html):
        calls.append(1)
        if len(calls) == 1:
            # The other request renders, stores and commits while this one is still rendering.
            document_for(inspection=inspection, kind=RECORD)
        return real_render(html)

    monkeypatch.setattr(documents, "render_pdf", render_while_another_request_issues)
    returned = document_for(inspection=inspection, kind=RECORD)
    winner = Document.objects.get(inspection=inspection, kind=RECORD)
    assert returned.pk == winner.pk
    assert AuditEvent.objects.filter(action="document.issue").count() == 1
    # The loser's file is gone: only the winner's PDF is in storage.
    _dirs, files = default_storage.listdir(winner.file.name.rsplit("/", 1)[0])
    assert files == [winner.file.name.rsplit("/", 1)[1]]


# --- the verification page -------------------------------------------------------------------------


def test_the_page_says_a_genuine_document_is_valid(client, record):
    response = client.get(f"/v/{record.public_id}")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Valid: this document was issued by the platform and is unchanged." in content
    assert "The stored file matches its registered SHA-256." in content
    assert "The audit chain holds the intact issue record of this document" in content
    assert ENTERPRISE_NAME in content
    assert record.sha256[:8] in content and record.sha256[-8:] in content
    assert "on-site inspection record" in content
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_page_shows_no_personal_data(client, record, enterprise):
    content = client.get(f"/v/{record.public_id}").content.decode()
    for personal in [enterprise.legal_representative, "王五", "李明", "11010500000001", enterprise.address]:
        assert personal not in content


def test_the_page_accepts_the_id_in_lower_case(client, record):
    assert client.get(f"/v/{record.public_id.lower()}").status_code == 200


def test_an_unknown_or_malformed_id_is_404(client, record):
    for public_id in ["Z" * 22, "not-a-token", record.public_id + "2"]:
        response = client.get(f"/v/{public_id}")
        assert response.status_code == 404
        assert "No document has this verification number." in response.content.decode()


def test_the_page_says_a_stored_file_changed_after_issue_does_not_match(client, record):
    with default_storage.open(record.file.name, "wb") as stored:
        stored.write(stored_bytes(record).replace(b"%%EOF", b"%%EOF\n% edited"))
    content = client.get(f"/v/{record.public_id}").content.decode()
    assert "Warning: this document could not be verified." in content
    assert "The stored file does not match its registered SHA-256" in content


def test_the_page_says_a_missing_stored_file_is_missing(client, record):
    default_storage.delete(record.file.name)
    content = client.get(f"/v/{record.public_id}").content.decode()
    assert "The stored file is missing." in content
    assert "Warning: this document could not be verified." in content


def test_the_page_says_the_chain_check_fails_when_the_issue_event_was_edited(client, record):
    event = AuditEvent.objects.get(action="document.issue")
    forged = {**event.data, "sha256": "0" * 64}
    placeholder = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with tampering() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET data = {placeholder} WHERE id = %s",
            [json.dumps(forged), event.pk],
        )
    content = client.get(f"/v/{record.public_id}").content.decode()
    assert "Warning: this document could not be verified." in content
    assert "The audit chain check failed:" in content
    assert "the issue record of this document was edited." in content


def test_the_page_says_the_chain_check_fails_when_the_next_event_was_removed(client, record, inspection):
    # The public page checks the issue event's own links (constant time); the whole chain is
    # walked by verify_audit, which the public cannot trigger.
    from core.audit import audit_record

    later = audit_record(actor=None, action="test.other", data={"n": 1})
    assert "the audit chain is broken." not in client.get(f"/v/{record.public_id}").content.decode()
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [later.pk])
    content = client.get(f"/v/{record.public_id}").content.decode()
    assert "the audit chain is broken." in content


def test_an_uploaded_copy_of_the_original_matches(client, record):
    upload = ContentFile(stored_bytes(record), name="record.pdf")
    response = client.post(f"/v/{record.public_id}", {"file": upload})
    assert response.status_code == 200
    assert "Your copy matches the original" in response.content.decode()


def test_an_uploaded_modified_copy_does_not_match(client, record):
    altered = stored_bytes(record).replace(ENTERPRISE_NAME.encode(), b"x") + b"\n% appended"
    response = client.post(f"/v/{record.public_id}", {"file": ContentFile(altered, name="record.pdf")})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Your copy does NOT match the original — the copy was altered" in content
    assert "Your copy matches the original" not in content


def test_a_post_without_a_file_asks_for_one(client, record):
    response = client.post(f"/v/{record.public_id}", {})
    assert response.status_code == 400
    assert "Choose the PDF file to compare." in response.content.decode()


def test_an_upload_over_the_limit_is_refused(client, record, monkeypatch):
    monkeypatch.setattr(verify_urls, "VERIFY_UPLOAD_MAX_BYTES", 1000)
    # Just over the limit: read, then refused by its size.
    response = client.post(f"/v/{record.public_id}", {"file": ContentFile(b"x" * 1001, name="a.pdf")})
    assert response.status_code == 413
    # Far over it: refused by the request's length, before the body is parsed.
    response = client.post(f"/v/{record.public_id}", {"file": ContentFile(b"x" * 100_000, name="a.pdf")})
    assert response.status_code == 413
    assert "The file is larger than" in response.content.decode()


def test_the_upload_form_is_protected_against_csrf(record):
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    upload = ContentFile(stored_bytes(record), name="record.pdf")
    assert client.post(f"/v/{record.public_id}", {"file": upload}).status_code == 403
    page = client.get(f"/v/{record.public_id}")
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    token = client.cookies["csrftoken"].value
    upload = ContentFile(stored_bytes(record), name="record.pdf")
    response = client.post(f"/v/{record.public_id}", {"file": upload, "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_the_page_escapes_the_enterprise_name(client, enterprise, checklist, inspectors):
    inspection = build_inspection(enterprise, checklist, inspectors, name="<script>alert(1)</script>")
    document = document_for(inspection=inspection, kind=RECORD)
    content = client.get(f"/v/{document.public_id}").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content


def test_the_page_needs_no_login(record):
    response = Client().get(f"/v/{record.public_id}")
    assert response.status_code == 200
    assert ENTERPRISE_NAME in response.content.decode()
