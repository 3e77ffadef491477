"""The audit chain's keys: the chain and its checkpoints are HMAC-SHA256 under a key that is not in
the database, so that someone who can write to the database cannot recompute the hashes of the
events they edit (core/audit.py) or sign a checkpoint (core/checkpoints.py).

``AUDIT_CHAIN_KEY`` (from the environment) keys new events. Unset, the key is derived from
SECRET_KEY with a salt of its own: fine for development and tests; ``check --deploy`` warns in
production (core/checks.py). Each event records the id of its key, so keys can be rotated: the old
key moves to ``AUDIT_CHAIN_OLD_KEYS``, where it still verifies the events it keyed
(docs/DEPLOY.md, "The audit chain's key"). ``from-secret-key`` in that list stands for the key
derived from SECRET_KEY, for an installation that ran without AUDIT_CHAIN_KEY before.

A key id is a short digest of the key: it names the key without telling anything about it.
"""

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

# Events written before the chain was keyed carry no key id: plain SHA-256 (core.audit.LEGACY).
LEGACY_KEY_ID = ""
DERIVED_FROM_SECRET_KEY = "from-secret-key"
_DERIVATION_SALT = b"core.audit.chain-key.v1"


class UnknownKey(LookupError):
    """An event or checkpoint names a key this installation does not hold."""


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, bytes]  # key id -> key, the current one included

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKey(key_id) from None


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(b"core.audit.key-id\x00" + key).hexdigest()[:12]


def _derived(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), _DERIVATION_SALT, hashlib.sha256).digest()


@lru_cache(maxsize=8)
def _ring(current: str, old: tuple[str, ...], secret_key: str) -> KeyRing:
    current_key = current.encode() if current else _derived(secret_key)
    keys = {key_id_of(current_key): current_key}
    for value in old:
        key = _derived(secret_key) if value == DERIVED_FROM_SECRET_KEY else value.encode()
        keys.setdefault(key_id_of(key), key)
    return KeyRing(key_id_of(current_key), keys)


def key_ring() -> KeyRing:
    """The keys from the settings (read on every call, so tests may override them)."""
    return _ring(
        getattr(settings, "AUDIT_CHAIN_KEY", "") or "",
        tuple(getattr(settings, "AUDIT_CHAIN_OLD_KEYS", ()) or ()),
        settings.SECRET_KEY,
    )


def mac(key_id: str, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under the key ``key_id`` names; UnknownKey if it is not held."""
    return hmac.new(key_ring().key(key_id), message, hashlib.sha256).hexdigest()
