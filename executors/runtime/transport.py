"""The policy-enforcing transport under every outbound call: urllib3 connections that vet the
address they actually connect to, and one pooled `requests` session per process."""

import os
import socket
import time
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

from executors.runtime import policy

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


def _read_body(response: requests.Response, deadline: float, url: str, timeout: float) -> bytes:
    chunks = []
    for chunk in response.iter_content(READ_CHUNK_BYTES):
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TransportError(
                "timeout", f"no complete response from {url} within {timeout:.1f} s"
            )
    return b"".join(chunks)


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
    """One request and its full response, redirects not followed, bounded by `timeout` overall."""
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
        raise policy.OutboundPolicyError(url, f"not a valid URL: {exc}") from exc
    except requests.exceptions.InvalidSchema as exc:
        raise policy.OutboundPolicyError(url, "scheme is not http or https") from exc
    except requests.RequestException as exc:
        chain = _cause_chain(exc)
        if any(isinstance(cause, _TIMEOUTS) for cause in chain):
            raise TransportError(
                "timeout", f"no response from {url} within {timeout:.1f} s"
            ) from exc
        raise TransportError("connection", f"request to {url} failed: {chain[-1]}") from exc
