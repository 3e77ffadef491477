"""Identity codes (一业一码): issue, rotate, revoke, resolve.

A token is 22 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
about 109 bits of entropy, drawn from the OS generator. It is uppercase so a
person can read it off a sticker and type it in any case.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError, NotFound
from core.models import Enterprise, IdentityCode
from core.prepared import PreparedGet

TOKEN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TOKEN_LENGTH = 22
_ALPHABET_SET = frozenset(TOKEN_ALPHABET)


def new_token() -> str:
    # 128 random bits written in base 31, 22 digits: 31^22 is about 2^109, and the leftover
    # bias of the reduction is below 2^-19, so every token still carries ~109 bits. One
    # randbits call instead of 22 choice calls matters when a city's codes are issued at once.
    number = secrets.randbits(128)
    digits = []
    for _position in range(TOKEN_LENGTH):
        number, digit = divmod(number, 31)
        digits.append(TOKEN_ALPHABET[digit])
    return "".join(digits)


def normalize_token(raw: str) -> str | None:
    """The canonical token, or None if it cannot be one (wrong length or characters)."""
    token = raw.strip().upper()
    if len(token) != TOKEN_LENGTH or not set(token) <= _ALPHABET_SET:
        return None
    return token


def code_url(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/c/{token}"


def printed_for_here(base_url: str) -> bool:
    """Whether something stored with the ``base_url`` it was printed for (a document, a batch of
    stickers) points to this platform's address now; "" (stored before the address was kept) is
    taken as it is. What was printed for another address is printed again, never served."""
    return base_url in {"", settings.PUBLIC_BASE_URL}


def _create(enterprise: Enterprise, actor) -> IdentityCode:
    # A collision at 109 bits will not happen, but a retry costs nothing and keeps the promise.
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdentityCode.objects.create(enterprise=enterprise, token=new_token(), created_by=actor)
        except IntegrityError:
            if IdentityCode.objects.filter(enterprise=enterprise, status=IdentityCode.Status.ACTIVE).exists():
                raise
    raise RuntimeError("could not draw a unique identity code token")


def codes_issue_missing(*, enterprises=None, actor=None, chunk: int = 5000, progress=None) -> int:
    """Issue a code to every enterprise (of ``enterprises``) that has no active one: a rollout.

    Walks primary-key ranges so each step is two indexed queries, whatever the table size,
    and commits per chunk. One audit event records the rollout, not one per code.
    """
    base = (enterprises if enterprises is not None else Enterprise.objects.all()).order_by()
    bounds = base.aggregate(low=models.Min("pk"), high=models.Max("pk"))
    if bounds["low"] is None:
        return 0
    issued = 0
    for start in range(bounds["low"], bounds["high"] + 1, chunk):
        window = {"pk__gte": start, "pk__lt": start + chunk}
        with transaction.atomic():
            ids = set(base.filter(**window).values_list("pk", flat=True))
            ids -= set(
                IdentityCode.objects.filter(
                    status=IdentityCode.Status.ACTIVE,
                    enterprise_id__gte=start,
                    enterprise_id__lt=start + chunk,
                ).values_list("enterprise_id", flat=True)
            )
            IdentityCode.objects.bulk_create(
                [IdentityCode(enterprise_id=pk, token=new_token(), created_by=actor) for pk in sorted(ids)],
                batch_size=2000,
            )
        issued += len(ids)
        if progress:
            progress(issued)
    if issued:
        audit_record(actor=actor, action="code.issue_missing", data={"issued": issued})
    return issued


@transaction.atomic
def code_issue(*, enterprise: Enterprise, actor=None) -> IdentityCode:
    """The enterprise's active code, issued on first need. Idempotent."""
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    active = IdentityCode.objects.filter(enterprise=enterprise, status=IdentityCode.Status.ACTIVE).first()
    if active:
        return active
    code = _create(enterprise, actor)
    audit_record(actor=actor, action="code.issue", target=code, data={"enterprise": enterprise.uscc})
    return code


def _end_active(enterprise: Enterprise, *, status: str, actor, reason: str) -> IdentityCode | None:
    active = (
        IdentityCode.objects.select_for_update()
        .filter(enterprise=enterprise, status=IdentityCode.Status.ACTIVE)
        .first()
    )
    if active is None:
        return None
    active.status, active.ended_at, active.ended_by, active.end_reason = status, timezone.now(), actor, reason
    active.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    return active


@transaction.atomic
def code_rotate(*, enterprise: Enterprise, actor, reason: str = "") -> IdentityCode:
    """Replace the active code (a lost or defaced sticker): the old token answers 410 from now on."""
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    old = _end_active(enterprise, status=IdentityCode.Status.REPLACED, actor=actor, reason=reason)
    code = _create(enterprise, actor)
    audit_record(
        actor=actor,
        action="code.rotate",
        target=code,
        data={"enterprise": enterprise.uscc, "replaced": old.pk if old else None, "reason": reason},
    )
    return code


@transaction.atomic
def code_revoke(*, enterprise: Enterprise, actor, reason: str) -> IdentityCode:
    """Withdraw the active code without a successor (e.g. the licence is revoked)."""
    if not reason.strip():
        raise DomainError(_("Say why the code is revoked."), code="reason_required", status=422)
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    old = _end_active(enterprise, status=IdentityCode.Status.REVOKED, actor=actor, reason=reason.strip())
    if old is None:
        raise DomainError(_("This enterprise has no active code."), code="no_active_code", status=409)
    audit_record(
        actor=actor, action="code.revoke", target=old, data={"enterprise": enterprise.uscc, "reason": reason}
    )
    return old


@dataclass(frozen=True)
class Resolution:
    outcome: str  # a ScanEvent.Outcome value
    code: IdentityCode | None = None


# Read at every scan: by one statement written once per database (core.prepared), not a
# select_related compiled by the ORM on each call (issue 17, bench/side_by_side.py).
_codes = PreparedGet(IdentityCode, by="token", related=("enterprise__scene", "enterprise__district"))


def code_resolve(raw: str) -> Resolution:
    """What a scanned token stands for. Only an active code leads to the enterprise."""
    token = normalize_token(raw)
    if token is None:
        return Resolution("malformed")
    code = _codes.get(token)
    if code is None:
        return Resolution("unknown")
    if code.status != IdentityCode.Status.ACTIVE:
        return Resolution(code.status, code)
    return Resolution("ok", code)


def code_get_active(raw: str) -> IdentityCode:
    resolution = code_resolve(raw)
    if resolution.outcome == "ok":
        return resolution.code
    if resolution.outcome in {"revoked", "replaced"}:
        raise DomainError(_("This code is no longer valid."), code=f"code_{resolution.outcome}", status=410)
    raise NotFound(_("No such code."), code="unknown_code")
