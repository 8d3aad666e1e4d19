"""Secrets inside JSON documents: which values are secret, sealing them for storage, masking
them for display.

A value is secret when the JSON Schema describing it says `writeOnly: true`, or — for keys no
schema describes — when its key name looks sensitive (upstream's heuristic, at any depth).
Stored documents keep each secret as a sealed leaf `{"$encrypted": "<fernet token>"}`; the rest
of the document stays readable. Masks are `****` + last 4 characters, or `********`.
"""

import re
from collections.abc import Iterator
from typing import Any

from flowker import crypto, jsoncodec

SEALED = "$encrypted"
FULL_MASK = "********"

_SHORT_TOKENS = frozenset(
    (
        "key",
        "auth",
        "pin",
        "otp",
        "cvv",
        "cvc",
        "ssn",
        "pan",
        "bic",
        "bsb",
        "dob",
        "tin",
        "jwt",
        "zip",
        "city",
    )
)
_LONG_NAMES = frozenset(
    (
        "password",
        "newpassword",
        "oldpassword",
        "passwordsalt",
        "token",
        "secret",
        "authorization",
        "credential",
        "credentials",
        "apikey",
        "api_key",
        "access_token",
        "accesstoken",
        "refresh_token",
        "refreshtoken",
        "bearer",
        "session_id",
        "sessionid",
        "cookie",
        "private_key",
        "privatekey",
        "clientid",
        "client_id",
        "clientsecret",
        "client_secret",
        "passwd",
        "passphrase",
        "card_number",
        "cardnumber",
        "social_security",
        "account_number",
        "accountnumber",
        "routing_number",
        "routingnumber",
        "iban",
        "swift",
        "swift_code",
        "expiry",
        "expiry_date",
        "expiration_date",
        "card_expiry",
        "date_of_birth",
        "tax_id",
        "taxid",
        "national_id",
        "sort_code",
        "security_answer",
        "security_question",
        "mother_maiden_name",
        "mfa_code",
        "totp",
        "biometric",
        "fingerprint",
        "certificate",
        "connection_string",
        "database_url",
        "email",
        "phone",
        "phone_number",
        "address",
        "street",
        "postal_code",
        "verify_token",
    )
)
_LONG_PATTERN = re.compile(
    r"(?:^|[^a-z0-9])(?:"
    + "|".join(re.escape(name) for name in sorted(_LONG_NAMES, key=len, reverse=True))
    + r")(?:$|[^a-z0-9])"
)


# Word boundaries inside camelCase keys: `clientSecret` → `client_Secret`, `HTTPAuth` →
# `HTTP_Auth`. Lookarounds only, so each position is decided in constant time (one linear pass).
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Only this many leading characters of a key are judged. Keys of webhook bodies are chosen by
# whoever calls the webhook, and every key of every document passes here; field names that
# carry secrets are short, so a longer tail adds cost without adding signal.
KEY_PREFIX_LENGTH = 256


def _snake(key: str) -> str:
    return _WORD_BOUNDARY.sub("_", key).lower()


def is_sensitive_key(key: str) -> bool:
    """Upstream's name heuristic for keys that no schema describes (judged on the key's first
    KEY_PREFIX_LENGTH characters)."""
    key = key[:KEY_PREFIX_LENGTH]
    lower, snake = key.lower(), _snake(key)
    if lower in _LONG_NAMES or snake in _LONG_NAMES:
        return True
    if any(token in _SHORT_TOKENS for token in re.split(r"[^a-z0-9]+", snake)):
        return True
    return bool(_LONG_PATTERN.search(snake) or _LONG_PATTERN.search(lower))


def mask_value(value: Any) -> str:
    if isinstance(value, str) and len(value) > 4:
        return "****" + value[-4:]
    return FULL_MASK


# --- Walking a document alongside its schema -------------------------------------------------


def _branches(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield schema
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, []) or []:
            if isinstance(sub, dict):
                yield from _branches(sub)
    for keyword in ("then", "else"):
        sub = schema.get(keyword)
        if isinstance(sub, dict):
            yield from _branches(sub)


