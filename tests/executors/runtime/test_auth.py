"""Authentication of provider calls: every type of the guide's table against the stub, and the
OAuth2 token lifecycle (grants, cache, expiry, discovery, failures, 401 re-send, locking)."""

import base64
import pickle
import re
import threading
import time

import pytest

from executors.runtime.auth import OAuthAuthenticator, TokenError, usable_seconds
from executors.runtime.connections import authenticator_for, connection_for
from executors.runtime.http import send
from flowker import crypto, jsoncodec
from tests.support.stub_server import StubResponse, closed_port

SCOPES = ["transactions:read", "transactions:score"]


def call(config: dict, path: str = "/resource"):
    """One GET through the configuration's connection, as an execution would make it."""
    connection = connection_for("http", config)
    return send(connection.request("GET", path), authenticator=connection.authenticator)


def http_config(stub, auth_type: str, **fields) -> dict:
    return {"base_url": stub.url, "authentication": {"type": auth_type, "config": fields}}


def client_credentials(stub, **overrides) -> dict:
    fields = {
        "tokenURL": stub.url_for("/oauth/token"),
        "clientID": "flowker-integration",
        "clientSecret": "secret-value",
        "scopes": SCOPES,
    }
    return http_config(stub, "oidc_client_credentials", **{**fields, **overrides})


def token_endpoint(stub, **kwargs):
    return stub.oauth_token_endpoint(
        client_id="flowker-integration", client_secret="secret-value", **kwargs
    )


# --- static credentials ------------------------------------------------------------------------


def test_no_authentication_sends_no_credentials(stub_server):
    stub_server.on("GET", "/resource", StubResponse(200, {}))

    call({"base_url": stub_server.url, "authentication": {"type": "none"}})
    call({"base_url": stub_server.url})

    for received in stub_server.requests():
        assert received.header("Authorization") is None
        assert received.query == {}


def test_api_key_in_a_header_uses_the_configured_header_name(stub_server):
    stub_server.on("GET", "/resource", StubResponse(200, {}))

    call(http_config(stub_server, "api_key", key="X-Fraud-Key", value="k-123", location="header"))

    [received] = stub_server.requests()
    assert received.header("X-Fraud-Key") == "k-123"
    assert received.header("Authorization") is None


def test_api_key_in_the_query_uses_the_configured_parameter_name(stub_server):
    stub_server.on("GET", "/resource", StubResponse(200, {}))

    call(
        http_config(stub_server, "api_key", key="apikey", value="k-123", location="query"),
        "/resource?page=2",
    )

    [received] = stub_server.requests()
    assert received.query == {"page": ["2"], "apikey": ["k-123"]}


def test_bearer_token_is_sent_in_the_authorization_header(stub_server):
    stub_server.on("GET", "/resource", StubResponse(200, {}))

    call(http_config(stub_server, "bearer", token="tok-abc"))

    [received] = stub_server.requests()
    assert received.header("Authorization") == "Bearer tok-abc"


def test_basic_credentials_are_base64_encoded(stub_server):
    stub_server.on("GET", "/resource", StubResponse(200, {}))

    call(http_config(stub_server, "basic", username="ops", password="p@ss:word"))

    [received] = stub_server.requests()
    expected = base64.b64encode(b"ops:p@ss:word").decode()
    assert received.header("Authorization") == f"Basic {expected}"


def test_authentication_replaces_a_provider_header_of_the_same_name(stub_server):
    stub_server.on("GET", "/resource", StubResponse(200, {}))
    config = http_config(stub_server, "bearer", token="tok-abc")
    config["headers"] = {"authorization": "Bearer stale", "X-Tenant": "t1"}

    call(config)

    [received] = stub_server.requests()
    assert received.header("Authorization") == "Bearer tok-abc"
    assert received.header("X-Tenant") == "t1"


