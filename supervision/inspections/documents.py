"""The inspection's printable documents: the on-site record (现场检查笔录) and the rectification
order (责令改正通知书), and their verification at ``/v/<public_id>``.

A document is rendered once, when first asked for, and stored with its SHA-256; the hash also
goes into the audit chain ("document.issue"). Every later request serves the stored file, so the
copy the business was handed and the one on the server are the same bytes, and anyone holding a
copy can check it: the page recomputes the stored file's hash, looks for the intact issue event
in the chain, and compares an uploaded copy with the registered hash.

Only submitted inspections have documents: a submitted inspection is immutable, so what the PDF
says can never drift from the record.

Department walls: an official who may see only some departments' items of a joint inspection
(permissions.item_wall) is never served the complete document. document_for_viewer gives them an
*extract* (节录) showing their departments' items only: a document of its own, stored once per
set of departments with its own verification number and SHA-256, audited like any other, saying in
print that it is an extract and of which departments. So /v/ vouches for an extract as exactly
that (the words are part of the hashed bytes) and can never pass it off as the complete record,
nor the complete record's hash vouch for an extract.
"""

import base64
import hashlib
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image, ImageChops

from core import integrity
from core.audit import audit_record, event_hash, target_label, verify_neighbourhood
from core.audit_keys import UnknownKey
from core.codes import new_token, normalize_token, printed_for_here
from core.errors import DomainError, NotFound
from core.models import AuditEvent, Department, Inspector
from core.names import person_name
from core.pdf import render_pdf
from core.qr import png_data_uri, qr_png
from supervision.inspections.integrity import (
    document_file_sha256,
    document_issue_mismatch,
    inspection_check,
    order_issue_check,
)
from supervision.inspections.permissions import item_wall
from supervision.models import Document, Finding, Inspection, RectificationOrder, Signature

logger = logging.getLogger(__name__)

