"""What a provider call records (URL, response headers, error messages) never carries a
credential: query API keys, userinfo, credential headers and secrets echoed back are masked."""

import pytest

from executors.runtime.connections import connection_for
from executors.runtime.http import OutboundRequest, TransportError, send
from executors.runtime.redaction import redact_headers, redact_url
from tests.support.stub_server import StubResponse

API_KEY = "live-query-key-7f3a9c"


def query_key_config(stub, name: str = "apiKey") -> dict:
    return {
        "base_url": stub.url,
        "authentication": {
            "type": "api_key",
            "config": {"key": name, "value": API_KEY, "location": "query"},
        },
    }


def call(config: dict, path: str):
    connection = connection_for("http", config)
    return send(connection.request("GET", path), authenticator=connection.authenticator)


def test_a_query_api_key_is_sent_but_not_in_the_recorded_url(stub_server):
    stub_server.on("GET", "/score", StubResponse(200, {"ok": True}))

    response = call(query_key_config(stub_server, name="x"), "/score?sort=desc")

    [received] = stub_server.requests("GET", "/score")
    assert received.query["x"] == [API_KEY]
    assert API_KEY not in response.url
    assert response.url == stub_server.url_for("/score?sort=desc&x=********")


def test_a_key_echoed_back_in_a_redirect_or_header_is_masked_too(stub_server):
    stub_server.on(
        "GET",
        "/old",
        StubResponse(302, headers={"Location": f"/new?echo={API_KEY}&page=2"}),
    )
    stub_server.on("GET", "/new", StubResponse(200, {}, headers={"X-Echo": f"key={API_KEY}"}))

    response = call(query_key_config(stub_server), "/old")

    assert response.status == 200
    assert API_KEY not in response.url
    # Same origin: the key is sent again on the redirected request, and masked again.
    assert response.url.endswith("/new?echo=********&page=2&apiKey=********")
    assert response.headers["X-Echo"] == "********"


def test_credential_response_headers_are_masked(stub_server):
    stub_server.on(
        "GET",
        "/session",
        StubResponse(
            200,
            {},
            headers={
                "Set-Cookie": "session=abc123; HttpOnly",
                "WWW-Authenticate": 'Bearer realm="x", error="invalid_token"',
                "Proxy-Authenticate": "Basic",
                "X-Session-Token": "tok-123456",
                "X-Request-Id": "req-1",
            },
        ),
    )

    response = send(OutboundRequest("GET", stub_server.url_for("/session"), timeout=5))

    for name in ("Set-Cookie", "WWW-Authenticate", "Proxy-Authenticate", "X-Session-Token"):
        assert response.headers[name] == "********"
    assert response.headers["X-Request-Id"] == "req-1"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pa55@api.example.com/v1", "https://api.example.com/v1"),
        (
            "https://api.example.com/v1?api_key=s3cret&q=1",
            "https://api.example.com/v1?api_key=********&q=1",
        ),
        (
            "https://api.example.com/v1?access_token=s3cret",
            "https://api.example.com/v1?access_token=********",
        ),
        ("https://api.example.com/v1?q=a+b&flag", "https://api.example.com/v1?q=a+b&flag"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_redact_url_masks_the_configured_name_and_secret_values_wherever_they_appear():
    url = "https://api.example.com/v1/k%2Bey%2Fvalue?custom=k%2Bey%2Fvalue&other=1"

    assert redact_url(url, names=["CUSTOM"], secrets=["k+ey/value"]) == (
        "https://api.example.com/v1/********?custom=********&other=1"
    )


def test_redact_headers_masks_by_name_and_by_secret_value():
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json", "X-A": "is-s3cret!"}

    assert redact_headers(headers, secrets=["s3cret!"]) == {
        "Authorization": "********",
        "Content-Type": "application/json",
        "X-A": "********",
    }


# --- errors quote no request data ------------------------------------------------------------


@pytest.mark.parametrize("value", ["  leading-space-secret", "secret-with\r\nX-Injected: 1"])
def test_an_invalid_header_value_fails_without_quoting_it(stub_server, value):
    stub_server.on("GET", "/score", StubResponse(200, {}))
    request = OutboundRequest(
        "GET", stub_server.url_for("/score"), headers={"X-Api-Key": value}, timeout=5
    )

    with pytest.raises(TransportError) as raised:
        send(request)

    assert "secret" not in str(raised.value)
    assert str(raised.value).endswith("a request header has an invalid name or value")
    assert stub_server.requests() == []


def test_a_failed_request_names_the_url_without_its_userinfo(stub_server):
    from tests.support.stub_server import closed_port

    url = f"http://admin:hunter22@127.0.0.1:{closed_port()}/score"

    with pytest.raises(TransportError) as raised:
        send(OutboundRequest("GET", url, timeout=5))

    assert "hunter22" not in str(raised.value)
    assert str(raised.value).endswith("failed: connection refused")
