"""Sending one provider call: JSON bodies with exact decimals, the configuration's credentials,
redirects re-checked by the outbound policy, and one re-send with a fresh token after a 401
on an OAuth2 configuration."""

import codecs
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from executors.runtime import policy, redaction, transport
from executors.runtime.auth import Authenticator
from executors.runtime.transport import ResponseTooLarge, TransportError
from flowker import jsoncodec

__all__ = ["OutboundRequest", "OutboundResponse", "ResponseTooLarge", "TransportError", "send"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
BODYLESS_METHODS = frozenset({"GET", "DELETE", "HEAD"})
# The only headers that follow a redirect to another origin: credentials and provider headers
# (secrets by contract) stay with the provider they were configured for.
CROSS_ORIGIN_HEADERS = frozenset({"accept", "content-type", "idempotency-key", "user-agent"})
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class OutboundRequest:
    """A provider call. `body` is JSON-able (sent as JSON, never for GET/DELETE/HEAD); query
    values may be lists (repeated parameters); `timeout` None means FLOWKER_HTTP_TIMEOUT_SECONDS
    and bounds the whole call, redirects included."""

    method: str
    url: str
    headers: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any | None = None
    timeout: float | None = None
    verify_tls: bool = True
    # Values sent with the request that must never be recorded (configured header values,
    # query values of the base URL); the authenticator's credentials are added when sending.
    secrets: tuple[str, ...] = ()


@dataclass
class OutboundResponse:
    """The provider's answer. `body` is parsed JSON (decimals exact) when the content type says
    JSON, else text, None when empty; `size` is the body's length in bytes. `url` and `headers`
    are as recorded: credentials masked (`redaction`)."""

    status: int
    headers: dict[str, str]
    url: str
    body: Any
    duration_ms: int
    size: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _clean_headers(headers: dict[str, Any]) -> dict[str, str]:
    return {str(name): _scalar(value) for name, value in headers.items() if value is not None}


def _clean_query(query: dict[str, Any]) -> dict[str, str | list[str]]:
    cleaned: dict[str, str | list[str]] = {}
    for name, value in query.items():
        if isinstance(value, list | tuple):
            cleaned[name] = [_scalar(item) for item in value if item is not None]
        elif value is not None:
            cleaned[name] = _scalar(value)
    return cleaned


def _has_header(headers: dict[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or DEFAULT_PORTS.get(scheme)


def _same_origin(current: str, target: str) -> bool:
    """Same scheme, host and port; an upgrade from http:80 to https:443 on one host counts."""
    try:
        before, after = _origin(current), _origin(target)
    except ValueError:
        return False
    upgrade = before == ("http", after[1], 80) and after == ("https", before[1], 443)
    return before == after or upgrade


def _becomes_get(status: int, method: str) -> bool:
    """The redirects that turn a request into a GET without body (as browsers and requests do)."""
    return (status in (301, 302) and method == "POST") or (
        status == 303 and method not in ("GET", "HEAD")
    )


def _remaining(deadline: float, url: str, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        where = redaction.redact_url(url)
        raise TransportError("timeout", f"no response from {where} within {timeout:g} s")
    return left


def _follow_redirects(
    request: OutboundRequest,
    authenticator: Authenticator | None,
    deadline: float,
    timeout: float,
    sent: set[str] | None = None,
) -> transport.RawResponse:
    """Send, following redirects; the credential values the authenticator added to any hop
    are put in `sent`, so what is recorded can be scrubbed of them."""
    method = request.method.upper()
    url = request.url
    headers = _clean_headers(request.headers)
    data: bytes | None = None
    if method not in BODYLESS_METHODS and request.body is not None:
        data = jsoncodec.dumps(request.body).encode("utf-8")
        if not _has_header(headers, "content-type"):
            headers["Content-Type"] = "application/json"
    query = _clean_query(request.query)
    with_credentials = True
    redirects_left = settings.FLOWKER_HTTP_MAX_REDIRECTS
    first_hop = True
    while True:
        hop_headers = dict(headers)
        hop_query: dict[str, Any] = dict(query) if first_hop else {}
        if with_credentials and authenticator is not None:
            authenticator.apply(hop_headers, hop_query)
            if sent is not None:
                sent.update(_added_values(hop_headers, headers))
                sent.update(_added_values(hop_query, query))
        response = transport.exchange(
            method,
            url,
            headers=hop_headers,
            params=hop_query,
            data=data,
            timeout=_remaining(deadline, url, timeout),
            verify=request.verify_tls,
        )
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or not location or redirects_left <= 0:
            return response
        target = urljoin(response.url, location)
        policy.refuse_scheme(target)
        if _becomes_get(response.status, method):
            method, data = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if not _same_origin(response.url, target):
            headers = {k: v for k, v in headers.items() if k.lower() in CROSS_ORIGIN_HEADERS}
            with_credentials = False
        url = target
        redirects_left -= 1
        first_hop = False


def _added_values(applied: dict[str, Any], before: dict[str, Any]) -> set[str]:
    """Values `applied` holds that `before` did not: what the authenticator put in. A header
    such as `Bearer <token>` also yields the token alone."""
    added: set[str] = set()
    for name, value in applied.items():
        if before.get(name) == value:
            continue
        for item in value if isinstance(value, list) else [value]:
            text = str(item)
            added.add(text)
            if " " in text:
                added.add(text.partition(" ")[2])
    return added


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


def _parse_body(content: bytes, content_type: str) -> Any:
    if not content:
        return None
    text = content.decode(_charset(content_type), errors="replace")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return jsoncodec.loads(text)
        except (ValueError, RecursionError):
            return text
    return text


def send(
    request: OutboundRequest, *, authenticator: Authenticator | None = None
) -> OutboundResponse:
    """Send `request` through the policy-enforcing transport.

    Raises TransportError (timeout/connection; ResponseTooLarge past the size limit),
    policy.OutboundPolicyError (a refused destination or redirect) and, from OAuth2
    authenticators, auth.TokenError.
    """
    started = time.monotonic()
    timeout = float(request.timeout or settings.FLOWKER_HTTP_TIMEOUT_SECONDS)
    deadline = started + timeout
    sent: set[str] = set()
    response = _follow_redirects(request, authenticator, deadline, timeout, sent)
    if response.status == 401 and authenticator is not None and authenticator.is_oauth:
        # The token may have been revoked before its expiry: fetch a new one and retry once.
        authenticator.invalidate()
        response = _follow_redirects(request, authenticator, deadline, timeout, sent)
    content_type = response.headers.get("Content-Type", "")
    names = authenticator.query_names() if authenticator is not None else ()
    secrets = (
        *(authenticator.secrets() if authenticator is not None else ()),
        *request.secrets,
        *sent,
    )
    body = _parse_body(response.content, content_type)
    return OutboundResponse(
        status=response.status,
        headers=redaction.redact_headers(response.headers, secrets=secrets),
        url=redaction.redact_url(response.url, names=names, secrets=secrets),
        body=redaction.redact_document(body, secrets=secrets),
        duration_ms=int((time.monotonic() - started) * 1000),
        size=len(response.content),
    )
