import math

import pytest
from django.db import IntegrityError

from core import codes
from core.audit import verify_chain
from core.errors import DomainError
from core.models import AuditEvent, IdentityCode
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db


def test_tokens_carry_over_100_bits_without_look_alike_characters():
    assert len(codes.TOKEN_ALPHABET) == len(set(codes.TOKEN_ALPHABET))
    assert not set("01ILO") & set(codes.TOKEN_ALPHABET)
    assert codes.TOKEN_LENGTH * math.log2(len(codes.TOKEN_ALPHABET)) >= 100
    tokens = {codes.new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(len(t) == codes.TOKEN_LENGTH and set(t) <= set(codes.TOKEN_ALPHABET) for t in tokens)


def test_the_token_is_not_derived_from_the_enterprise(enterprise):
    code = codes.code_issue(enterprise=enterprise)
    assert enterprise.uscc not in code.token and str(enterprise.pk) != code.token
    codes.code_rotate(enterprise=enterprise, actor=None)
    assert IdentityCode.objects.filter(enterprise=enterprise).values("token").distinct().count() == 2


def test_issuing_is_idempotent_and_audited(enterprise, admin_user):
    first = codes.code_issue(enterprise=enterprise, actor=admin_user)
    again = codes.code_issue(enterprise=enterprise, actor=admin_user)
    assert first == again
    assert AuditEvent.objects.filter(action="code.issue").count() == 1


def test_rotation_replaces_the_old_code(enterprise, admin_user):
    old = codes.code_issue(enterprise=enterprise)
    new = codes.code_rotate(enterprise=enterprise, actor=admin_user, reason="sticker defaced")
    old.refresh_from_db()
    assert old.status == "replaced" and old.ended_by == admin_user and old.end_reason == "sticker defaced"
    assert new.status == "active" and new.token != old.token
    assert codes.code_resolve(old.token).outcome == "replaced"
    assert codes.code_resolve(new.token).outcome == "ok"
    assert verify_chain().ok


def test_revocation_needs_a_reason_and_an_active_code(enterprise, admin_user):
    with pytest.raises(DomainError) as caught:
        codes.code_revoke(enterprise=enterprise, actor=admin_user, reason="licence revoked")
    assert caught.value.code == "no_active_code"
    code = codes.code_issue(enterprise=enterprise)
    with pytest.raises(DomainError) as caught:
        codes.code_revoke(enterprise=enterprise, actor=admin_user, reason="  ")
    assert caught.value.code == "reason_required"
    codes.code_revoke(enterprise=enterprise, actor=admin_user, reason="licence revoked")
    assert codes.code_resolve(code.token).outcome == "revoked"


def test_the_database_allows_one_active_code_per_enterprise(enterprise):
    codes.code_issue(enterprise=enterprise)
    with pytest.raises(IntegrityError):
        IdentityCode.objects.create(enterprise=enterprise, token=codes.new_token())


@pytest.mark.parametrize("raw", ["", "short", "i" * 22, "O" * 22, "A" * 23, "../../etc/passwd", "😀" * 22])
def test_malformed_tokens_resolve_to_malformed(raw):
    assert codes.code_resolve(raw).outcome == "malformed"


def test_an_unknown_well_formed_token_is_unknown():
    assert codes.code_resolve("A" * codes.TOKEN_LENGTH).outcome == "unknown"


def test_tokens_are_read_in_any_case():
    code = codes.code_issue(enterprise=EnterpriseFactory())
    assert codes.code_resolve(f" {code.token.lower()} ").code == code


def test_the_url_uses_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://jianguan.example.gov.cn"
    assert codes.code_url("ABC") == "https://jianguan.example.gov.cn/c/ABC"
