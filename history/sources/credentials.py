"""A data source's key: issued (and shown) once, kept as its SHA-256 only, rotated, revoked.

Rotating issues a new key and revokes every other key of the source in the same transaction: no
overlap, so a leaked key stops working the moment its replacement is issued. A sender caught
mid-batch by the rotation is refused (401) and retries with the new key; ingest is idempotent, so
the retry writes each row once.
"""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError
from core.tokens import mark_used, secret_digest
from history.models import DataSource, SourceCredential

KEY_PREFIX = "dsk_"
# Without look-alikes (0/O, 1/l/I): keys are read aloud and copied by hand between departments.
KEY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
KEY_LENGTH = 40  # ~233 bits
PREFIX_LENGTH = 12  # what lists show: "dsk_" and 8 characters of the key


class CredentialError(DomainError):
    status = 409


@transaction.atomic
def credential_rotate(*, source: DataSource, actor) -> tuple[SourceCredential, str, list[SourceCredential]]:
    """Issue a new key (the first, or a replacement): (credential, the key, the keys it revoked)."""
    source = DataSource.objects.select_for_update().get(pk=source.pk)
    now = timezone.now()
    revoked = list(source.credentials.filter(revoked_at__isnull=True))
    for credential in revoked:
        credential.revoked_at = now
    SourceCredential.objects.bulk_update(revoked, ["revoked_at"])
    raw = KEY_PREFIX + "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
    credential = SourceCredential.objects.create(
        source=source, prefix=raw[:PREFIX_LENGTH], key_hash=secret_digest(raw), created_by=actor
    )
    audit_record(
        actor=actor,
        action="source.credential_issue",
        target=credential,
        data={"source": source.code, "prefix": credential.prefix, "revoked": [c.prefix for c in revoked]},
    )
    return credential, raw, revoked


@transaction.atomic
def credential_revoke(*, credential: SourceCredential, actor) -> SourceCredential:
    credential = SourceCredential.objects.select_for_update().select_related("source").get(pk=credential.pk)
    if credential.revoked_at is not None:
        raise CredentialError(_("This key is already revoked."), code="already_revoked")
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="source.credential_revoke",
        target=credential,
        data={"source": credential.source.code, "prefix": credential.prefix},
    )
    return credential


def credential_find(raw: str) -> SourceCredential | None:
    """The credential a key belongs to, revoked or not (the caller says which); None for no key of ours."""
    if not raw.startswith(KEY_PREFIX):
        return None
    return SourceCredential.objects.select_related("source").filter(key_hash=secret_digest(raw)).first()


def credential_used(credential: SourceCredential) -> None:
    mark_used(credential)