@pytest.mark.parametrize(
    ("authentication", "message"),
    [
        ({"type": "bearer", "config": {}}, "bearer config: token is required"),
        ({"type": "basic", "config": {"password": "x"}}, "basic config: username is required"),
        ({"type": "api_key", "config": {"key": "X-Key"}}, "api_key config: value is required"),
        (
            {"type": "api_key", "config": {"key": "k", "value": "v", "location": "cookie"}},
            "api_key config: location must be 'header' or 'query'",
        ),
        (
            {"type": "oidc_client_credentials", "config": {"clientID": "c", "clientSecret": "s"}},
            "oidc_client_credentials config: tokenURL (or issuer_url) is required",
        ),
        (
            {"type": "oidc_user", "config": {"tokenURL": "https://a/t", "clientID": "c"}},
            "oidc_user config: username is required",
        ),
        ({"type": "kerberos", "config": {}}, "unknown auth type: kerberos"),
    ],
)
def test_unusable_authentication_config_is_rejected_with_the_missing_field(authentication, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        authenticator_for("http", {"base_url": "https://api", "authentication": authentication})


# --- OAuth2 -------------------------------------------------------------------------------------


def test_client_credentials_token_is_fetched_once_and_reused_across_calls(stub_server):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {"ok": True})))
    config = client_credentials(stub_server)

    first, second = call(config), call(config)

    assert (first.status, second.status) == (200, 200)
    [token_request] = stub_server.requests("POST", "/oauth/token")
    assert token_request.body["grant_type"] == "client_credentials"
    assert token_request.body["scope"] == "transactions:read transactions:score"
    assert b"scope=transactions%3Aread+transactions%3Ascore" in token_request.raw_body
    expected = base64.b64encode(b"flowker-integration:secret-value").decode()
    assert token_request.header("Authorization") == f"Basic {expected}"
    tokens = [r.bearer_token for r in stub_server.requests("GET", "/resource")]
    assert tokens == [endpoint.issued[0], endpoint.issued[0]]


def test_password_grant_sends_user_and_client_credentials_in_the_form(stub_server):
    endpoint = token_endpoint(stub_server, username="analyst", password="hunter2")
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))
    config = http_config(
        stub_server,
        "oidc_user",
        tokenURL=stub_server.url_for("/oauth/token"),
        clientID="flowker-integration",
        clientSecret="secret-value",
        username="analyst",
        password="hunter2",
        scopes=["openid", "cases:read"],
    )

    assert call(config).status == 200
    assert call(config).status == 200

    [token_request] = stub_server.requests("POST", "/oauth/token")
    assert token_request.body == {
        "grant_type": "password",
        "username": "analyst",
        "password": "hunter2",
        "client_id": "flowker-integration",
        "client_secret": "secret-value",
        "scope": "openid cases:read",
    }


def test_token_is_refreshed_once_its_lifetime_minus_the_margin_has_passed(stub_server):
    # expires_in 2 s → used for 2 − min(60, 0.2) = 1.8 s, although the server honours it for 2 s.
    endpoint = token_endpoint(stub_server, expires_in=2)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))
    config = client_credentials(stub_server)

    call(config)
    call(config)
    assert len(endpoint.issued) == 1
    time.sleep(1.9)
    call(config)

    assert len(endpoint.issued) == 2
    tokens = [r.bearer_token for r in stub_server.requests("GET", "/resource")]
    assert tokens == [endpoint.issued[0], endpoint.issued[0], endpoint.issued[1]]


@pytest.mark.parametrize(("expires_in", "usable"), [(3600, 3540), (600, 540), (300, 270), (2, 1.8)])
def test_a_token_is_used_for_its_lifetime_minus_min_60s_or_a_tenth(expires_in, usable):
    assert usable_seconds(expires_in) == pytest.approx(usable)


def test_cached_token_is_encrypted_in_the_cache(stub_server, raw_cache):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))

    call(client_credentials(stub_server))

    [(key, raw)] = raw_cache("oauth-token:").items()
    token = endpoint.issued[0]
    assert token.encode() not in raw
    assert b"flowker-integration" not in key.encode() + raw
    entry = jsoncodec.loads(crypto.decrypt(pickle.loads(raw)))
    assert entry["access_token"] == token


