"""Sending provider calls: bodies, queries, responses, redirects, the outbound policy at connect
time, and transport failures — all against a real local HTTP server."""

import time
from decimal import Decimal

import pytest

from executors.runtime.auth import HeaderCredential
from executors.runtime.http import OutboundRequest, TransportError, send
from executors.runtime.policy import OutboundPolicyError
from tests.support.stub_server import StubResponse, StubServer, closed_port


def test_decimal_body_is_sent_with_its_exact_digits_as_json(stub_server):
    stub_server.on("POST", "/score", StubResponse(200, {"score": 12}))
    body = {"amount": Decimal("1500.00"), "big": Decimal("12345678901234567890.12"), "n": 3}

    send(OutboundRequest("POST", stub_server.url_for("/score"), body=body, timeout=5))

    [received] = stub_server.requests("POST", "/score")
    assert received.raw_body == b'{"amount": 1500.00, "big": 12345678901234567890.12, "n": 3}'
    assert received.header("Content-Type") == "application/json"


def test_caller_content_type_is_kept(stub_server):
    stub_server.on("POST", "/score", StubResponse(204))

    send(
        OutboundRequest(
            "POST",
            stub_server.url_for("/score"),
            headers={"content-type": "application/vnd.fraud+json"},
            body={"a": 1},
            timeout=5,
        )
    )

    [received] = stub_server.requests()
    assert received.header("Content-Type") == "application/vnd.fraud+json"


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD"])
def test_bodyless_methods_send_no_body_and_repeat_list_query_values(stub_server, method):
    stub_server.on(method, "/validations", StubResponse(200, {"items": []}))

    send(
        OutboundRequest(
            method,
            stub_server.url_for("/validations?sortOrder=DESC"),
            query={"decision": ["ALLOW", "REVIEW"], "limit": 10, "pending": False, "none": None},
            body={"ignored": True},
            timeout=5,
        )
    )

    [received] = stub_server.requests(method, "/validations")
    assert received.raw_body == b""
    assert received.header("Content-Length") in (None, "0")
    assert received.header("Transfer-Encoding") is None
    assert received.header("Content-Type") is None
    assert received.query == {
        "sortOrder": ["DESC"],
        "decision": ["ALLOW", "REVIEW"],
        "limit": ["10"],
        "pending": ["false"],
    }


def test_headers_are_sent_and_idempotency_key_passes_through(stub_server):
    stub_server.on("PUT", "/accounts/1", StubResponse(200, {}))

    send(
        OutboundRequest(
            "PUT",
            stub_server.url_for("/accounts/1"),
            headers={"Idempotency-Key": "exec-1:check-fraud", "X-Attempt": 2},
            body={},
            timeout=5,
        )
    )

    [received] = stub_server.requests()
    assert received.header("Idempotency-Key") == "exec-1:check-fraud"
    assert received.header("X-Attempt") == "2"
    assert received.header("User-Agent").startswith("Flowker/")


def test_json_response_is_parsed_with_exact_decimals(stub_server):
    answer = StubResponse(200, {"score": Decimal("87.50"), "ok": True}, {"X-Request-Id": "r-9"})
    stub_server.on("POST", "/score", answer)

    response = send(OutboundRequest("POST", stub_server.url_for("/score"), body={}, timeout=5))

    assert response.status == 200
    assert response.ok
    assert response.body == {"score": Decimal("87.50"), "ok": True}
    assert str(response.body["score"]) == "87.50"
    assert response.headers["X-Request-Id"] == "r-9"
    assert response.url == stub_server.url_for("/score")
    assert response.duration_ms >= 0
    assert response.size == len(b'{"score": 87.50, "ok": true}')


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (StubResponse(200, "plain words"), "plain words"),
        (StubResponse(200, b"{not json", {"Content-Type": "application/json"}), "{not json"),
        (StubResponse(200, b'{"a": 1}', {"Content-Type": "application/problem+json"}), {"a": 1}),
        (StubResponse(204), None),
        # JSON that Flowker refuses on the way in (too deep, NaN) is not parsed either.
        (StubResponse(200, b"[" * 65 + b"]" * 65, JSON), "[" * 65 + "]" * 65),
        (StubResponse(200, b'{"score": NaN}', JSON), '{"score": NaN}'),
    ],
)
def test_response_body_is_text_unless_json_and_none_when_empty(stub_server, answer, expected):
    stub_server.on("GET", "/thing", answer)

    response = send(OutboundRequest("GET", stub_server.url_for("/thing"), timeout=5))

    assert response.body == expected


