"""Reports from the public card (co-governance): validated, rate-limited, audited.

A complaint is born here; every later change of its status (dismissed, merged as a duplicate,
turned into a task, then verified or found unfounded by that task's inspection) happens in
supervision/complaints/services.py.

The form is open to anyone, so it must not be turned against the platform or against the
business: the client's hourly limit is checked before the photo is decoded (and counted again
under a per-client lock, so parallel reports cannot slip past it); a public photo is decoded under
core.photos' lower limits; and many reports about one enterprise are flagged as a possible flood
for the regulators (supervision.complaints.floods), never refused, so a flood cannot silence a
genuine report.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import clients
from core.audit import audit_record
from core.codes import code_get_active
from core.errors import DomainError
from core.models import Complaint, ComplaintClient
from core.permissions import mask_name
from core.photos import PhotoError, photo_ingest, photos_discard, validate_photo_upload
from core.signals import enterprise_changed
from supervision.complaints.floods import flood_check
from supervision.complaints.signals import complaint_received

TEXT_MAX = 2000
CONTACT_MAX = 100
PHONE = re.compile(r"^\+?[\d\s-]{7,20}$")


def contact_masked(contact: str) -> str:
    """What an official outside triage sees of a reporter's contact: that there is one, not how to
    reach them. 13812345678 -> 138****5678, li.si@example.com -> l***@example.com, 李四 -> 李*."""
    contact = contact.strip()
    if not contact:
        return ""
    if "@" in contact:
        local, _at, domain = contact.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if PHONE.match(contact):
        digits = re.sub(r"\D", "", contact)
        # A mobile number keeps its carrier prefix and last four, as Chinese services print them.
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 11 else f"{digits[:2]}****{digits[-2:]}"
    return mask_name(contact)


def _check_rate(*, client: str) -> None:
    recent_from_client = Complaint.objects.filter(
        client=client, created_at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if recent_from_client >= settings.COMPLAINTS_PER_CLIENT_PER_HOUR:
        raise DomainError(
            _("You have sent several reports in the last hour; please try again later."),
            code="rate_limited_client",
            status=429,
        )


def _lock_client(client: str) -> None:
    """Take the client's row lock (created on its first report) for the rest of the transaction:
    a second report from the same client waits here, then counts the first."""
    ComplaintClient.objects.bulk_create([ComplaintClient(client=client)], ignore_conflicts=True)
    ComplaintClient.objects.select_for_update().get(client=client)


def complaint_submit(*, request, token: str, text: str, contact: str = "", photo=None) -> Complaint:
    """Check everything before writing anything: a refused report leaves no row and no file.

    The cheap checks first (the code, the client's rate, the words, the photo's header), then the
    photo is decoded (outside the transaction: Pillow's work must not hold the database), then the
    rate is counted again under the client's lock, with the report's row."""
    code = code_get_active(token)
    client = clients.client_key(request)
    user = request.user if request.user.is_authenticated else None
    _check_rate(client=client)
    text, contact = (text or "").strip(), (contact or "").strip()
    errors = {}
    if not text:
        errors["text"] = _("Describe the problem.")
    elif len(text) > TEXT_MAX:
        errors["text"] = _("At most %(n)d characters.") % {"n": TEXT_MAX}
    if len(contact) > CONTACT_MAX:
        errors["contact"] = _("At most %(n)d characters.") % {"n": CONTACT_MAX}
    if photo is not None:
        try:
            validate_photo_upload(photo, public=user is None)
        except PhotoError as exc:
            errors["photo"] = exc.message
    if errors:
        raise _incomplete(errors)
    stored_photo = None
    if photo is not None:
        try:
            # photo_ingest cleans up its own files if it fails.
            stored_photo = photo_ingest(upload=photo, uploaded_by=user, public=user is None)
        except PhotoError as exc:  # damaged image data, found only by decoding it
            raise _incomplete({"photo": exc.message}) from exc
    try:
        return _create(code=code, text=text, contact=contact, photo=stored_photo, user=user, client=client)
    except BaseException:
        if stored_photo is not None:
            photos_discard([stored_photo])
        raise


def _incomplete(errors: dict) -> DomainError:
    return DomainError(_("The report is not complete."), code="invalid_complaint", details=errors, status=422)


@transaction.atomic
def _create(*, code, text: str, contact: str, photo, user, client: str) -> Complaint:
    """The report's row, counted against the client's hourly limit under its lock."""
    _lock_client(client)
    _check_rate(client=client)
    complaint = Complaint.objects.create(
        enterprise=code.enterprise,
        code=code,
        text=text,
        contact=contact,
        photo=photo,
        reporter=user,
        client=client,
    )
    # The reporter's contact stays out of the audit data: the chain is read more widely than complaints.
    audit_record(
        actor=user,
        action="complaint.create",
        target=complaint,
        data={"enterprise": code.enterprise.uscc, "photo": photo.sha256 if photo else None},
    )
    flood_check(complaint=complaint)
    enterprise_changed.send(sender=Complaint, enterprise_id=code.enterprise_id)
    complaint_received.send(sender=Complaint, complaint=complaint)
    return complaint