def test_a_narrower_granted_scope_is_accepted_and_stored(stub_server, raw_cache):
    endpoint = token_endpoint(stub_server)
    endpoint.granted_scope = "transactions:read"
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))
    config = client_credentials(stub_server)

    assert call(config).status == 200
    assert call(config).status == 200

    assert len(endpoint.issued) == 1
    [raw] = raw_cache("oauth-token:").values()
    entry = jsoncodec.loads(crypto.decrypt(pickle.loads(raw)))
    assert entry["scope"] == "transactions:read"


def test_token_url_is_discovered_from_the_issuer_and_the_discovery_is_cached(stub_server):
    endpoint = token_endpoint(stub_server, path="/realms/flowker/token")
    issuer = stub_server.oidc_discovery(token_path="/realms/flowker/token", issuer_path="/realms")
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))
    config = client_credentials(stub_server, tokenURL=None, issuer_url=issuer + "/")

    assert call(config).status == 200
    endpoint.revoke_all()
    assert call(config).status == 200

    assert len(stub_server.requests("GET", "/realms/.well-known/openid-configuration")) == 1
    assert len(stub_server.requests("POST", "/realms/flowker/token")) == 2
    [discovery, *_] = stub_server.requests("GET", "/realms/.well-known/openid-configuration")
    assert discovery.header("Accept") == "application/json"


def test_discovery_document_without_token_endpoint_is_a_token_error(stub_server):
    stub_server.on("GET", "/.well-known/openid-configuration", StubResponse(200, {"issuer": "x"}))
    config = client_credentials(stub_server, tokenURL=None, issuer_url=stub_server.url)

    with pytest.raises(TokenError, match="discovery document missing token_endpoint"):
        call(config)

    assert stub_server.requests("GET", "/resource") == []


DEEP = StubResponse(200, b"[" * 5000 + b"]" * 5000, {"Content-Type": "application/json"})


def test_token_and_discovery_answers_nested_past_the_recursion_limit_are_token_errors(
    stub_server,
):
    stub_server.on("POST", "/oauth/token", DEEP)
    with pytest.raises(TokenError, match="unusable token response"):
        call(client_credentials(stub_server))
    stub_server.on("POST", "/oauth/token", StubResponse(401, DEEP.body, DEEP.headers))
    with pytest.raises(TokenError, match=r"token endpoint returned 401$"):
        call(client_credentials(stub_server))
    stub_server.on("GET", "/.well-known/openid-configuration", DEEP)
    with pytest.raises(TokenError, match="discovery document missing token_endpoint"):
        call(client_credentials(stub_server, tokenURL=None, issuer_url=stub_server.url))


@pytest.mark.parametrize("status", [401, 503])
def test_token_endpoint_failure_raises_its_status_and_caches_nothing(
    stub_server, raw_cache, status
):
    endpoint = token_endpoint(stub_server)
    endpoint.failure = StubResponse(status, {"error": "temporarily_unavailable"})
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))
    config = client_credentials(stub_server)

    with pytest.raises(TokenError) as raised:
        call(config)

    assert raised.value.status_code == status
    assert f"token endpoint returned {status}: temporarily_unavailable" in str(raised.value)
    assert raw_cache("oauth-token:") == {}
    assert stub_server.requests("GET", "/resource") == []
    endpoint.failure = None
    assert call(config).status == 200
    assert len(stub_server.requests("POST", "/oauth/token")) == 2


def test_wrong_client_secret_is_a_401_token_error(stub_server):
    token_endpoint(stub_server)

    with pytest.raises(TokenError, match="invalid_client") as raised:
        call(client_credentials(stub_server, clientSecret="wrong"))

    assert raised.value.status_code == 401
    assert not raised.value.transient


def test_unreachable_token_endpoint_is_a_transient_token_error():
    url = f"http://127.0.0.1:{closed_port()}/oauth/token"
    authenticator = authenticator_for(
        "http",
        {
            "base_url": "http://127.0.0.1:1",
            "authentication": {
                "type": "oidc_client_credentials",
                "config": {"tokenURL": url, "clientID": "c", "clientSecret": "s"},
            },
        },
    )

    with pytest.raises(TokenError, match="token endpoint unreachable") as raised:
        authenticator.apply({}, {})

    assert raised.value.status_code is None
    assert raised.value.transient


