"""Reads of API keys used on every request."""

import hashlib
import hmac

from flowker.apikeys.models import ApiKey

KEY_PREFIX = "flk_"
_DUMMY_HASH = "0" * 64


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def split_key(raw_key: str) -> str | None:
    """The 8-character lookup prefix of `flk_<prefix>_<secret>`, or None if malformed."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = raw_key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 8 or not secret:
        return None
    return prefix


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, compared in constant time; None otherwise."""
    prefix = split_key(raw_key)
    candidate = None
    if prefix is not None:
        candidate = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    stored = candidate.key_hash if candidate else _DUMMY_HASH
    matches = hmac.compare_digest(hash_key(raw_key), stored)
    return candidate if (candidate is not None and matches) else None
