"""The provider connectivity test: its three stages against the stub, with the configuration's
real credentials, and the FLK-0340/0341 refusals that send nothing."""

import re
import socket

import pytest

from executors.runtime.connectivity import connectivity_test
from flowker.api.errors import status_for
from flowker.errors import FlowkerError
from tests.support.stub_server import StubResponse, StubServer, closed_port

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def bearer_config(stub) -> dict:
    return {
        "base_url": stub.url,
        "authentication": {"type": "bearer", "config": {"token": "tok-abc"}},
    }


def oidc_config(stub) -> dict:
    return {
        "base_url": stub.url,
        "authentication": {
            "type": "oidc_client_credentials",
            "config": {
                "tokenURL": stub.url_for("/oauth/token"),
                "clientID": "flowker-integration",
                "clientSecret": "secret-value",
                "scopes": ["transactions:read"],
            },
        },
    }


def stages(result: dict) -> dict[str, dict]:
    return {stage["name"]: stage for stage in result["stages"]}


def test_all_stages_pass_against_a_healthy_provider(stub_server):
    stub_server.on("GET", "/", StubResponse(200, {"status": "up"}))

    result = connectivity_test("http", bearer_config(stub_server))

    assert result["overallStatus"] == "passed"
    assert result["summary"] == "All tests passed - provider configuration connectivity verified"
    assert [s["name"] for s in result["stages"]] == ["connectivity", "authentication", "end_to_end"]
    by_name = stages(result)
    assert by_name["connectivity"]["message"] == "Provider is reachable"
    assert by_name["connectivity"]["details"]["statusCode"] == 200
    assert by_name["authentication"]["message"] == "Authentication successful"
    assert by_name["authentication"]["details"]["authType"] == "bearer"
    assert by_name["end_to_end"]["details"]["responseBodyLen"] == len(b'{"status": "up"}')
    assert by_name["end_to_end"]["details"]["contentType"] == "application/json"
    assert all("error" not in stage for stage in result["stages"])
    assert TIMESTAMP.match(result["startedAt"])
    assert TIMESTAMP.match(result["completedAt"])
    assert isinstance(result["durationMs"], int)
    plain, authenticated, end_to_end = stub_server.requests("GET", "/")
    assert plain.header("Authorization") is None
    assert authenticated.header("Authorization") == "Bearer tok-abc"
    assert end_to_end.header("Authorization") == "Bearer tok-abc"


def test_the_path_is_appended_to_the_base_url(stub_server):
    stub_server.on("GET", "/api/v1/validations", StubResponse(200, {}))
    config = {"base_url": stub_server.url + "/api/", "api_key": "tr-key"}

    result = connectivity_test("tracer", config, path="/v1/validations")

    assert result["overallStatus"] == "passed"
    assert stages(result)["connectivity"]["details"]["url"] == stub_server.url_for(
        "/api/v1/validations"
    )
    assert [r.header("X-API-Key") for r in stub_server.requests()] == [None, "tr-key", "tr-key"]


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_fail_the_authentication_stage(stub_server, status):
    stub_server.on("GET", "/", StubResponse(status, {"error": "denied"}))

    result = connectivity_test("http", bearer_config(stub_server))

    by_name = stages(result)
    assert by_name["connectivity"]["status"] == "passed"
    assert by_name["authentication"]["status"] == "failed"
    assert by_name["authentication"]["error"] == f"authentication rejected: status {status}"
    assert by_name["authentication"]["message"] == "Authentication failed"
    assert by_name["end_to_end"] == {
        "name": "end_to_end",
        "status": "skipped",
        "durationMs": 0,
        "message": "Skipped due to authentication failure",
    }
    assert result["overallStatus"] == "partial"
    assert result["summary"] == "Some tests failed - review failed stages before use"


def test_a_non_auth_client_error_counts_as_authentication_accepted(stub_server):
    stub_server.on("GET", "/", StubResponse(404, {"error": "no route"}))

    result = connectivity_test("http", bearer_config(stub_server))

    by_name = stages(result)
    assert by_name["authentication"]["status"] == "passed"
    assert by_name["authentication"]["message"] == (
        "Authentication accepted (endpoint returned non-auth error)"
    )
    assert by_name["end_to_end"]["error"] == "request returned status 404"
    assert result["overallStatus"] == "partial"