TEMPLATES = {
    Document.Kind.INSPECTION_RECORD: "inspections/pdf/inspection_record.html",
    Document.Kind.RECTIFICATION_ORDER: "inspections/pdf/rectification_order.html",
}
# The printed frame is Chinese with English alongside, whatever the UI language; these labels do
# not go through the catalogue, so a translation change can never alter an issued document's wording.
RESULT_LABELS = {
    "compliant": ("符合", "compliant"),
    "non_compliant": ("不符合", "not compliant"),
    "not_applicable": ("不适用", "not applicable"),
}
SEVERITY_LABELS = {"minor": ("一般", "minor"), "major": ("较重", "major"), "critical": ("严重", "critical")}
CONCLUSION_LABELS = {
    "pass": ("未发现问题，检查通过", "pass"),
    "rectify": ("责令限期改正", "rectify within a deadline"),
    "refer": ("移交立案调查", "referred for investigation"),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A signature prints in a box of at most 52 x 18 mm (.signature img in the record's template); 300 dpi
# of that keeps every stroke sharp. Tablets export up to 1500 x 500 px (signature_pad.js).
SIGNATURE_PRINT_PIXELS = (614, 213)
# What HTML reads as a line break in text (a carriage return alone or before a line feed, a line feed).
_NEWLINES = re.compile(r"\r\n?|\n")


def verify_url(public_id: str) -> str:
    """What the document's QR code encodes and prints: short enough for a small code."""
    return f"{settings.PUBLIC_BASE_URL}/v/{public_id}"


def _sha256_of(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


# --- what the documents show ----------------------------------------------------------------------


def _image_data_uri(field, *, print_pixels: tuple[int, int] | None = None) -> str | None:
    """A stored image as a data: URI (the PDF renderer fetches nothing by URL), or None.

    Only PNG and JPEG, told by their first bytes: a signature or thumbnail is one of the two,
    and anything else (an SVG with references, say) is left out rather than handed to the renderer.
    ``print_pixels``: a PNG (a signature) is handed over as _print_png makes it, at most this size.
    """
    if not field:
        return None
    try:
        with field.storage.open(field.name, "rb") as stored:
            content = stored.read()
    except OSError:
        logger.warning("document image missing from storage: %s", field.name)
        return None
    if content.startswith(PNG_MAGIC):
        content_type = "image/png"
        if print_pixels:
            content = _print_png(content, print_pixels)
    elif content.startswith(b"\xff\xd8\xff"):
        content_type = "image/jpeg"
    else:
        logger.warning("document image is neither PNG nor JPEG: %s", field.name)
        return None
    return f"data:{content_type};base64,{base64.b64encode(content).decode('ascii')}"


def _print_png(content: bytes, max_pixels: tuple[int, int] | None = None) -> bytes:
    """A PNG (a QR code, a signature) as the renderer handles it fastest: opaque, one gray channel
    unless it has colour, and at most ``max_pixels``.

    WeasyPrint decodes every PNG and encodes it again for the PDF: an RGB one as three channels,
    an RGBA one (what a tablet's canvas exports) as three plus a mask of its own, a 1-bit one (the
    QR code) widened to RGB and encoded twice. One gray channel at the printed size is a third of
    that work for a QR code or a small signature, and a small part of it for a 1500 px pad. What
    prints is what printed: transparent parts lay on the white page anyway, gray stays gray, colour
    stays colour, and a pad's 1500 px become 300 dpi of the printed box. What Pillow cannot read is
    passed on unchanged, for the renderer to judge as before.
    """
    try:
        with Image.open(io.BytesIO(content), formats=["PNG"]) as image:
            if image.mode not in ("1", "L", "LA", "P", "PA", "RGB", "RGBA"):
                return content  # 16-bit and the like: not what a pad or the QR code makes
            if image.mode in ("1", "L"):
                picture = image.convert("L")
            else:
                bands = image.split() if image.mode == "RGBA" else ()
                if bands and bands[3].getextrema() == (255, 255):
                    # Opaque, as the tablet's pad exports it (a white canvas): nothing to lay on white,
                    # and its bands are read straight off (laying it on white through the alpha mask,
                    # then splitting that, took a third of the time of decoding it).
                    red, green, blue = bands[:3]
                    picture = None
                else:
                    if image.mode in ("LA", "PA", "RGBA") or "transparency" in image.info:
                        rgba = image.convert("RGBA")
                        picture = Image.new("RGB", image.size, "white")
                        picture.paste(rgba, (0, 0), rgba)
                    else:
                        picture = image.convert("RGB")
                    red, green, blue = picture.split()
                if (
                    not ImageChops.difference(red, green).getbbox()
                    and not ImageChops.difference(green, blue).getbbox()
                ):
                    picture = red
                elif picture is None:
                    picture = Image.merge("RGB", (red, green, blue))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return content
    if max_pixels and (picture.width > max_pixels[0] or picture.height > max_pixels[1]):
        # Area averaging: strokes keep smooth edges, without the ringing of sharper filters around
        # them (a quarter of the time, and a fifth of the bytes, of Lanczos).
        picture.thumbnail(max_pixels, Image.Resampling.BOX)
    out = io.BytesIO()
    # Only the renderer reads this copy, and it compresses the pixels again for the PDF.
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _one_line(text: str) -> str:
    """Text for a place of the record that keeps newlines (white-space: pre-line, for the line break
    the template puts before it), with its own newlines made the spaces that white-space: normal
    would have printed."""
    return _NEWLINES.sub(" ", text)


def _person(inspector: Inspector) -> dict:
    return {
        "name": person_name(inspector.user),
        "certificate_no": inspector.certificate_no,
        "department": inspector.department.name,
    }


def _inspectors(inspection: Inspection) -> list[dict]:
    inspectors = inspection.task.inspectors.select_related("user", "department").order_by("certificate_no")
    return [_person(inspector) for inspector in inspectors]


def _finding_rows(findings) -> list[dict]:
    return [
        {
            "item": finding.item,
            "severity": SEVERITY_LABELS.get(finding.severity, (finding.severity, finding.severity)),
            "note": finding.answer.note,
        }
        for finding in findings
    ]


def _common(inspection: Inspection, public_id: str, extract: list[Department] | None) -> dict:
    url = verify_url(public_id)
    return {
        "public_id": public_id,
        "inspection": inspection,
        "enterprise": inspection.enterprise,
        "inspectors": _inspectors(inspection),
        "department": inspection.task.department,
        "verify_url": url,
        "verify_qr": png_data_uri(_print_png(qr_png(url))),
        # An extract names its departments in print (Chinese names: the frame is printed in Chinese).
        "extract": [department.name for department in extract] if extract else None,
    }


def _only(extract: list[Department] | None, department: str = "item__checklist__department") -> Q:
    """The rows of an extract's departments (every row for the complete document)."""
    return Q(**{f"{department}__in": [d.pk for d in extract]}) if extract else Q()


def _record_context(inspection: Inspection, public_id: str, extract: list[Department] | None) -> dict:
    answers = (
        inspection.answers.filter(_only(extract))
        .select_related("item__checklist__department")
        .prefetch_related("photos")
        .order_by("item__checklist__department__name", "item__checklist_id", "item__position")
    )
    rows = [
        {
            "item": answer.item,
            "result": answer.result,
            "result_label": RESULT_LABELS.get(answer.result, (answer.result, answer.result)),
            "question_en": _one_line(answer.item.question_en),
            "legal_basis": _one_line(answer.item.legal_basis),
            "code": _one_line(answer.item.code),
            "note": answer.note,
            "photos": [uri for uri in (_image_data_uri(p.thumbnail) for p in answer.photos.all()) if uri],
        }
        for answer in answers
    ]
    findings = (
        Finding.objects.filter(_only(extract), inspection=inspection)
        .select_related("item", "answer")
        .order_by("item__checklist_id", "item__position")
    )
    signatures = list(
        inspection.signatures.select_related("inspector__user", "inspector__department").order_by("pk")
    )
    inspector_signatures = [
        {
            **_person(signature.inspector),
            "image": _image_data_uri(signature.image, print_pixels=SIGNATURE_PRINT_PIXELS),
            "at": signature.signed_at,
        }
        for signature in signatures
        if signature.role == Signature.Role.INSPECTOR and signature.inspector
    ]
    representative = next((s for s in signatures if s.role == Signature.Role.REPRESENTATIVE), None)
    counts = {key: sum(1 for row in rows if row["result"] == key) for key in RESULT_LABELS}
    return {
        **_common(inspection, public_id, extract),
        "checklists": inspection.checklists.filter(_only(extract, "department"))
        .select_related("department")
        .order_by("department__name"),
        "rows": rows,
        "counts": counts,
        "findings": _finding_rows(findings),
        "conclusion": CONCLUSION_LABELS.get(inspection.conclusion),
        "order": RectificationOrder.objects.filter(inspection=inspection).first(),
        "inspector_signatures": inspector_signatures,
        "representative_signature": representative,
        "representative_image": _image_data_uri(representative.image, print_pixels=SIGNATURE_PRINT_PIXELS)
        if representative
        else None,
    }


def _order_context(
    inspection: Inspection, order: RectificationOrder, public_id: str, extract: list[Department] | None
) -> dict:
    findings = (
        order.findings.filter(_only(extract))
        .select_related("item", "answer")
        .order_by("item__checklist_id", "item__position")
    )
    return {
        **_common(inspection, public_id, extract),
        "order": order,
        "findings": _finding_rows(findings),
        "sign_in_url": f"{settings.PUBLIC_BASE_URL}/accounts/login/",
    }


def document_html(
    *, inspection: Inspection, kind: str, public_id: str, order=None, extract: list[Department] | None = None
) -> str:
    """The document's HTML (for the renderer; the bench and tests call it directly). ``extract``:
    the departments whose items an extract shows; None for the complete document."""
    if kind == Document.Kind.RECTIFICATION_ORDER:
        context = _order_context(inspection, order, public_id, extract)
    else:
        context = _record_context(inspection, public_id, extract)
    # Printed in Chinese, with times in the platform's zone, whatever the requester's settings.
    with translation.override("zh-hans"):
        return render_to_string(TEMPLATES[kind], context)


# --- issuing -------------------------------------------------------------------------------------------


def _current(inspection: Inspection, kind: str, extract_departments: str = "") -> Document | None:
    return Document.objects.filter(
        inspection=inspection, kind=kind, extract_departments=extract_departments, superseded_at__isnull=True
    ).first()


def _extract_of(departments) -> list[Department] | None:
    """The departments of an extract, by code (the order of Document.extract_departments)."""
    if departments is None:
        return None
    extract = list(Department.objects.filter(pk__in=list(departments)).order_by("code"))
    if not extract:
        raise ValueError("an extract shows the items of at least one department")
    return extract


def _departments_shown(inspection: Inspection, kind: str) -> set[int]:
    """Whose items the complete document shows: the record every item of the snapshotted checklists
    (and the findings among them), the order notice its findings."""
    if kind == Document.Kind.RECTIFICATION_ORDER:
        return set(
            Finding.objects.filter(order__inspection=inspection).values_list(
                "item__checklist__department_id", flat=True
            )
        )
    return set(inspection.checklists.values_list("department_id", flat=True)) | set(
        inspection.answers.values_list("item__checklist__department_id", flat=True)
    )


def document_for_viewer(*, inspection: Inspection, kind: str, viewer) -> Document:
    """The document ``viewer`` may have (the department walls, permissions.item_wall): the complete
    one when they see every item it shows, else the extract of their own departments' items,
    issued on first request like the complete one. Refused (403 ``no_items_of_your_department``)
    when not one item of the document is theirs: an extract would be a frame around nothing."""
    wall = item_wall(viewer, inspection)
    if wall.whole or kind not in Document.Kind.values:
        return document_for(inspection=inspection, kind=kind)
    shown = _departments_shown(inspection, kind)
    if not shown or shown <= wall.departments:
        # Nothing hidden (or nothing to show: document_for says why, no order, not submitted).
        return document_for(inspection=inspection, kind=kind)
    if not shown & wall.departments:
        raise DomainError(
            _("This document shows only other departments' items; there is nothing in it for you."),
            code="no_items_of_your_department",
            status=403,
        )
    return document_for(inspection=inspection, kind=kind, departments=shown & wall.departments)


def document_for(*, inspection: Inspection, kind: str, departments=None) -> Document:
    """The current stored document of this kind for a submitted inspection, issued on first request.

    ``departments`` (ids): the extract showing only these departments' items, a document of its
    own (one current per kind and set of departments); None for the complete document. Who gets
    which is document_for_viewer's business.

    Rendering takes a second or more, so it happens outside any transaction; two concurrent
    first requests may both render, the unique (inspection, kind) constraint on current documents
    lets one insert, and the other deletes its file and returns the winner's document.

    A stored document printed for another address (PUBLIC_BASE_URL changed: a new domain, a demo
    on another port) is never served as current: a new one is issued, with its own verification
    number, and the old one is marked superseded. Copies of the old one still verify.
    """
    if kind not in Document.Kind.values:
        raise DomainError(_("Unknown kind of document."), code="unknown_kind", status=400)
    extract = _extract_of(departments)
    extract_departments = ",".join(department.code for department in extract) if extract else ""
    existing = _current(inspection, kind, extract_departments)
    if existing is not None and printed_for_here(existing.base_url):
        return existing
    inspection = Inspection.objects.select_related(
        "enterprise", "task__department", "submitted_by", "started_by"
    ).get(pk=inspection.pk)
    if inspection.status != Inspection.Status.SUBMITTED:
        raise DomainError(
            _("The inspection is not submitted yet; its documents exist once it is."),
            code="not_submitted",
            status=409,
        )
    order = None
    if kind == Document.Kind.RECTIFICATION_ORDER:
        order = RectificationOrder.objects.filter(inspection=inspection).first()
        if order is None:
            raise NotFound(_("This inspection issued no rectification order."), code="no_order")

    public_id = new_token()
    base_url = settings.PUBLIC_BASE_URL
    pdf = render_pdf(
        document_html(inspection=inspection, kind=kind, public_id=public_id, order=order, extract=extract)
    )
    sha256 = hashlib.sha256(pdf).hexdigest()
    document = Document(
        kind=kind,
        public_id=public_id,
        inspection=inspection,
        order=order,
        sha256=sha256,
        base_url=base_url,
        extract_departments=extract_departments,
    )
    document.file.save(f"{kind}-{public_id}.pdf", ContentFile(pdf), save=False)
    try:
        with transaction.atomic():
            superseded = None
            if existing is not None:
                # Locked and read again: a concurrent request may have superseded it already.
                superseded = (
                    Document.objects.select_for_update()
                    .filter(pk=existing.pk, superseded_at__isnull=True)
                    .first()
                )
                if superseded is not None:
                    superseded.superseded_at = timezone.now()
                    superseded.save(update_fields=["superseded_at"])
            document.save()
            audit_record(
                actor=None,
                action="document.issue",
                target=document,
                data={
                    "kind": kind,
                    "public_id": public_id,
                    "sha256": sha256,
                    "inspection": inspection.pk,
                    "order": order.number if order else None,
                    "base_url": base_url,
                    "supersedes": superseded.public_id if superseded else None,
                    "extract": extract_departments.split(",") if extract_departments else None,
                },
            )
    except IntegrityError:
        document.file.delete(save=False)
        winner = _current(inspection, kind, extract_departments)
        if winner is None:  # not the (inspection, kind, extract) race: a real error
            raise
        return winner
    except BaseException:
        document.file.delete(save=False)
        raise
    return document


def document_successor(document: Document) -> Document | None:
    """The document that superseded this one (printed for the platform's address now), if any."""
    if document.superseded_at is None:
        return None
    return _current(document.inspection, document.kind, document.extract_departments)


# --- verification ----------------------------------------------------------------------------------
#
# /v/<public_id> checks, on every request: the stored file still has the registered hash; the
# "document.issue" event exists, its keyed hash holds (a forged PDF whose hashes were updated in the
# database cannot recompute it without the key) and it is stitched to its neighbours; and the
# record behind the document still says what was submitted: the inspection's "inspection.submit"
# (and for an order, its "order.issue") event holds, is in the chain, and the record recomputed
# from its rows hashes to what that event recorded. verify_audit checks every document this way.


@dataclass(frozen=True)
class Verification:
    """What /v/<public_id> reports. Each check is recomputed on every request; nothing is cached."""

    document: Document
    file_ok: bool
    file_problem: str  # "", "missing" or "altered"
    issue_event_ok: bool
    issue_event_problem: str  # "", "missing", "altered" or "mismatch"
    chain_ok: bool
    record_ok: bool = True
    # "", "missing" (no submit/issue event of the record), "altered" (that event was edited or is
    # no longer in the chain) or "changed" (the record no longer hashes to what it recorded)
    record_problem: str = ""

    @property
    def audit_ok(self) -> bool:
        return self.issue_event_ok and self.chain_ok

    @property
    def valid(self) -> bool:
        return self.file_ok and self.audit_ok and self.record_ok


def document_get_public(*, public_id: str) -> Document:
    """The document behind a printed verification id; NotFound for anything else."""
    token = normalize_token(public_id)
    document = (
        Document.objects.select_related("inspection__enterprise", "order").filter(public_id=token).first()
        if token
        else None
    )
    if document is None:
        raise NotFound(_("No document has this verification number."), code="unknown_document")
    return document


def _check_file(document: Document) -> tuple[bool, str]:
    actual = document_file_sha256(document)
    if actual is None:
        return False, "missing"
    return (True, "") if actual == document.sha256 else (False, "altered")


def _check_issue_event(document: Document) -> tuple[bool, str, AuditEvent | None]:
    target_type, target_id = target_label(document)
    # The target narrows the search to the audit_target index (a JSON key alone is not indexed);
    # an event whose target was edited is then "missing", which fails the check as it should.
    events = list(
        AuditEvent.objects.filter(
            target_type=target_type,
            target_id=target_id,
            action="document.issue",
            data__public_id=document.public_id,
        ).order_by("seq")
    )
    if not events:
        return False, "missing", None
    if len(events) > 1:
        return False, "mismatch", None  # an id is issued once; a second event is not ours
    (event,) = events
    if _event_broken(event):
        return False, "altered", event
    if document_issue_mismatch(document, event):
        return False, "mismatch", event
    return True, "", event


def _event_broken(event: AuditEvent) -> bool:
    """Whether the event's own keyed hash fails: edited, re-hashed without the key, or keyed with
    a key this installation does not hold."""
    try:
        return event_hash(event) != event.hash
    except UnknownKey:
        return True


def _record_events(model, pk: int, action: str) -> list[AuditEvent]:
    return integrity.events_for(model, [pk], [action]).get(str(pk), [])


def _check_record(document: Document) -> tuple[bool, str]:
    """Whether the inspection (and the order) behind the document still say what the audit chain
    recorded when they were submitted (issued)."""
    inspection = Inspection.objects.select_related("enterprise").get(pk=document.inspection_id)
    submits = _record_events(Inspection, inspection.pk, "inspection.submit")
    if len(submits) != 1:
        return False, "missing"
    if _event_broken(submits[0]) or not verify_neighbourhood(submits[0]):
        return False, "altered"
    if inspection.status != Inspection.Status.SUBMITTED or inspection_check(inspection, submits):
        return False, "changed"
    if document.order_id is not None:
        issues = _record_events(RectificationOrder, document.order_id, "order.issue")
        if len(issues) != 1:
            return False, "missing"
        if _event_broken(issues[0]) or not verify_neighbourhood(issues[0]):
            return False, "altered"
        if order_issue_check(document.order, issues[0]):
            return False, "changed"
    return True, ""


def document_verify(*, public_id: str) -> Verification:
    """Recompute whether the stored file, the audit chain and the record still vouch for this
    document."""
    document = document_get_public(public_id=public_id)
    file_ok, file_problem = _check_file(document)
    event_ok, event_problem, event = _check_issue_event(document)
    # The event must still be stitched to its neighbours. Walking the whole chain on every public
    # request would let anyone make the server read millions of rows; verify_audit does that.
    chain_ok = event is not None and verify_neighbourhood(event)
    record_ok, record_problem = _check_record(document)
    return Verification(
        document, file_ok, file_problem, event_ok, event_problem, chain_ok, record_ok, record_problem
    )


def document_compare(*, document: Document, upload) -> bool:
    """Whether an uploaded copy (a Django UploadedFile) is byte for byte the registered document."""
    return _sha256_of(upload.chunks()) == document.sha256
