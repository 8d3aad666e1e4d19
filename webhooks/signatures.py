"""Signed inbound webhooks: checking a request against its route's `signature` settings.

Both schemes sign `"<unix seconds>.<raw body>"` with HMAC-SHA256 over the body bytes exactly as
received:
- `hmac-sha256`: the signature header (default `X-Signature`) holds the hex digest, optionally
  prefixed `sha256=`; the timestamp header (default `X-Signature-Timestamp`) holds the seconds;
- `stripe`: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>…]` — several `v1` while a
  secret is rotated, any one of them may match.

A missing or wrong signature is 401 FLK-0364. A timestamp further than `toleranceSeconds` from
the clock, or a signature already accepted within that window, is 401 FLK-0365: accepted
signatures are remembered in the shared cache (Redis, or the embedded file cache). When that
cache is unreachable the request is refused as a dependency outage (503 FLK-0006), never let
through unchecked.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from catalog.definitions.triggers import DEFAULT_TOLERANCE_SECONDS
from flowker.errors import FlowkerError
from flowker.sealing import unseal

INVALID = "FLK-0364"
STALE_OR_REPLAYED = "FLK-0365"
DEFAULT_HEADERS = {"hmac-sha256": "X-Signature", "stripe": "Stripe-Signature"}
DEFAULT_TIMESTAMP_HEADER = "X-Signature-Timestamp"
SEEN_KEY = "webhook-signature-seen:{route}:{digest}"


@dataclass(frozen=True)
class SignedRequest:
    """What the caller sent: the timestamp it signed and its candidate signatures (hex)."""

    timestamp: int
    signatures: tuple[str, ...]


def _invalid(message: str) -> FlowkerError:
    return FlowkerError(INVALID, message)


def _timestamp(value: str | None) -> int:
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        raise _invalid("missing or malformed webhook signature timestamp")
    return int(text)


def _parse_hmac(request: Any, settings: dict[str, Any]) -> SignedRequest:
    header = settings.get("header") or DEFAULT_HEADERS["hmac-sha256"]
    sent = request.headers.get(header, "").strip()
    if sent.lower().startswith("sha256="):
        sent = sent[len("sha256=") :]
    if not sent:
        raise _invalid(f"missing webhook signature header {header}")
    stamp = request.headers.get(settings.get("timestampHeader") or DEFAULT_TIMESTAMP_HEADER)
    return SignedRequest(_timestamp(stamp), (sent,))


def _parse_stripe(request: Any, settings: dict[str, Any]) -> SignedRequest:
    header = settings.get("header") or DEFAULT_HEADERS["stripe"]
    sent = request.headers.get(header, "")
    stamp: str | None = None
    signatures = []
    for item in sent.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and stamp is None:
            stamp = value
        elif name == "v1" and value:
            signatures.append(value.strip())
    if not sent.strip() or not signatures:
        raise _invalid(f"missing webhook signature header {header} (t=…,v1=…)")
    return SignedRequest(_timestamp(stamp), tuple(signatures))


PARSERS = {"hmac-sha256": _parse_hmac, "stripe": _parse_stripe}


def expected_signature(secret: str, timestamp: int, body: bytes) -> str:
    """hex(HMAC-SHA256(secret, "<timestamp>.<body>")): what both schemes sign."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _matches(expected: str, candidates: tuple[str, ...]) -> bool:
    """Constant-time comparison with every candidate (no early exit on the first match)."""
    wanted = expected.encode("ascii")
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(wanted, candidate.lower().encode("utf-8", "replace"))
    return matched


def webhook_signature_verify(*, route: Any, request: Any, now: float | None = None) -> None:
    """Refuse the request unless it carries a fresh, valid, first-seen signature of its raw
    body under `route.signature`. Raises FlowkerError (FLK-0364 / FLK-0365)."""
    settings = route.signature
    signed = PARSERS[settings["scheme"]](request, settings)
    secret = str(unseal(settings["secret"]))
    expected = expected_signature(secret, signed.timestamp, request.body)
    if not secret or not _matches(expected, signed.signatures):
        raise _invalid("invalid webhook signature")
    tolerance = int(settings.get("toleranceSeconds") or DEFAULT_TOLERANCE_SECONDS)
    current = time.time() if now is None else now
    if abs(current - signed.timestamp) > tolerance:
        raise FlowkerError(
            STALE_OR_REPLAYED,
            f"webhook signature timestamp is outside the {tolerance} s tolerance",
        )
    # The window a timestamp stays acceptable in, on either side of the clock.
    key = SEEN_KEY.format(route=route.pk, digest=expected)
    if not cache.add(key, 1, timeout=2 * tolerance + 1):
        raise FlowkerError(STALE_OR_REPLAYED, "webhook signature was already used (replay)")
