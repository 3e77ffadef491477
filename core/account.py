"""A user's ways in, ended together: "sign out everywhere" (every session and every API token), and
the same when an account is deactivated; a changed password revokes the tokens.

Django itself ends a user's other sessions when the password changes (a session carries a hash of
the password) and refuses an inactive user's session, but a session would come back with the
account's reactivation, and bearer tokens (core.tokens) know nothing of either: without this a
tablet's token outlives the password it was issued for.
"""

import json
import zlib
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.tokens import tokens_revoke_all

# Sessions are read in chunks when looking for one user's: a signed-in city is tens of thousands.
SESSION_CHUNK = 2000


@dataclass(frozen=True)
class SignedOut:
    tokens: int
    sessions: int


def _user_id_peeked(store, data: str) -> str:
    """Whose session ``data`` is, read without checking its signature (about ten times faster than
    decoding it: a signed session is "payload:timestamp:signature", the payload base64 JSON, zlib
    compressed when it starts with a dot). Any other shape is decoded the checked way."""
    try:
        payload = data.split(":", 1)[0]
        raw = signing.b64_decode(payload.removeprefix(".").encode())
        if payload.startswith("."):
            raw = zlib.decompress(raw)
        return str(json.loads(raw).get(SESSION_KEY))
    except (ValueError, zlib.error, AttributeError):
        return str(store.decode(data).get(SESSION_KEY))


def sessions_end(*, user) -> int:
    """Delete every unexpired session of ``user``; how many. Sessions are not indexed by user, so
    each one is read (about 20,000 a second), and those that name the user are decoded the checked
    way before they go: a rare, deliberate act."""
    engine = import_module(settings.SESSION_ENGINE)
    if not settings.SESSION_ENGINE.endswith((".db", ".cached_db")):
        # Sessions kept elsewhere (a cache, signed cookies) cannot be listed; Django's own check
        # still ends them when the password changes.
        return 0
    store = engine.SessionStore()
    wanted = str(user.pk)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now())
        .only("session_key", "session_data")
        .iterator(chunk_size=SESSION_CHUNK)
        if _user_id_peeked(store, session.session_data) == wanted
        and str(store.decode(session.session_data).get(SESSION_KEY)) == wanted
    ]
    for key in keys:
        engine.SessionStore(session_key=key).delete()
    return len(keys)


@transaction.atomic
def sign_out_everywhere(*, user, actor, reason: str) -> SignedOut:
    """End every session of ``user`` and revoke all their API tokens; audited. ``reason``:
    "requested" (the user, from the account page or the API), "deactivated" or "reactivated" (then
    audited only if something was ended: usually the deactivation did it already)."""
    tokens = tokens_revoke_all(user=user)
    sessions = sessions_end(user=user)
    if tokens or sessions or reason != "reactivated":
        audit_record(
            actor=actor,
            action="user.sign_out_everywhere",
            target=user,
            data={"reason": reason, "tokens": tokens, "sessions": sessions},
        )
    return SignedOut(tokens=len(tokens), sessions=sessions)


# --- receivers of the user model's saves (connected in core.apps) -----------------------------------


def user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Note what this save changes that must end the user's ways in: the password (set_password, or
    a new hash written over another one) or the account turned inactive (or active again). A hash
    upgrade at sign-in
    (the same password, re-hashed by Django: update_fields is just the password and set_password
    was not called) is no change."""
    instance._ends_sign_ins = ()
    if raw or instance.pk is None:
        return
    fields = None if update_fields is None else set(update_fields)
    if fields is not None and not fields & {"password", "is_active"}:
        return  # the sign-in's last_login, a name: nothing to look at
    old = type(instance).objects.filter(pk=instance.pk).values("password", "is_active").first()
    if old is None:
        return
    ends = []
    if old["is_active"] and not instance.is_active:
        ends.append("deactivated")
    elif not old["is_active"] and instance.is_active:
        # Whatever the account held from before was unusable while it was inactive; ended now too,
        # for a deactivation that went around save() (a queryset update sends no signal).
        ends.append("reactivated")
    set_password = getattr(instance, "_password", None) is not None
    rehashed = fields == {"password"} and not set_password
    if set_password or (old["password"] != instance.password and not rehashed):
        ends.append("password_changed")
    instance._ends_sign_ins = tuple(ends)


def user_post_save(sender, instance, raw=False, **kwargs) -> None:
    ends = getattr(instance, "_ends_sign_ins", ())
    instance._ends_sign_ins = ()
    if "deactivated" in ends or "reactivated" in ends:
        sign_out_everywhere(user=instance, actor=None, reason=ends[0])
    elif "password_changed" in ends:
        # Its other sessions end by Django's own check (and the one that changed it stays signed in).
        with transaction.atomic():
            revoked = tokens_revoke_all(user=instance)
            if revoked:
                audit_record(
                    actor=None,
                    action="token.revoke_all",
                    target=instance,
                    data={"reason": "password_changed", "tokens": revoked},
                )
