"""`POST /v1/provider-configurations/{id}/test` against a real provider stub: the three stages
with the configuration's stored credentials (OIDC included), the outbound policy refusal, and
the PROVIDER_CONFIG_TESTED audit of every test."""

import re
import socket
import uuid

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache

from flowker.audit.models import AuditEvent
from tests.factories import make_provider_config
from tests.support.stub_server import StubResponse, StubServer, closed_port

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def empty_cache():
    """A token cached by an earlier test must not answer for this one."""
    cache.clear()


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def cached_tokens():
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    return client.keys("*oauth-token:*")


def bearer_provider(stub, token="tok-live-9876"):
    return make_provider_config(
        "FraudShield",
        base_url=stub.url,
        authentication={"type": "bearer", "config": {"token": token}},
    )


def guide_oidc_provider(stub, client_secret="secret-value"):
    """The guide's OIDC client-credentials example, with the token endpoint on the stub."""
    return make_provider_config(
        "FraudShield OIDC",
        base_url=stub.url,
        authentication={
            "type": "oidc_client_credentials",
            "config": {
                "tokenURL": stub.url_for("/oauth/token"),
                "clientID": "flowker-integration",
                "clientSecret": client_secret,
                "scopes": ["transactions:read", "transactions:score"],
            },
        },
    )


def run_test(client, provider_config):
    response = client.post(f"/v1/provider-configurations/{provider_config.pk}/test")
    assert response.status_code == 200, response.content
    return response.json()


def stages(result):
    return {stage["name"]: stage for stage in result["stages"]}


def audit_of_the_test(provider_config):
    return AuditEvent.objects.get(
        event_type="PROVIDER_CONFIG_TESTED", resource_id=str(provider_config.pk)
    )


def test_healthy_provider_passes_all_three_stages_with_the_stored_credentials(client_api, stub):
    stub.on("GET", "/", StubResponse(200, {"status": "up"}))
    provider = bearer_provider(stub)

    result = run_test(client_api, provider)

    assert result["providerConfigId"] == str(provider.pk)
    assert result["providerId"] == "http"
    assert result["overallStatus"] == "passed"
    assert result["summary"] == "All tests passed - provider configuration connectivity verified"
    assert [(s["name"], s["status"]) for s in result["stages"]] == [
        ("connectivity", "passed"),
        ("authentication", "passed"),
        ("end_to_end", "passed"),
    ]
    assert stages(result)["authentication"]["details"]["authType"] == "bearer"
    assert TIMESTAMP.match(result["startedAt"]) and TIMESTAMP.match(result["completedAt"])
    assert isinstance(result["durationMs"], int)
    plain, authenticated, end_to_end = stub.requests("GET", "/")
    assert plain.header("Authorization") is None
    assert authenticated.bearer_token == "tok-live-9876"
    assert end_to_end.bearer_token == "tok-live-9876"
    event = audit_of_the_test(provider)
    assert (event.action, event.result) == ("TEST", "SUCCESS")
    assert (event.resource_type, event.actor_type, event.actor_id) == (
        "provider_config",
        "api_key",
        "test-client",
    )


def test_rejected_credentials_fail_authentication_and_skip_end_to_end(client_api, stub):
    def anonymous_only(request):
        if request.header("Authorization"):
            return StubResponse(401, {"error": "invalid token"})
        return StubResponse(200, {})

    stub.on("GET", "/", anonymous_only)
    provider = bearer_provider(stub, token="tok-revoked-0000")

    result = run_test(client_api, provider)

    by_name = stages(result)
    assert by_name["connectivity"]["status"] == "passed"
    assert by_name["authentication"]["status"] == "failed"
    assert by_name["authentication"]["error"] == "authentication rejected: status 401"
    assert by_name["end_to_end"]["status"] == "skipped"
    assert by_name["end_to_end"]["message"] == "Skipped due to authentication failure"
    assert result["overallStatus"] == "partial"
    assert [r.bearer_token for r in stub.requests("GET", "/")] == [None, "tok-revoked-0000"]
    event = audit_of_the_test(provider)
    assert (event.action, event.result) == ("TEST", "FAILED")