def test_non_2xx_statuses_are_returned_not_raised(stub_server):
    stub_server.on("POST", "/score", StubResponse(422, {"error": "bad amount"}))

    response = send(OutboundRequest("POST", stub_server.url_for("/score"), body={}, timeout=5))

    assert (response.status, response.ok, response.body) == (422, False, {"error": "bad amount"})


def test_post_redirected_with_302_is_followed_as_a_get_without_body(stub_server):
    stub_server.on("POST", "/old", StubResponse(302, headers={"Location": "/new?from=old"}))
    stub_server.on("GET", "/new", StubResponse(200, {"moved": True}))

    response = send(OutboundRequest("POST", stub_server.url_for("/old"), body={"a": 1}, timeout=5))

    assert response.body == {"moved": True}
    assert response.url == stub_server.url_for("/new?from=old")
    [followed] = stub_server.requests("GET", "/new")
    assert followed.raw_body == b""
    assert followed.query == {"from": ["old"]}


def test_307_redirect_keeps_method_body_and_credentials_on_the_same_origin(stub_server):
    stub_server.on("POST", "/v1/score", StubResponse(307, headers={"Location": "/v2/score"}))
    stub_server.on("POST", "/v2/score", StubResponse(200, {"score": 5}))
    bearer = HeaderCredential("bearer", "Authorization", "Bearer secret-token")

    send(
        OutboundRequest("POST", stub_server.url_for("/v1/score"), body={"a": 1}, timeout=5),
        authenticator=bearer,
    )

    [followed] = stub_server.requests("POST", "/v2/score")
    assert followed.body == {"a": 1}
    assert followed.header("Authorization") == "Bearer secret-token"


def test_redirect_to_another_origin_carries_no_credentials_or_provider_headers(stub_server):
    with StubServer() as elsewhere:
        elsewhere.on("POST", "/landing", StubResponse(200, {}))
        location = elsewhere.url_for("/landing")
        stub_server.on("POST", "/score", StubResponse(307, headers={"Location": location}))
        bearer = HeaderCredential("bearer", "Authorization", "Bearer secret-token")

        send(
            OutboundRequest(
                "POST",
                stub_server.url_for("/score"),
                headers={"X-Tenant-Secret": "s3cr3t", "Idempotency-Key": "e:n"},
                body={"a": 1},
                timeout=5,
            ),
            authenticator=bearer,
        )

        [landed] = elsewhere.requests("POST", "/landing")
    assert landed.header("Authorization") is None
    assert landed.header("X-Tenant-Secret") is None
    assert landed.header("Idempotency-Key") == "e:n"
    assert landed.body == {"a": 1}


def test_redirects_stop_at_the_configured_maximum(stub_server, settings):
    settings.FLOWKER_HTTP_MAX_REDIRECTS = 2
    stub_server.on("GET", "/loop", StubResponse(302, headers={"Location": "/loop"}))

    response = send(OutboundRequest("GET", stub_server.url_for("/loop"), timeout=5))

    assert response.status == 302
    assert len(stub_server.requests("GET", "/loop")) == 3


