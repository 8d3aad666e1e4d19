"""Connections of provider configurations: URL joining, Midaz executor URLs (both config forms,
parameter precedence) and the credentials Midaz and Tracer calls carry."""

import pytest

from catalog.definitions.midaz import route as midaz_call
from executors.runtime.connections import connection_for
from executors.runtime.http import send
from executors.runtime.urls import join_url
from tests.support.stub_server import StubResponse

ORG = "0190b0f8-1111-7000-8000-000000000001"
LEDGER = "0190b0f8-2222-7000-8000-000000000002"
ACCOUNT = "0190b0f8-3333-7000-8000-000000000003"

LONG_FORM = {
    "onboarding_base_url": "https://onboarding.midaz.example:3000",
    "transaction_base_url": "https://transaction.midaz.example:3001/",
    "organization_id": ORG,
    "ledger_id": LEDGER,
}


@pytest.mark.parametrize(
    ("base", "path", "joined"),
    [
        ("https://api.example.com", "/v1/score", "https://api.example.com/v1/score"),
        ("https://api.example.com/", "v1/score", "https://api.example.com/v1/score"),
        ("https://api.example.com/api/", "/v1/score", "https://api.example.com/api/v1/score"),
        (
            "https://api.example.com/api",
            "score-transaction",
            "https://api.example.com/api/score-transaction",
        ),
        ("https://api.example.com/api", "", "https://api.example.com/api"),
    ],
)
def test_join_url_puts_exactly_one_slash_between_base_and_path(base, path, joined):
    assert join_url(base, path) == joined


def test_http_connection_takes_base_url_headers_timeout_and_tls_from_the_config(settings):
    config = {
        "base_url": "https://fraud.example/api",
        "headers": {"X-Tenant": "t1"},
        "timeout_seconds": 12,
        "verify_tls": False,
    }

    connection = connection_for("http", config)
    request = connection.request("POST", "/score", headers={"Idempotency-Key": "e:n"}, body={})

    assert (connection.base_url, connection.timeout, connection.verify_tls) == (
        "https://fraud.example/api",
        12.0,
        False,
    )
    assert connection.authenticator.auth_type == "none"
    assert request.url == "https://fraud.example/api/score"
    assert request.headers == {"X-Tenant": "t1", "Idempotency-Key": "e:n"}
    assert (request.timeout, request.verify_tls) == (12.0, False)
    assert connection_for("http", {"base_url": "https://a"}).timeout == float(
        settings.FLOWKER_HTTP_TIMEOUT_SECONDS
    )


def test_unknown_provider_is_rejected():
    with pytest.raises(ValueError, match="unknown provider: s3"):
        connection_for("s3", {"bucket": "b"})


@pytest.mark.parametrize(
    ("executor_id", "expected"),
    [
        (
            "midaz.create-transaction",
            (
                "POST",
                f"https://midaz.example.com/api/v1/organizations/{ORG}/ledgers/{LEDGER}/transactions/json",
            ),
        ),
        (
            "midaz.create-account",
            (
                "POST",
                f"https://midaz.example.com/api/v1/organizations/{ORG}/ledgers/{LEDGER}/accounts",
            ),
        ),
        (
            "midaz.get-account",
            (
                "GET",
                f"https://midaz.example.com/api/v1/organizations/{ORG}/ledgers/{LEDGER}/accounts/{ACCOUNT}",
            ),
        ),
        (
            "midaz.get-account-balance",
            (
                "GET",
                f"https://midaz.example.com/api/v1/organizations/{ORG}/ledgers/{LEDGER}/accounts/{ACCOUNT}/balances",
            ),
        ),
    ],
)
@pytest.mark.parametrize(
    "base_url", ["https://midaz.example.com/api/v1", "https://midaz.example.com/api/v1/"]
)
def test_midaz_short_form_uses_base_url_for_every_executor(executor_id, expected, base_url):
    """The guide's base URL ends in the version that upstream's paths start with: once only."""
    config = {
        "base_url": base_url,
        "api_key": "sk-prod-xxx",
        "organization_id": ORG,
        "ledger_id": LEDGER,
    }

    assert midaz_call(executor_id, config, {}, {"accountId": ACCOUNT}) == expected


@pytest.mark.parametrize(
    "base_url",
    ["https://midaz.example.com", "https://midaz.example.com/api/", "https://m.example/v10"],
)
def test_midaz_short_form_without_the_version_gets_upstreams_path(base_url):
    config = {"base_url": base_url, "api_key": "k", "organization_id": ORG, "ledger_id": LEDGER}

    _, url = midaz_call("midaz.get-account", config, {}, {"accountId": ACCOUNT})

    assert url == (
        f"{base_url.rstrip('/')}/v1/organizations/{ORG}/ledgers/{LEDGER}/accounts/{ACCOUNT}"
    )