def test_server_error_fails_connectivity_and_skips_the_rest(client_api, stub):
    stub.on("GET", "/", StubResponse(500, {"error": "boom"}))
    provider = bearer_provider(stub)

    result = run_test(client_api, provider)

    by_name = stages(result)
    assert by_name["connectivity"]["status"] == "failed"
    assert by_name["connectivity"]["error"] == "unexpected status code: 500"
    assert by_name["connectivity"]["details"]["statusCode"] == 500
    assert by_name["authentication"]["status"] == "skipped"
    assert by_name["end_to_end"]["status"] == "skipped"
    assert result["overallStatus"] == "failed"
    assert result["summary"] == "All tests failed - provider configuration needs review"
    assert len(stub.requests()) == 1
    assert audit_of_the_test(provider).result == "FAILED"


def test_refused_connection_is_a_failed_stage_not_an_error(client_api):
    provider = make_provider_config("Nobody home", base_url=f"http://127.0.0.1:{closed_port()}")

    result = run_test(client_api, provider)

    assert stages(result)["connectivity"]["status"] == "failed"
    assert stages(result)["connectivity"]["error"].startswith("request failed")
    assert result["overallStatus"] == "failed"
    assert audit_of_the_test(provider).result == "FAILED"


def test_type_none_skips_authentication(client_api, stub):
    stub.on("GET", "/", StubResponse(200, {}))
    provider = make_provider_config(
        "Open service", base_url=stub.url, authentication={"type": "none"}
    )

    result = run_test(client_api, provider)

    by_name = stages(result)
    assert by_name["authentication"]["status"] == "skipped"
    assert by_name["authentication"]["message"] == "No authentication credentials configured"
    assert by_name["connectivity"]["status"] == "passed"
    assert by_name["end_to_end"]["status"] == "passed"
    assert result["overallStatus"] == "passed"
    assert all(r.header("Authorization") is None for r in stub.requests())
    assert audit_of_the_test(provider).result == "SUCCESS"


def test_oidc_client_credentials_authentication_obtains_a_token_and_uses_it(client_api, stub):
    endpoint = stub.oauth_token_endpoint(
        client_id="flowker-integration", client_secret="secret-value"
    )
    stub.on("GET", "/", endpoint.protected(StubResponse(200, {"status": "up"})))
    provider = guide_oidc_provider(stub)

    result = run_test(client_api, provider)

    assert result["overallStatus"] == "passed"
    by_name = stages(result)
    assert by_name["authentication"]["status"] == "passed"
    assert by_name["authentication"]["details"]["authType"] == "oidc_client_credentials"
    [token_request] = stub.requests("POST", "/oauth/token")
    assert token_request.body["grant_type"] == "client_credentials"
    assert token_request.body["scope"] == "transactions:read transactions:score"
    assert len(endpoint.issued) == 1
    assert [r.bearer_token for r in stub.requests("GET", "/")[1:]] == endpoint.issued * 2
    assert len(cached_tokens()) == 1
    assert audit_of_the_test(provider).result == "SUCCESS"


def test_oidc_token_endpoint_refusal_fails_authentication_and_caches_nothing(client_api, stub):
    endpoint = stub.oauth_token_endpoint(
        client_id="flowker-integration", client_secret="the-real-secret"
    )
    stub.on("GET", "/", endpoint.protected(StubResponse(200, {})))
    provider = guide_oidc_provider(stub, client_secret="a-stale-secret")

    result = run_test(client_api, provider)

    authentication = stages(result)["authentication"]
    assert authentication["status"] == "failed"
    assert authentication["details"]["statusCode"] == 401
    assert authentication["error"].startswith("token request failed")
    assert stages(result)["end_to_end"]["status"] == "skipped"
    assert len(stub.requests("POST", "/oauth/token")) == 1
    assert endpoint.issued == []
    assert len(stub.requests("GET", "/")) == 1  # only the unauthenticated reachability check
    assert cached_tokens() == []
    assert audit_of_the_test(provider).result == "FAILED"


