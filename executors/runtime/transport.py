"""The policy-enforcing transport under every outbound call: urllib3 connections that vet the
address they actually connect to, and one pooled `requests` session per process."""

import http.client
import os
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3.exceptions
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import allowed_gai_family

from executors.runtime import policy, redaction

POOLED_HOSTS = 32
CONNECTIONS_PER_HOST = 32
READ_CHUNK_BYTES = 64 * 1024


class TransportError(Exception):
    """The provider could not be reached or did not answer in time (`kind`: timeout|connection)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: CaseInsensitiveDict
    url: str
    content: bytes


def _connect_permitted(
    host: str,
    port: int,
    timeout: Any,
    source_address: tuple[str, int] | None,
    socket_options: list[tuple[int, int, int | bytes]] | None,
) -> socket.socket:
    """Resolve `host` and connect to the first address the policy permits.

    Refused addresses are never connected to; the decision is made on the very address the
    socket connects to, so a DNS answer that changes between two lookups cannot slip through.
    """
    host = host.strip("[]")  # an IPv6 literal arrives bracketed from the URL
    policy.refuse_host_name(host)
    permit_private = policy.allow_private()
    refusal: tuple[str, str] | None = None
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(
        host, port, allowed_gai_family(), socket.SOCK_STREAM
    ):
        reason = policy.classify_address(sockaddr[0], allow_private=permit_private)
        if reason:
            refusal = refusal or (sockaddr[0], reason)
            continue
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    if last_error is not None:
        raise last_error
    address, reason = refusal or ("", "no address to connect to")
    raise policy.OutboundPolicyError(host, reason, address=address)


class _PolicyConnectMixin:
    """Replaces urllib3's `_new_conn`; the hostname stays on the connection for TLS SNI and
    certificate verification."""

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        try:
            return _connect_permitted(
                conn._dns_host, conn.port, conn.timeout, conn.source_address, conn.socket_options
            )
        except socket.gaierror as exc:
            raise urllib3.exceptions.NameResolutionError(conn.host, conn, exc) from exc
        except TimeoutError as exc:
            raise urllib3.exceptions.ConnectTimeoutError(
                conn, f"connection to {conn.host} timed out (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            raise urllib3.exceptions.NewConnectionError(
                conn, f"failed to establish a new connection: {exc}"
            ) from exc


class PolicyHTTPConnection(_PolicyConnectMixin, HTTPConnection):
    pass


class PolicyHTTPSConnection(_PolicyConnectMixin, HTTPSConnection):
    pass


class _PolicyHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PolicyHTTPConnection


class _PolicyHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PolicyHTTPSConnection


class PolicyAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools only open policy-vetted connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PolicyHTTPConnectionPool,
            "https": _PolicyHTTPSConnectionPool,
        }


def _build_session() -> requests.Session:
    session = requests.Session()
    # Environment proxies, .netrc and CA overrides from the environment are ignored.
    session.trust_env = False
    # Providers' cookies must not travel between calls made for different workflows.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = f"Flowker/{settings.FLOWKER_VERSION}"
    # Only the encodings `_Decoder` undoes with a bound on their output.
    session.headers["Accept-Encoding"] = "gzip, deflate"
    adapter = PolicyAdapter(pool_connections=POOLED_HOSTS, pool_maxsize=CONNECTIONS_PER_HOST)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@lru_cache(maxsize=1)
def _session_for_process(pid: int) -> requests.Session:
    return _build_session()


def session() -> requests.Session:
    """The process's shared session; a forked child gets its own, never its parent's sockets."""
    return _session_for_process(os.getpid())


def _cause_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps, outermost first (requests and urllib3 nest their errors)."""
    chain = [exc]
    while len(chain) < 10:
        current = chain[-1]
        wrapped = [arg for arg in current.args if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        inner = reason if isinstance(reason, BaseException) else None
        inner = inner or (wrapped[0] if wrapped else None) or current.__cause__
        if inner is None or inner in chain:
            break
        chain.append(inner)
    return chain


# Not urllib3's TimeoutError: its NewConnectionError (a refused connection) derives from it.
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)