@pytest.mark.parametrize(
    ("executor_id", "base"),
    [
        ("midaz.create-transaction", "https://transaction.midaz.example:3001"),
        ("midaz.create-account", "https://onboarding.midaz.example:3000"),
        ("midaz.get-account", "https://onboarding.midaz.example:3000"),
        ("midaz.get-account-balance", "https://transaction.midaz.example:3001"),
    ],
)
def test_midaz_long_form_picks_the_onboarding_or_transaction_base(executor_id, base):
    _, url = midaz_call(executor_id, LONG_FORM, {}, {"accountId": ACCOUNT})

    assert url.startswith(f"{base}/v1/organizations/{ORG}/ledgers/{LEDGER}/")


def test_midaz_path_parameters_come_from_config_then_node_data_then_body():
    config = {"base_url": "https://midaz.example", "organization_id": "org-config"}
    node_data = {"organization_id": "org-node", "ledger_id": "ledger-node"}
    body = {"organization_id": "org-body", "ledger_id": "ledger-body", "accountId": "acc-body"}

    _, url = midaz_call("midaz.get-account", config, node_data, body)

    assert url == (
        "https://midaz.example/v1/organizations/org-config/ledgers/ledger-node/accounts/acc-body"
    )


def test_midaz_path_parameters_are_escaped_as_one_segment():
    config = {"base_url": "https://midaz.example", "organization_id": ORG, "ledger_id": LEDGER}

    _, url = midaz_call("midaz.get-account", config, {}, {"accountId": "../../admin?x=1"})

    assert url.endswith("/accounts/..%2F..%2Fadmin%3Fx%3D1")


@pytest.mark.parametrize(
    ("executor_id", "config", "message"),
    [
        (
            "midaz.create-transaction",
            {"onboarding_base_url": "https://o", "organization_id": ORG, "ledger_id": LEDGER},
            'missing required field "transaction_base_url" in provider config',
        ),
        (
            "midaz.create-account",
            {"base_url": "", "api_key": "k"},
            'missing required field "base_url" in provider config',
        ),
        (
            "midaz.create-account",
            {"base_url": "https://m", "organization_id": ORG},
            'missing required path parameter "ledger_id" for executor midaz.create-account',
        ),
        (
            "midaz.get-account",
            {"base_url": "https://m", "organization_id": ORG, "ledger_id": LEDGER},
            'missing required path parameter "accountId" for executor midaz.get-account',
        ),
        ("midaz.delete-ledger", {"base_url": "https://m"}, "unknown midaz executor"),
    ],
)
def test_midaz_call_reports_what_is_missing(executor_id, config, message):
    with pytest.raises(ValueError, match=message):
        midaz_call(executor_id, config, {}, {})


def test_midaz_short_form_sends_the_api_key_as_a_bearer_token(stub_server):
    config = {
        "base_url": stub_server.url + "/api/v1",
        "api_key": "sk-prod-xxx",
        "organization_id": ORG,
        "ledger_id": LEDGER,
    }
    path = f"/api/v1/organizations/{ORG}/ledgers/{LEDGER}/transactions/json"
    stub_server.on("POST", path, StubResponse(201, {"id": "tx-1"}))
    method, url = midaz_call("midaz.create-transaction", config, {}, {"send": {}})
    connection = connection_for("midaz", config)

    request = connection.request(method, url=url, body={"send": {"asset": "BRL"}})

    response = send(request, authenticator=connection.authenticator)

    assert response.status == 201
    [received] = stub_server.requests("POST", path)
    assert received.header("Authorization") == "Bearer sk-prod-xxx"
    assert received.body == {"send": {"asset": "BRL"}}


def test_midaz_long_form_authenticates_with_oidc_client_credentials_via_discovery(stub_server):
    endpoint = stub_server.oauth_token_endpoint(client_id="midaz-client", client_secret="m-secret")
    issuer = stub_server.oidc_discovery()
    path = f"/v1/organizations/{ORG}/ledgers/{LEDGER}/accounts/{ACCOUNT}"
    stub_server.on("GET", path, endpoint.protected(StubResponse(200, {"id": ACCOUNT})))
    config = {
        "onboarding_base_url": stub_server.url,
        "transaction_base_url": stub_server.url,
        "organization_id": ORG,
        "ledger_id": LEDGER,
        "auth": {"issuer_url": issuer, "client_id": "midaz-client", "client_secret": "m-secret"},
    }
    method, url = midaz_call("midaz.get-account", config, {"accountId": ACCOUNT}, {})
    connection = connection_for("midaz", config)

    response = send(connection.request(method, url=url), authenticator=connection.authenticator)

    assert response.body == {"id": ACCOUNT}
    [received] = stub_server.requests("GET", path)
    assert received.bearer_token == endpoint.issued[0]


def test_tracer_sends_its_api_key_as_x_api_key(stub_server):
    stub_server.on("POST", "/v1/validations", StubResponse(200, {"decision": "ALLOW"}))
    connection = connection_for("tracer", {"base_url": stub_server.url, "api_key": "tr-key"})

    response = send(
        connection.request("POST", "/v1/validations", body={"amount": "10.00"}),
        authenticator=connection.authenticator,
    )

    assert response.body == {"decision": "ALLOW"}
    [received] = stub_server.requests()
    assert received.header("X-API-Key") == "tr-key"
    assert received.header("Authorization") is None