def test_server_error_fails_connectivity_and_skips_the_rest(stub_server):
    stub_server.on("GET", "/", StubResponse(503, {"error": "maintenance"}))

    result = connectivity_test("http", bearer_config(stub_server))

    by_name = stages(result)
    assert by_name["connectivity"]["error"] == "unexpected status code: 503"
    for name in ("authentication", "end_to_end"):
        assert by_name[name]["status"] == "skipped"
        assert by_name[name]["message"] == "Skipped due to connectivity failure"
    assert result["overallStatus"] == "failed"
    assert result["summary"] == "All tests failed - provider configuration needs review"
    assert len(stub_server.requests()) == 1


@pytest.mark.parametrize(
    "answers",
    [
        [StubResponse(503)],  # connectivity fails
        [StubResponse(200), StubResponse(401)],  # authentication fails
        [StubResponse(200), StubResponse(200), StubResponse(500)],  # end to end fails
    ],
    ids=["connectivity", "authentication", "end_to_end"],
)
def test_every_stage_of_a_failed_test_has_status_and_message_and_failed_ones_an_error(
    stub_server, answers
):
    stub_server.on("GET", "/", *answers)

    result = connectivity_test("http", bearer_config(stub_server))

    assert [stage["name"] for stage in result["stages"]] == [
        "connectivity",
        "authentication",
        "end_to_end",
    ]
    assert any(stage["status"] == "failed" for stage in result["stages"])
    for stage in result["stages"]:
        assert stage["status"] in ("passed", "failed", "skipped")
        assert isinstance(stage["message"], str) and stage["message"], stage
        assert ("error" in stage) == (stage["status"] == "failed"), stage


def test_server_error_on_the_authenticated_request_fails_authentication(stub_server):
    stub_server.on("GET", "/", StubResponse(200), StubResponse(500))

    result = connectivity_test("http", bearer_config(stub_server))

    assert stages(result)["authentication"]["error"] == (
        "server error during authentication: status 500"
    )


def test_authentication_is_skipped_without_credentials_and_end_to_end_still_runs(stub_server):
    stub_server.on("GET", "/", StubResponse(200, {}))
    config = {"base_url": stub_server.url, "authentication": {"type": "none"}}

    result = connectivity_test("http", config)

    by_name = stages(result)
    assert by_name["authentication"] == {
        "name": "authentication",
        "status": "skipped",
        "durationMs": 0,
        "message": "No authentication credentials configured",
    }
    assert by_name["end_to_end"]["status"] == "passed"
    assert result["overallStatus"] == "passed"


def test_oidc_authentication_obtains_a_token_and_calls_with_it(stub_server, raw_cache):
    endpoint = stub_server.oauth_token_endpoint(
        client_id="flowker-integration", client_secret="secret-value"
    )
    stub_server.on("GET", "/", endpoint.protected(StubResponse(200, {})))

    result = connectivity_test("http", oidc_config(stub_server))

    assert result["overallStatus"] == "passed"
    # Reachability is checked without credentials: a 401 there still proves the provider answers.
    assert stages(result)["connectivity"]["details"]["statusCode"] == 401
    assert stages(result)["authentication"]["status"] == "passed"
    assert [r.bearer_token for r in stub_server.requests("GET", "/")[1:]] == [
        endpoint.issued[0],
        endpoint.issued[0],
    ]
    assert len(raw_cache("oauth-token:")) == 1


def test_oidc_token_failure_fails_authentication_with_its_status_and_caches_nothing(
    stub_server, raw_cache
):
    endpoint = stub_server.oauth_token_endpoint(
        client_id="flowker-integration", client_secret="another-secret"
    )
    stub_server.on("GET", "/", endpoint.protected(StubResponse(200, {})))

    result = connectivity_test("http", oidc_config(stub_server))

    authentication = stages(result)["authentication"]
    assert authentication["status"] == "failed"
    assert authentication["details"]["statusCode"] == 401
    assert authentication["error"].startswith("token request failed: token endpoint returned 401")
    assert stages(result)["end_to_end"]["status"] == "skipped"
    assert raw_cache("oauth-token:") == {}
    assert len(stub_server.requests("GET", "/")) == 1


def test_midaz_short_form_is_tested_with_its_bearer_api_key(stub_server):
    stub_server.on("GET", "/api/v1", StubResponse(200, {}))

    result = connectivity_test(
        "midaz", {"base_url": stub_server.url + "/api/v1", "api_key": "sk-prod-xxx"}
    )

    assert result["overallStatus"] == "passed"
    assert [r.header("Authorization") for r in stub_server.requests()] == [
        None,
        "Bearer sk-prod-xxx",
        "Bearer sk-prod-xxx",
    ]