# What went wrong, in words fixed here: an exception's own text can quote request data (requests
# puts an invalid header's value, secrets included, into InvalidHeader), so none is ever copied.
_FAILURES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (
        (requests.exceptions.InvalidHeader, UnicodeError),
        "a request header has an invalid name or value",
    ),
    (
        (urllib3.exceptions.NameResolutionError, socket.gaierror),
        "the host name does not resolve",
    ),
    (ssl.SSLCertVerificationError, "the provider's TLS certificate did not verify"),
    (
        (requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError),
        "the TLS handshake failed",
    ),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset by the provider"),
    (
        (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError, zlib.error),
        "the response body could not be decoded",
    ),
    (
        (
            requests.exceptions.ChunkedEncodingError,
            urllib3.exceptions.ProtocolError,
            http.client.HTTPException,
        ),
        "the provider broke the connection or the HTTP protocol",
    ),
)


class ResponseTooLarge(TransportError):
    """The response body (decompressed) is larger than FLOWKER_MAX_RESPONSE_BYTES; not retried."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "too_large",
            f"the provider's response is larger than {limit} bytes (FLOWKER_MAX_RESPONSE_BYTES)",
        )
        self.limit = limit


def _failure(exc: BaseException) -> str:
    chain = _cause_chain(exc)
    for cause in reversed(chain):
        for kinds, words in _FAILURES:
            if isinstance(cause, kinds):
                return words
    return "the connection failed"


def _timed_out(url: str, timeout: float, *, what: str = "response") -> TransportError:
    where = redaction.redact_url(url)
    return TransportError("timeout", f"no {what} from {where} within {timeout:.1f} s")


class _Decoder:
    """The response's Content-Encoding undone here, not by urllib3, so every output is bounded:
    a few compressed bytes must not expand into memory past the limit in one call."""

    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        self._zlib: Any = None
        self._raw_deflate = False
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
            self._raw_deflate = True  # until proven otherwise: some send it without zlib header

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Up to `max_length` bytes of decoded output; the rest waits in `pending`."""
        if self._zlib is None:
            return data
        try:
            decoded = self._zlib.decompress(data, max_length)
        except zlib.error:
            if not self._raw_deflate:
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            decoded = self._zlib.decompress(data, max_length)
        self._raw_deflate = False  # only the first bytes tell which deflate it is
        return decoded

    @property
    def pending(self) -> bytes:
        return self._zlib.unconsumed_tail if self._zlib is not None else b""


def _read_body(response: requests.Response, deadline: float, url: str, timeout: float) -> bytes:
    """The whole body, decoded, within `deadline` and FLOWKER_MAX_RESPONSE_BYTES.

    Each read is a single receive whose socket timeout is the time left, so a body that trickles
    in a byte at a time is cut at the deadline instead of at the next full chunk.
    """
    limit = int(settings.FLOWKER_MAX_RESPONSE_BYTES)
    raw = response.raw
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    decoder = _Decoder(response.headers.get("Content-Encoding", ""))
    body = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timed_out(url, timeout, what="complete response")
        if sock is not None:
            sock.settimeout(left)
        data = raw.read1(READ_CHUNK_BYTES, decode_content=False)
        if data:
            pending = data
            while pending:
                body += decoder.decode(pending, limit - len(body) + 1)
                if len(body) > limit:
                    raise ResponseTooLarge(limit)
                pending = decoder.pending
        else:
            return bytes(body)


def exchange(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
    data: bytes | str | None = None,
    timeout: float,
    verify: bool = True,
) -> RawResponse:
    """One request and its full response, redirects not followed, bounded by `timeout` overall.

    Error messages name the destination only as `redaction.redact_url` shows it and the failure
    only in fixed words (see `_FAILURES`).
    """
    deadline = time.monotonic() + timeout
    shared = session()
    try:
        prepared = shared.prepare_request(
            requests.Request(method, url, headers=headers, params=params, data=data)
        )
        with shared.send(
            prepared, timeout=timeout, verify=verify, allow_redirects=False, stream=True
        ) as response:
            content = _read_body(response, deadline, url, timeout)
            return RawResponse(response.status_code, response.headers, response.url, content)
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
        raise policy.OutboundPolicyError(redaction.redact_url(url), "not a valid URL") from exc
    except requests.exceptions.InvalidSchema as exc:
        raise policy.OutboundPolicyError(
            redaction.redact_url(url), "scheme is not http or https"
        ) from exc
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        OSError,
        UnicodeError,
        zlib.error,
    ) as exc:
        if any(isinstance(cause, _TIMEOUTS) for cause in _cause_chain(exc)):
            raise _timed_out(url, timeout) from exc
        raise TransportError(
            "connection", f"request to {redaction.redact_url(url)} failed: {_failure(exc)}"
        ) from exc