@pytest.mark.parametrize("target_host", ["127.0.0.1", "localhost"])
def test_redirect_to_a_refused_address_raises_and_sends_nothing_there(
    stub_server, settings, target_host
):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = True
    with StubServer() as internal:
        internal.on("GET", "/admin", StubResponse(200, {"secret": True}))
        target = f"http://{target_host}:{internal.port}/admin"

        def leave_the_public_internet(request):
            # The provider itself was reachable; from here on loopback is off limits, as it is
            # in production where a public provider redirects to an internal address.
            settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False
            return StubResponse(302, headers={"Location": target})

        stub_server.on("GET", "/start", leave_the_public_internet)

        with pytest.raises(OutboundPolicyError, match="outbound policy refuses"):
            send(OutboundRequest("GET", stub_server.url_for("/start"), timeout=5))

        assert internal.requests() == []


def test_redirect_to_a_non_http_scheme_is_refused(stub_server):
    stub_server.on("GET", "/start", StubResponse(302, headers={"Location": "file:///etc/passwd"}))

    with pytest.raises(OutboundPolicyError, match="scheme 'file' is not http or https"):
        send(OutboundRequest("GET", stub_server.url_for("/start"), timeout=5))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_connection_to_a_refused_address_is_never_opened(stub_server, settings, host):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False
    stub_server.on("GET", "/health", StubResponse(200))

    with pytest.raises(OutboundPolicyError, match="FLOWKER_OUTBOUND_ALLOW_PRIVATE"):
        send(OutboundRequest("GET", f"http://{host}:{stub_server.port}/health", timeout=5))

    assert stub_server.requests() == []


def test_environment_proxies_are_ignored(stub_server, monkeypatch):
    with StubServer() as proxy:
        proxy.on("GET", "/score", StubResponse(200, {"via": "proxy"}))
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        stub_server.on("GET", "/score", StubResponse(200, {"via": "direct"}))

        response = send(OutboundRequest("GET", stub_server.url_for("/score"), timeout=5))

        assert response.body == {"via": "direct"}
        assert proxy.requests() == []


def test_connection_refused_is_a_connection_transport_error():
    url = f"http://127.0.0.1:{closed_port()}/score"

    with pytest.raises(TransportError, match="connection refused") as raised:
        send(OutboundRequest("POST", url, body={}, timeout=5))

    assert raised.value.kind == "connection"


def test_a_provider_slower_than_the_timeout_is_a_timeout_transport_error(stub_server):
    stub_server.on("POST", "/slow", StubResponse(200, {}, delay=1.0))
    started = time.monotonic()

    with pytest.raises(TransportError) as raised:
        send(OutboundRequest("POST", stub_server.url_for("/slow"), body={}, timeout=0.3))

    assert raised.value.kind == "timeout"
    assert time.monotonic() - started < 0.9


def test_the_timeout_bounds_the_whole_redirect_chain(stub_server):
    slow_hop = StubResponse(302, headers={"Location": "/next"}, delay=0.25)
    stub_server.on("GET", "/start", slow_hop)
    stub_server.on("GET", "/next", StubResponse(302, headers={"Location": "/last"}, delay=0.25))
    stub_server.on("GET", "/last", StubResponse(200, {}, delay=0.25))

    with pytest.raises(TransportError) as raised:
        send(OutboundRequest("GET", stub_server.url_for("/start"), timeout=0.6))

    assert raised.value.kind == "timeout"


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_keeps_the_host_name_for_sni_while_connecting_to_the_vetted_address():
    with StubServer(tls=True) as provider:
        provider.on("GET", "/health", StubResponse(200, {"up": True}))
        url = f"https://localhost:{provider.port}/health"

        response = send(OutboundRequest("GET", url, timeout=5, verify_tls=False))

        assert response.body == {"up": True}
        assert provider.server_names == ["localhost"]


def test_tls_certificates_are_verified_by_default():
    with StubServer(tls=True) as provider:
        provider.on("GET", "/health", StubResponse(200, {"up": True}))

        with pytest.raises(TransportError, match="certificate did not verify") as raised:
            send(OutboundRequest("GET", f"https://localhost:{provider.port}/health", timeout=5))

        assert raised.value.kind == "connection"
        assert provider.requests() == []