def test_refused_connection_fails_the_connectivity_stage_instead_of_raising():
    config = {"base_url": f"http://127.0.0.1:{closed_port()}"}

    result = connectivity_test("http", config)

    connectivity = stages(result)["connectivity"]
    assert connectivity["status"] == "failed"
    assert connectivity["error"].startswith("request failed: ")
    assert "connection refused" in connectivity["error"]
    assert result["overallStatus"] == "failed"


def test_timeout_fails_the_connectivity_stage_instead_of_raising(stub_server, settings):
    settings.FLOWKER_CONNECTIVITY_TIMEOUT_SECONDS = 0.3
    stub_server.on("GET", "/", StubResponse(200, {}, delay=1.0))

    result = connectivity_test("http", {"base_url": stub_server.url})

    assert stages(result)["connectivity"]["error"].startswith("request failed: no response")
    assert result["overallStatus"] == "failed"


@pytest.mark.parametrize(
    "config",
    [{}, {"base_url": ""}, {"base_url": "not a url"}, {"base_url": "http://"}],
)
def test_no_usable_base_url_is_flk_0340(stub_server, config):
    with pytest.raises(FlowkerError) as raised:
        connectivity_test("http", config)

    assert (raised.value.code, status_for(raised.value.code)) == ("FLK-0340", 422)


def test_midaz_without_any_base_url_is_flk_0340():
    with pytest.raises(FlowkerError) as raised:
        connectivity_test("midaz", {"organization_id": "o", "ledger_id": "l"})

    assert raised.value.code == "FLK-0340"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_policy_refusal_is_flk_0341_and_nothing_is_sent(stub_server, settings, host):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False
    stub_server.on("GET", "/", StubResponse(200, {}))

    with pytest.raises(FlowkerError) as raised:
        connectivity_test("http", {"base_url": f"http://{host}:{stub_server.port}"})

    assert (raised.value.code, status_for(raised.value.code)) == ("FLK-0341", 422)
    assert "FLOWKER_OUTBOUND_ALLOW_PRIVATE" in raised.value.message
    assert stub_server.requests() == []


def test_non_http_scheme_is_flk_0341(stub_server):
    with pytest.raises(FlowkerError) as raised:
        connectivity_test("http", {"base_url": f"ftp://127.0.0.1:{stub_server.port}/"})

    assert raised.value.code == "FLK-0341"
    assert stub_server.requests() == []


def test_unresolvable_name_is_flk_0341_and_nothing_is_sent(stub_server, monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # Stands in for a failing resolver, so the test never sends a DNS query.
    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)

    with pytest.raises(FlowkerError) as raised:
        connectivity_test("http", {"base_url": "https://fraud.example"})

    assert raised.value.code == "FLK-0341"
    assert "cannot resolve host fraud.example" in raised.value.message


def test_a_refused_token_endpoint_is_flk_0341_before_anything_is_sent(stub_server, settings):
    config = oidc_config(stub_server)
    config["authentication"]["config"]["tokenURL"] = f"http://localhost:{stub_server.port}/token"
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False

    with pytest.raises(FlowkerError) as raised:
        connectivity_test("http", config)

    assert raised.value.code == "FLK-0341"
    assert stub_server.requests() == []


def test_a_redirect_the_policy_refuses_is_flk_0341(stub_server, settings):
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = True
    with StubServer() as internal:
        internal.on("GET", "/admin", StubResponse(200, {}))
        location = f"http://localhost:{internal.port}/admin"

        def redirect_inwards(request):
            # Reachable provider, internal redirect target: as a public provider in production.
            settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False
            return StubResponse(302, headers={"Location": location})

        stub_server.on("GET", "/", redirect_inwards)

        with pytest.raises(FlowkerError) as raised:
            connectivity_test("http", {"base_url": stub_server.url})

        assert raised.value.code == "FLK-0341"
        assert internal.requests() == []


def test_unusable_authentication_config_is_flk_0293(stub_server):
    config = {"base_url": stub_server.url, "authentication": {"type": "bearer", "config": {}}}

    with pytest.raises(FlowkerError) as raised:
        connectivity_test("http", config)

    assert (raised.value.code, status_for(raised.value.code)) == ("FLK-0293", 422)
    assert stub_server.requests() == []