def _child_schemas(schema: dict[str, Any] | None, key: str) -> list[dict[str, Any]] | None:
    """Schemas that describe `key` of an object, or None when no schema describes it."""
    if schema is None:
        return None
    found: list[dict[str, Any]] = []
    for branch in _branches(schema):
        properties = branch.get("properties") or {}
        if isinstance(properties.get(key), dict):
            found.append(properties[key])
            continue
        matched = [
            sub
            for pattern, sub in (branch.get("patternProperties") or {}).items()
            if isinstance(sub, dict) and re.search(pattern, key)
        ]
        found.extend(matched)
        additional = branch.get("additionalProperties")
        if not matched and isinstance(additional, dict):
            found.append(additional)
    return found or None


def _item_schemas(schemas: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if schemas is None:
        return None
    items = [
        branch["items"]
        for schema in schemas
        for branch in _branches(schema)
        if isinstance(branch.get("items"), dict)
    ]
    return items or None


def _merged(schemas: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return {"anyOf": schemas} if schemas else None


def _is_declared_secret(schemas: list[dict[str, Any]]) -> bool:
    return any(branch.get("writeOnly") is True for s in schemas for branch in _branches(s))


def _transform(document: Any, schema: dict[str, Any] | None, on_secret: Any) -> Any:
    """Copy `document`, replacing each secret value by `on_secret(value)`."""
    if isinstance(document, dict):
        if is_sealed(document):
            return on_secret(document)
        result = {}
        for key, value in document.items():
            children = _child_schemas(schema, key)
            if children is not None:
                secret = _is_declared_secret(children)
            else:
                secret = is_sensitive_key(key)
            if secret:
                result[key] = on_secret(value)
            else:
                result[key] = _transform(value, _merged(children), on_secret)
        return result
    if isinstance(document, list):
        items = _item_schemas([schema] if schema else None)
        return [_transform(item, _merged(items), on_secret) for item in document]
    return document


# --- Sealing -----------------------------------------------------------------------------------


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SEALED}


def seal(value: Any) -> dict[str, str]:
    return {SEALED: crypto.encrypt(jsoncodec.dumps(value))}


def unseal(value: Any) -> Any:
    return jsoncodec.loads(crypto.decrypt(value[SEALED])) if is_sealed(value) else value


def seal_document(document: Any, schema: dict[str, Any] | None = None) -> Any:
    """The document as stored: every secret value sealed (already sealed ones kept)."""
    return _transform(document, schema, lambda v: v if is_sealed(v) else seal(v))


def unseal_document(document: Any) -> Any:
    """The document with every sealed value decrypted: what a provider call needs."""
    if is_sealed(document):
        return unseal(document)
    if isinstance(document, dict):
        return {key: unseal_document(value) for key, value in document.items()}
    if isinstance(document, list):
        return [unseal_document(item) for item in document]
    return document


def rotate_document(document: Any) -> Any:
    """Re-encrypt every sealed value with the first encryption key."""
    if is_sealed(document):
        return {SEALED: crypto.rotate(document[SEALED])}
    if isinstance(document, dict):
        return {key: rotate_document(value) for key, value in document.items()}
    if isinstance(document, list):
        return [rotate_document(item) for item in document]
    return document


# --- Masking -----------------------------------------------------------------------------------


def mask_document(document: Any, schema: dict[str, Any] | None = None) -> Any:
    """A copy safe to show: sealed and secret values masked at any depth."""
    return _transform(document, schema, lambda v: mask_value(unseal(v)))


def keep_masked_secrets(new: Any, stored: Any) -> Any:
    """`new` with every value that merely echoes the mask of the stored value (or `********`)
    replaced by the stored value, so a client can send back what it read."""
    if isinstance(new, dict) and isinstance(stored, dict) and not is_sealed(stored):
        return {
            key: keep_masked_secrets(value, stored[key]) if key in stored else value
            for key, value in new.items()
        }
    if isinstance(new, list) and isinstance(stored, list):
        return [
            keep_masked_secrets(item, stored[index]) if index < len(stored) else item
            for index, item in enumerate(new)
        ]
    if is_sealed(stored) and new in (FULL_MASK, mask_value(unseal(stored))):
        return stored
    return new
