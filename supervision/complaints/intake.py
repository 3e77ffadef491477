"""Reports from the public card (co-governance): validated, rate-limited, audited.

A complaint is born here; every later change of its status (dismissed, merged as a duplicate,
turned into a task, then verified or found unfounded by that task's inspection) happens in
supervision/complaints/services.py.
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
from core.models import Complaint
from core.permissions import mask_name
from core.photos import photo_ingest, validate_photo_upload
from core.signals import enterprise_changed

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


def _check_rate(*, client: str, enterprise_id: int) -> None:
    now = timezone.now()
    recent_from_client = Complaint.objects.filter(
        client=client, created_at__gte=now - timedelta(hours=1)
    ).count()
    if recent_from_client >= settings.COMPLAINTS_PER_CLIENT_PER_HOUR:
        raise DomainError(
            _("You have sent several reports in the last hour; please try again later."),
            code="rate_limited_client",
            status=429,
        )
    recent_about_enterprise = Complaint.objects.filter(
        enterprise_id=enterprise_id, created_at__gte=now - timedelta(days=1)
    ).count()
    if recent_about_enterprise >= settings.COMPLAINTS_PER_ENTERPRISE_PER_DAY:
        raise DomainError(
            _("This business has received many reports today; please try again tomorrow."),
            code="rate_limited_code",
            status=429,
        )


def complaint_submit(*, request, token: str, text: str, contact: str = "", photo=None) -> Complaint:
    """Check everything before writing anything: a refused report leaves no row and no file."""
    code = code_get_active(token)
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
            validate_photo_upload(photo)
        except DomainError as exc:
            errors["photo"] = exc.message
    if errors:
        raise DomainError(
            _("The report is not complete."), code="invalid_complaint", details=errors, status=422
        )
    client = clients.client_key(request)
    user = request.user if request.user.is_authenticated else None
    _check_rate(client=client, enterprise_id=code.enterprise_id)
    # The photo is decoded and stored before the transaction opens, so the database's write lock
    # is not held while Pillow works; photo_ingest cleans up its own files if it fails.
    stored_photo = photo_ingest(upload=photo, uploaded_by=user) if photo is not None else None
    with transaction.atomic():
        complaint = Complaint.objects.create(
            enterprise=code.enterprise,
            code=code,
            text=text,
            contact=contact,
            photo=stored_photo,
            reporter=user,
            client=client,
        )
        # The reporter's contact stays out of the audit data: the chain is read more widely than complaints.
        audit_record(
            actor=user,
            action="complaint.create",
            target=complaint,
            data={"enterprise": code.enterprise.uscc, "photo": stored_photo.sha256 if stored_photo else None},
        )
        enterprise_changed.send(sender=Complaint, enterprise_id=code.enterprise_id)
    return complaint