def test_provider_401_discards_the_cached_token_and_resends_once_with_a_fresh_one(stub_server):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {"ok": True})))
    config = client_credentials(stub_server)
    assert call(config).status == 200

    endpoint.revoke_all()  # the provider stops honouring the cached, unexpired token
    response = call(config)

    assert response.status == 200
    assert len(endpoint.issued) == 2
    tokens = [r.bearer_token for r in stub_server.requests("GET", "/resource")]
    assert tokens == [endpoint.issued[0], endpoint.issued[0], endpoint.issued[1]]
    assert call(config).status == 200
    assert len(endpoint.issued) == 2


def test_a_provider_that_keeps_answering_401_gets_exactly_one_resend(stub_server):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", StubResponse(401, {"error": "invalid_token"}))

    response = call(client_credentials(stub_server))

    assert response.status == 401
    assert len(stub_server.requests("GET", "/resource")) == 2
    assert len(endpoint.issued) == 2


def test_static_credentials_are_not_resent_after_a_401(stub_server):
    stub_server.on("GET", "/resource", StubResponse(401))

    response = call(http_config(stub_server, "bearer", token="tok-abc"))

    assert response.status == 401
    assert len(stub_server.requests("GET", "/resource")) == 1


def test_concurrent_callers_share_a_single_token_refresh(stub_server):
    endpoint = token_endpoint(stub_server)

    def slow_token_endpoint(request):
        time.sleep(0.3)
        return endpoint(request)

    stub_server.on("POST", "/oauth/token", slow_token_endpoint)
    config = client_credentials(stub_server)
    tokens: list[str] = []

    def worker() -> None:
        authenticator = authenticator_for("http", config)
        assert isinstance(authenticator, OAuthAuthenticator)
        tokens.append(authenticator.access_token())

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(stub_server.requests("POST", "/oauth/token")) == 1
    assert tokens == [endpoint.issued[0]] * 5


def test_fresh_token_bypasses_the_cache_and_replaces_the_cached_token(stub_server):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {})))
    config = client_credentials(stub_server)
    authenticator = authenticator_for("http", config)
    assert isinstance(authenticator, OAuthAuthenticator)

    first = authenticator.access_token()
    fresh = authenticator.fresh_token()

    assert first != fresh
    assert authenticator.access_token() == fresh
    assert len(endpoint.issued) == 2


# --- the token cache belongs to one configuration and its secret -------------------------------


def call_as(owner: str, config: dict, path: str = "/resource"):
    """One GET through the connection of provider configuration `owner`."""
    connection = connection_for("http", config, owner=owner)
    return send(connection.request("GET", path), authenticator=connection.authenticator)


def test_a_copy_of_the_visible_fields_with_a_made_up_secret_is_not_served_the_cached_token(
    stub_server,
):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {"ok": True})))
    assert call_as("victim", client_credentials(stub_server)).status == 200

    copy = client_credentials(stub_server, clientSecret="made-up-secret")
    with pytest.raises(TokenError) as raised:
        call_as("attacker", copy)

    assert raised.value.status_code == 401
    assert len(endpoint.issued) == 1
    [victim_call] = stub_server.requests("GET", "/resource")
    assert victim_call.bearer_token == endpoint.issued[0]


def test_the_same_secret_under_another_configuration_gets_its_own_token(stub_server):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {"ok": True})))
    config = client_credentials(stub_server)

    assert call_as("first", config).status == 200
    assert call_as("second", config).status == 200

    assert len(endpoint.issued) == 2


def test_another_configurations_401_does_not_evict_the_cached_token(stub_server):
    endpoint = token_endpoint(stub_server)
    stub_server.on("GET", "/resource", endpoint.protected(StubResponse(200, {"ok": True})))
    stub_server.on("GET", "/elsewhere", StubResponse(401, {"error": "invalid_token"}))
    config = client_credentials(stub_server)
    assert call_as("victim", config).status == 200

    # Another configuration, whose provider answers 401, invalidates its own token only.
    assert call_as("other", config, "/elsewhere").status == 401
    assert call_as("victim", config).status == 200

    victim_tokens = [r.bearer_token for r in stub_server.requests("GET", "/resource")]
    assert victim_tokens == [endpoint.issued[0], endpoint.issued[0]]
