"""A scriptable HTTP provider stub on 127.0.0.1 for tests: it records every request and answers
from a script, so a test can assert exactly what Flowker sent to a provider.

    with StubServer() as stub:                      # or the `stub_server` pytest fixture
        stub.on("POST", "/score", StubResponse(200, {"score": 42}))
        ...                                         # make Flowker call stub.url_for("/score")
        [call] = stub.requests("POST", "/score")
        assert call.body == {"amount": Decimal("1500.00")}

Script: `on(method, path, *answers)` gives a route a queue of answers, each a `StubResponse` or a
callable `(RecordedRequest) -> StubResponse`; every request takes the next one and the last one
keeps answering. Unscripted routes answer 404. `oauth_token_endpoint` and `oidc_discovery` add an
OAuth2 authorization server. `StubServer(tls=True)` serves HTTPS with a self-signed certificate
for `localhost`/127.0.0.1 and records the TLS server names (SNI) clients sent.

Use the fixture by importing it into a conftest:
`from tests.support.stub_server import stub_server  # noqa: F401`.
"""

import base64
import binascii
import datetime
import ipaddress
import itertools
import json
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import simplejson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stub received it.

    `body` is parsed: JSON (non-integers as Decimal), a form as {name: value}, other text as str,
    None when empty; `raw_body` keeps the bytes. `received_at` is `time.monotonic()`.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    received_at: float

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def bearer_token(self) -> str | None:
        authorization = self.header("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        return token if scheme.lower() == "bearer" and token else None


@dataclass
class StubResponse:
    """An answer. `body`: dict/list → JSON (Decimals exact), str → text/plain, bytes as they are
    (with a `Content-Encoding` header, e.g. gzip, they go out as given), None → empty. `delay`
    seconds pass before the answer is written; `trickle` > 0 writes the body one byte at a time,
    `trickle` seconds apart (a provider that is slow but never silent)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            content, content_type = self.body, "application/octet-stream"
        elif isinstance(self.body, str):
            content, content_type = self.body.encode(), "text/plain; charset=utf-8"
        else:
            content = simplejson.dumps(self.body, use_decimal=True).encode()
            content_type = "application/json"
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = content_type
        return content, headers


Answer = StubResponse | Callable[[RecordedRequest], StubResponse]


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    text = raw.decode("utf-8", errors="replace")
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(text, parse_float=Decimal)
        except ValueError:
            return text
    if media_type == "application/x-www-form-urlencoded":
        return {name: values[-1] for name, values in parse_qs(text, keep_blank_values=True).items()}
    return text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real providers
    server: "_Server"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the recorded requests are the log."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        raw = self._read_body()
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=_parse_body(raw, self.headers.get("Content-Type", "")),
            raw_body=raw,
            received_at=time.monotonic(),
        )
        response = self.server.stub._answer(request)
        if response.delay:
            time.sleep(response.delay)
        content, headers = response.encode()
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD" and response.trickle:
                self._trickle(request.path, content, response.trickle)
            elif self.command != "HEAD":
                self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout passed)

    def _trickle(self, path: str, content: bytes, interval: float) -> None:
        written = 0
        try:
            for index in range(len(content)):
                time.sleep(interval)
                self.wfile.write(content[index : index + 1])
                self.wfile.flush()
                written += 1
        finally:
            self.server.stub._delivered(path, written)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, stub: "StubServer") -> None:
        super().__init__((HOST, 0), _Handler)
        self.stub = stub

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Without it, small responses wait ~40 ms for the client's delayed ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stub._track(sock)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-request are expected in timeout tests; stay quiet."""


def _self_signed_tls_context(directory: Path, server_names: list[str]) -> ssl.SSLContext:
    """A server context with a fresh certificate for localhost and 127.0.0.1 that records the
    SNI name of every handshake into `server_names`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    return context


class StubServer:
    """A threaded HTTP(S) server on 127.0.0.1 and an ephemeral port (see the module docstring)."""

    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self.server_names: list[str | None] = []  # SNI of each TLS handshake
        self._lock = threading.Lock()
        self._script: dict[tuple[str, str], list[Answer]] = {}
        self._recorded: list[RecordedRequest] = []
        self._trickled: list[tuple[str, int]] = []
        self._sockets: list[socket.socket] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls_files: tempfile.TemporaryDirectory[str] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "StubServer":
        self._server = _Server(self)
        if self.tls:
            self._tls_files = tempfile.TemporaryDirectory()
            context = _self_signed_tls_context(Path(self._tls_files.name), self.server_names)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    continue
            self._sockets.clear()
        self._server = None
        if self._tls_files is not None:
            self._tls_files.cleanup()
            self._tls_files = None

    def __enter__(self) -> "StubServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    # --- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stub server is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + "/" + path.lstrip("/")

    # --- script ------------------------------------------------------------------------------

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Script a route: each request takes the next answer; the last one keeps answering."""
        if not answers:
            raise ValueError("give at least one answer")
        with self._lock:
            self._script[(method.upper(), path)] = list(answers)

    def _answer(self, request: RecordedRequest) -> StubResponse:
        with self._lock:
            self._recorded.append(request)
            queue = self._script.get((request.method, request.path))
            answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
        if answer is None:
            message = f"no stub answer scripted for {request.method} {request.path}"
            return StubResponse(404, {"error": message})
        if not callable(answer):
            return answer
        try:
            return answer(request)
        except Exception as exc:  # a broken test script should show up as an answer, not a hang
            return StubResponse(500, {"error": f"stub answer raised {exc!r}"})

    # --- what was received -------------------------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests in arrival order, optionally only one method and/or path."""
        with self._lock:
            return [
                r
                for r in self._recorded
                if (method is None or r.method == method.upper())
                and (path is None or r.path == path)
            ]

    def wait_for(
        self, count: int, method: str | None = None, path: str | None = None, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Block until `count` matching requests arrived (for calls made by another process)."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.requests(method, path)
            if len(received) >= count or time.monotonic() >= deadline:
                return received
            time.sleep(0.01)

    def _delivered(self, path: str, written: int) -> None:
        with self._lock:
            self._trickled.append((path, written))

    def trickled(self, path: str, timeout: float = 30.0) -> int | None:
        """Body bytes a trickled answer on `path` delivered before it ended (finished, or the
        client hung up); waits for the first such answer to end, None if none did in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                ended = [written for done, written in self._trickled if done == path]
            if ended:
                return ended[0]
            time.sleep(0.01)
        return None

    def clear(self) -> None:
        """Forget the recorded requests (the script stays)."""
        with self._lock:
            self._recorded.clear()

    # --- an OAuth2 authorization server ------------------------------------------------------

    def oauth_token_endpoint(
        self,
        path: str = "/oauth/token",
        *,
        client_id: str,
        client_secret: str,
        username: str | None = None,
        password: str | None = None,
        expires_in: int = 3600,
    ) -> "OAuthTokenEndpoint":
        """Serve a token endpoint at `path` (POST) and return it to inspect or steer it."""
        endpoint = OAuthTokenEndpoint(
            self.url_for(path), client_id, client_secret, username, password, expires_in
        )
        self.on("POST", path, endpoint)
        return endpoint

    def oidc_discovery(self, token_path: str = "/oauth/token", issuer_path: str = "") -> str:
        """Serve `<issuer>/.well-known/openid-configuration` naming the token endpoint at
        `token_path`; returns the issuer URL."""
        issuer = self.url + issuer_path.rstrip("/")
        document = {
            "issuer": issuer,
            "token_endpoint": self.url_for(token_path),
            "grant_types_supported": ["client_credentials", "password"],
        }
        well_known = issuer_path.rstrip("/") + "/.well-known/openid-configuration"
        self.on("GET", well_known, StubResponse(200, document))
        return issuer


def _basic_credentials(request: RecordedRequest) -> tuple[str, str] | None:
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, secret


class OAuthTokenEndpoint:
    """A token endpoint for the client-credentials and password grants.

    Issues distinct tokens (`access-<n>-<random>`, n counting from 1) valid for `expires_in`
    seconds. Client credentials are accepted from HTTP Basic or from the form. Set `failure` to
    answer every token request with it, `granted_scope` to grant another scope than requested,
    and use `protected(answer)` for a resource that wants a valid, unrevoked token.
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        username: str | None,
        password: str | None,
        expires_in: int,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.expires_in = expires_in
        self.granted_scope: str | None = None
        self.failure: StubResponse | None = None
        self.issued: list[str] = []
        self._expiry: dict[str, float] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> StubResponse:
        if self.failure is not None:
            return self.failure
        form = request.body if isinstance(request.body, dict) else {}
        grant_type = form.get("grant_type")
        client = _basic_credentials(request) or (form.get("client_id"), form.get("client_secret"))
        if grant_type == "client_credentials":
            if client != (self.client_id, self.client_secret):
                return StubResponse(401, {"error": "invalid_client"})
        elif grant_type == "password":
            if client[0] != self.client_id or (
                self.client_secret and client[1] != self.client_secret
            ):
                return StubResponse(401, {"error": "invalid_client"})
            if (form.get("username"), form.get("password")) != (self.username, self.password):
                return StubResponse(400, {"error": "invalid_grant"})
        else:
            return StubResponse(400, {"error": "unsupported_grant_type"})
        return StubResponse(200, self._issue(form.get("scope")), {"Cache-Control": "no-store"})

    def _issue(self, requested_scope: str | None) -> dict[str, Any]:
        with self._lock:
            token = f"access-{next(self._counter)}-{secrets.token_hex(8)}"
            self.issued.append(token)
            self._expiry[token] = time.monotonic() + self.expires_in
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        scope = self.granted_scope if self.granted_scope is not None else requested_scope
        if scope:
            answer["scope"] = scope
        return answer

    def is_valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and self._expiry.get(token, 0.0) > time.monotonic()

    def revoke_all(self) -> None:
        """Invalidate every token issued so far (the resource answers 401 to them)."""
        with self._lock:
            self._expiry.clear()

    def protected(self, answer: Answer) -> Callable[[RecordedRequest], StubResponse]:
        """Wrap an answer so it is given only to requests carrying a valid bearer token."""

        def guarded(request: RecordedRequest) -> StubResponse:
            if not self.is_valid(request.bearer_token):
                return StubResponse(401, {"error": "invalid_token"})
            return answer(request) if callable(answer) else answer

        return guarded


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    """A running StubServer, stopped after the test."""
    with StubServer() as server:
        yield server