def test_base_url_refused_by_the_outbound_policy_is_422_and_sends_nothing(
    client_api, stub, settings
):
    stub.on("GET", "/", StubResponse(200, {}))
    provider = bearer_provider(stub)
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False

    response = client_api.post(f"/v1/provider-configurations/{provider.pk}/test")

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "FLK-0341"
    assert stub.requests() == []
    event = audit_of_the_test(provider)
    assert (event.action, event.result) == ("TEST", "FAILED")
    assert event.metadata["error"].startswith("FLK-0341")


def test_token_endpoint_refused_by_the_outbound_policy_is_422_and_sends_nothing(
    client_api, stub, settings, monkeypatch
):
    real_getaddrinfo = socket.getaddrinfo

    def public_provider(host, *args, **kwargs):
        # The provider's name resolves to a public address without a DNS query.
        if host == "fraud.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", public_provider)
    provider = make_provider_config(
        "Public API, private token endpoint",
        base_url="https://fraud.example.com/api",
        authentication={
            "type": "oidc_client_credentials",
            "config": {
                "tokenURL": stub.url_for("/oauth/token"),
                "clientID": "flowker-integration",
                "clientSecret": "secret-value",
            },
        },
    )
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False

    response = client_api.post(f"/v1/provider-configurations/{provider.pk}/test")

    assert response.status_code == 422 and response.json()["code"] == "FLK-0341"
    assert "token endpoint" in response.json()["message"]
    assert stub.requests() == []
    assert audit_of_the_test(provider).result == "FAILED"


def test_a_disabled_configuration_can_still_be_tested(client_api, stub):
    stub.on("GET", "/", StubResponse(200, {}))
    provider = bearer_provider(stub)
    client_api.post(f"/v1/provider-configurations/{provider.pk}/disable")

    result = run_test(client_api, provider)

    assert result["overallStatus"] == "passed"
    assert len(stub.requests()) == 3


def test_testing_an_unknown_configuration_is_404(client_api):
    response = client_api.post(f"/v1/provider-configurations/{uuid.uuid4()}/test")

    assert response.status_code == 404 and response.json()["code"] == "FLK-0290"
    assert not AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_TESTED").exists()


def test_a_huge_body_fails_the_stage_inside_the_request_instead_of_being_read(
    client_api, stub, settings
):
    settings.FLOWKER_MAX_RESPONSE_BYTES = 1024
    stub.on("GET", "/", StubResponse(200, b"x" * 4096))
    provider = bearer_provider(stub)

    result = run_test(client_api, provider)

    connectivity = stages(result)["connectivity"]
    assert connectivity["status"] == "failed"
    assert connectivity["error"] == (
        "request failed: the provider's response is larger than 1024 bytes "
        "(FLOWKER_MAX_RESPONSE_BYTES)"
    )


def test_a_trickling_body_fails_the_stage_at_the_stage_timeout(client_api, stub, settings):
    settings.FLOWKER_CONNECTIVITY_TIMEOUT_SECONDS = 0.5
    body = b"y" * 60
    stub.on("GET", "/", StubResponse(200, body, trickle=0.1))
    provider = bearer_provider(stub)

    result = run_test(client_api, provider)

    connectivity = stages(result)["connectivity"]
    assert connectivity["status"] == "failed"
    assert connectivity["error"].endswith("within 0.5 s")
    delivered = stub.trickled("/")
    assert delivered is not None and delivered < len(body)


def test_a_header_secret_the_transport_refuses_is_not_quoted_in_the_stage_error(client_api, stub):
    from flowker.sealing import seal_document
    from providers.models import ProviderConfiguration

    provider = bearer_provider(stub)
    # Stored before save-time validation existed: the value reaches the transport as it is.
    ProviderConfiguration.objects.filter(pk=provider.pk).update(
        config=seal_document(
            {"base_url": stub.url, "headers": {"X-Api-Key": " stored-secret-4711"}},
            {"properties": {"headers": {"additionalProperties": {"writeOnly": True}}}},
        )
    )

    response = client_api.post(f"/v1/provider-configurations/{provider.pk}/test")

    assert response.status_code == 200
    assert "stored-secret-4711" not in response.content.decode()
    assert stages(response.json())["end_to_end"]["error"].endswith(
        "a request header has an invalid name or value"
    )
