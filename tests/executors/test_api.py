"""Executor configurations over HTTP: creation, field failures, PATCH and the lifecycle
(unconfigured → configured → tested → active ⇄ disabled), deletion, and the endpoint test
against a real provider stub."""

import re
import uuid

import pytest

from executors.models import ExecutorConfiguration
from flowker.audit.models import AuditEvent
from tests.factories import make_executor_config, make_provider_config
from tests.support.stub_server import StubResponse, StubServer
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENDPOINT = {"name": "score", "method": "POST", "path": "/v1/score", "timeoutSeconds": 30}
STATUSES = ["unconfigured", "configured", "tested", "active", "disabled"]


@pytest.fixture
def provider():
    return make_provider_config()


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


@pytest.fixture
def stub_provider(stub):
    """An `http` provider configuration whose base URL is the stub, with a bearer token."""
    return make_provider_config(
        "FraudShield stub",
        base_url=stub.url + "/api",
        authentication={"type": "bearer", "config": {"token": "tok-exec-1234"}},
    )


def complete_body(provider_config, **overrides):
    body = {
        "name": "fraud-score",
        "executorId": "http.request",
        "providerConfigId": str(provider_config.pk),
        "endpoints": [{"name": "score", "method": "post", "path": "/v1/score"}],
    }
    body.update(overrides)
    return body


def _create(client, body):
    response = client.post("/v1/executors", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    return body


def _events(config_id, after=0):
    return list(
        AuditEvent.objects.filter(resource_id=str(config_id), id__gt=after)
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def _last_event_id():
    last = AuditEvent.objects.order_by("-id").first()
    return last.id if last else 0


def _status(config_id):
    return ExecutorConfiguration.objects.get(pk=config_id).status


# --- create -------------------------------------------------------------------------------


def test_complete_configuration_is_created_unconfigured_with_the_contract_fields(
    client_api, provider
):
    created = _create(client_api, complete_body(provider))

    assert set(created) == {
        "id",
        "name",
        "executorId",
        "providerConfigId",
        "endpoints",
        "status",
        "createdAt",
        "updatedAt",
    }
    assert created["status"] == "unconfigured"
    assert created["executorId"] == "http.request"
    assert created["providerConfigId"] == str(provider.pk)
    assert created["endpoints"] == [ENDPOINT]
    assert uuid.UUID(created["id"]).version == 7
    assert TIMESTAMP.match(created["createdAt"]) and TIMESTAMP.match(created["updatedAt"])
    assert client_api.get(f"/v1/executors/{created['id']}").json() == created
    event = AuditEvent.objects.get(resource_id=created["id"])
    assert (event.event_type, event.action, event.result) == (
        "EXECUTOR_CONFIG_CREATED",
        "CREATE",
        "SUCCESS",
    )
    assert (event.resource_type, event.actor_type, event.actor_id) == (
        "executor_config",
        "api_key",
        "test-client",
    )


def test_optional_fields_are_returned_when_given(client_api, provider):
    mapping = [{"source": "workflow.amount", "target": "executor.amount"}]
    output = [{"source": "executor.score", "target": "workflow.score"}]
    created = _create(
        client_api,
        complete_body(
            provider,
            description="Scores card payments",
            inputMapping=mapping,
            outputMapping=output,
            metadata={"team": "risk"},
            endpoints=[
                {"name": "score", "method": "POST", "path": "/v1/score", "timeoutSeconds": 5}
            ],
        ),
    )

    assert created["description"] == "Scores card payments"
    assert created["inputMapping"] == mapping
    assert created["outputMapping"] == output
    assert created["metadata"] == {"team": "risk"}
    assert created["endpoints"][0]["timeoutSeconds"] == 5
    assert "lastTestedAt" not in created and "lastTestResult" not in created


def test_a_configuration_with_only_a_name_is_created_unconfigured(client_api):
    created = _create(client_api, {"name": "draft-config"})

    assert created["status"] == "unconfigured"
    assert created["executorId"] is None and created["providerConfigId"] is None
    assert created["endpoints"] == []


def _without(body, key):
    return {k: v for k, v in body.items() if k != key}


def _endpoint_without(key):
    return [{k: v for k, v in ENDPOINT.items() if k != key}]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda b: _without(b, "name"), "FLK-0260", "name"),
        (lambda b: {**b, "name": ""}, "FLK-0260", "name"),
        (lambda b: {**b, "name": "n" * 101}, "FLK-0261", "name"),
        (lambda b: {**b, "description": "d" * 501}, "FLK-0267", "description"),
        (lambda b: {**b, "endpoints": []}, "FLK-0265", "endpoints"),
        (lambda b: {**b, "endpoints": _endpoint_without("name")}, "FLK-0270", "endpoints[0].name"),
        (lambda b: {**b, "endpoints": _endpoint_without("path")}, "FLK-0271", "endpoints[0].path"),
        (
            lambda b: {**b, "endpoints": _endpoint_without("method")},
            "FLK-0272",
            "endpoints[0].method",
        ),
        (
            lambda b: {**b, "endpoints": [{**ENDPOINT, "method": "FETCH"}]},
            "FLK-0273",
            "endpoints[0].method",
        ),
        (lambda b: {**b, "baseUrl": "https://fraud.example.com"}, "FLK-0300", "baseUrl"),
        (lambda b: {**b, "status": "active"}, "FLK-0300", "status"),
        (
            lambda b: {**b, "inputMapping": [{"target": "executor.amount"}]},
            "FLK-0140",
            "inputMapping[0].source",
        ),
    ],
)
def test_field_failures_are_400_with_their_code_and_write_nothing(
    client_api, provider, change, code, field
):
    response = client_api.post("/v1/executors", change(complete_body(provider)), format="json")

    body = _error(response, 400, code)
    assert field in body["fields"], body
    assert not ExecutorConfiguration.objects.exists()
    assert not AuditEvent.objects.filter(resource_type="executor_config").exists()


def test_unknown_catalog_executor_is_404_flk_0200(client_api, provider):
    response = client_api.post(
        "/v1/executors", complete_body(provider, executorId="fraud.score"), format="json"
    )

    body = _error(response, 404, "FLK-0200")
    assert "executorId" in body["fields"]
    assert not ExecutorConfiguration.objects.exists()


def test_unknown_provider_configuration_is_404_flk_0290(client_api, provider):
    response = client_api.post(
        "/v1/executors", complete_body(provider, providerConfigId=str(uuid.uuid4())), format="json"
    )

    body = _error(response, 404, "FLK-0290")
    assert "providerConfigId" in body["fields"]
    assert not ExecutorConfiguration.objects.exists()


def test_provider_configuration_of_another_provider_is_400_flk_0151(client_api):
    midaz = make_provider_config("Midaz Production", "midaz")

    response = client_api.post("/v1/executors", complete_body(midaz), format="json")

    body = _error(response, 400, "FLK-0151")
    assert "providerConfigId" in body["fields"]
    assert not ExecutorConfiguration.objects.exists()


def test_duplicate_name_is_409_flk_0251(client_api, provider):
    _create(client_api, complete_body(provider))

    response = client_api.post("/v1/executors", complete_body(provider), format="json")

    _error(response, 409, "FLK-0251")
    assert ExecutorConfiguration.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="EXECUTOR_CONFIG_CREATED").count() == 1


# --- read ---------------------------------------------------------------------------------


def test_get_unknown_configuration_is_404_and_a_bad_id_is_400(client_api):
    _error(client_api.get(f"/v1/executors/{uuid.uuid4()}"), 404, "FLK-0250")
    _error(client_api.get("/v1/executors/not-a-uuid"), 400, "FLK-0002")


def _names(response):
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_list_filters_sorts_and_pages(client_api, provider):
    tracer = make_provider_config("Tracer", "tracer")
    alpha = make_executor_config(provider, "alpha", status="configured")
    make_executor_config(
        tracer,
        "beta",
        executor_id="tracer.validate-transaction",
        endpoints=[{"name": "validate", "method": "POST", "path": "/v1/validations"}],
    )
    make_executor_config(None, "gamma")

    assert _names(client_api.get("/v1/executors")) == ["gamma", "beta", "alpha"]
    assert _names(client_api.get("/v1/executors?sortBy=name&sortOrder=ASC")) == [
        "alpha",
        "beta",
        "gamma",
    ]
    assert _names(client_api.get("/v1/executors?status=configured")) == ["alpha"]
    assert _names(client_api.get("/v1/executors?status=unconfigured&sortBy=name")) == [
        "gamma",
        "beta",
    ]
    assert _names(client_api.get("/v1/executors?executorId=tracer.validate-transaction")) == [
        "beta"
    ]
    assert _names(client_api.get(f"/v1/executors?providerConfigId={provider.pk}")) == ["alpha"]
    items = client_api.get("/v1/executors?status=configured").json()["items"]
    assert items[0]["id"] == str(alpha.pk) and items[0]["providerConfigId"] == str(provider.pk)

    first = client_api.get("/v1/executors?limit=2&sortBy=name&sortOrder=ASC").json()
    assert [i["name"] for i in first["items"]] == ["alpha", "beta"] and first["hasMore"] is True
    rest = client_api.get(
        f"/v1/executors?limit=2&sortBy=name&sortOrder=ASC&cursor={first['nextCursor']}"
    ).json()
    assert [i["name"] for i in rest["items"]] == ["gamma"] and rest["hasMore"] is False


def test_list_refuses_an_unknown_status_and_a_bad_provider_id(client_api):
    body = _error(client_api.get("/v1/executors?status=paused"), 400, "FLK-0304")
    assert "unconfigured" in body["message"]
    _error(client_api.get("/v1/executors?providerConfigId=xyz"), 400, "FLK-0002")


# --- PATCH --------------------------------------------------------------------------------


def test_empty_patch_moves_a_complete_unconfigured_configuration_to_configured(
    client_api, provider
):
    created = _create(client_api, complete_body(provider))

    response = client_api.patch(f"/v1/executors/{created['id']}", {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "configured"
    assert _status(created["id"]) == "configured"
    assert "EXECUTOR_CONFIG_CONFIGURED" in _events(created["id"])


def test_patch_that_completes_a_configuration_moves_it_to_configured(client_api, provider):
    created = _create(client_api, {"name": "fraud-score", "executorId": "http.request"})
    url = f"/v1/executors/{created['id']}"

    half = client_api.patch(url, {"providerConfigId": str(provider.pk)}, format="json")
    assert half.json()["status"] == "unconfigured"
    done = client_api.patch(
        url,
        {"endpoints": [{"name": "score", "method": "POST", "path": "/v1/score"}]},
        format="json",
    )

    assert done.status_code == 200, done.content
    assert done.json()["status"] == "configured"
    assert done.json()["endpoints"] == [ENDPOINT]
    assert _events(created["id"]) == [
        "EXECUTOR_CONFIG_CREATED",
        "EXECUTOR_CONFIG_UPDATED",
        "EXECUTOR_CONFIG_UPDATED",
        "EXECUTOR_CONFIG_CONFIGURED",
    ]


def test_patch_of_an_incomplete_configuration_leaves_it_unconfigured(client_api, provider):
    created = _create(client_api, {"name": "fraud-score", "providerConfigId": str(provider.pk)})

    response = client_api.patch(
        f"/v1/executors/{created['id']}", {"description": "needs an executor"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "unconfigured"
    assert response.json()["description"] == "needs an executor"
    assert "EXECUTOR_CONFIG_CONFIGURED" not in _events(created["id"])


def test_patch_merges_metadata_key_by_key(client_api, provider):
    created = _create(client_api, complete_body(provider, metadata={"team": "risk", "tier": "1"}))

    response = client_api.patch(
        f"/v1/executors/{created['id']}",
        {"metadata": {"tier": "2", "region": "br"}},
        format="json",
    )

    assert response.json()["metadata"] == {"team": "risk", "tier": "2", "region": "br"}
    stored = ExecutorConfiguration.objects.get(pk=created["id"]).metadata
    assert stored == {"team": "risk", "tier": "2", "region": "br"}


def test_patch_validates_fields_and_references(client_api, provider):
    created = _create(client_api, complete_body(provider))
    url = f"/v1/executors/{created['id']}"
    midaz = make_provider_config("Midaz Production", "midaz")

    _error(
        client_api.patch(url, {"endpoints": _endpoint_without("path")}, format="json"),
        400,
        "FLK-0271",
    )
    _error(client_api.patch(url, {"name": ""}, format="json"), 400, "FLK-0260")
    _error(
        client_api.patch(url, {"providerConfigId": str(midaz.pk)}, format="json"), 400, "FLK-0151"
    )
    _error(client_api.patch(url, {"executorId": "nope"}, format="json"), 404, "FLK-0200")
    assert client_api.patch(url, {"status": "tested"}, format="json").status_code == 400
    assert client_api.get(url).json() == created


def test_patch_renaming_to_a_taken_name_is_409(client_api, provider):
    make_executor_config(provider, "taken")
    created = _create(client_api, complete_body(provider))

    response = client_api.patch(f"/v1/executors/{created['id']}", {"name": "taken"}, format="json")

    _error(response, 409, "FLK-0251")
    assert ExecutorConfiguration.objects.get(pk=created["id"]).name == "fraud-score"


def test_patch_of_an_unknown_configuration_is_404(client_api):
    response = client_api.patch(f"/v1/executors/{uuid.uuid4()}", {}, format="json")

    _error(response, 404, "FLK-0250")


@pytest.mark.parametrize("status", ["tested", "active"])
@pytest.mark.parametrize(
    "body",
    [
        {"description": "edited"},
        {"endpoints": [{"name": "score", "method": "PUT", "path": "/v2/score"}]},
        {"status": "disabled", "name": "renamed"},
    ],
)
def test_tested_or_active_configuration_accepts_only_a_status_patch(
    client_api, provider, status, body
):
    config = make_executor_config(provider, status=status)
    mark = _last_event_id()

    response = client_api.patch(f"/v1/executors/{config.pk}", body, format="json")

    _error(response, 422, "FLK-0252")
    config.refresh_from_db()
    assert config.status == status
    assert config.name == "fraud-score" and config.description == ""
    assert config.endpoints == [ENDPOINT]
    assert _events(config.pk, after=mark) == []


def test_patch_of_a_disabled_configuration_changing_endpoints_returns_it_to_configured(
    client_api, provider
):
    config = make_executor_config(provider, status="disabled")
    url = f"/v1/executors/{config.pk}"

    same = client_api.patch(url, {"endpoints": [ENDPOINT], "description": "x"}, format="json")
    assert same.status_code == 200 and same.json()["status"] == "disabled"
    changed = client_api.patch(
        url,
        {"endpoints": [{"name": "score", "method": "POST", "path": "/v2/score"}]},
        format="json",
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["status"] == "configured"
    assert changed.json()["endpoints"][0]["path"] == "/v2/score"
    assert _status(config.pk) == "configured"


def test_patch_of_a_disabled_configuration_changing_provider_returns_it_to_configured(
    client_api, provider
):
    other = make_provider_config("FraudShield DR", base_url="https://dr.fraud.example.com")
    config = make_executor_config(provider, status="disabled")

    response = client_api.patch(
        f"/v1/executors/{config.pk}", {"providerConfigId": str(other.pk)}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "configured"
    assert response.json()["providerConfigId"] == str(other.pk)


# --- lifecycle ----------------------------------------------------------------------------

# (source status, command) → (HTTP status, resulting status, audit event); 422 means FLK-0252
# and no change. A command is `POST /v1/executors/{id}/<name>` or a PATCH of `status`.
LIFECYCLE = [
    ("unconfigured", "test", 422, None, None),
    ("configured", "test", 200, "tested", "EXECUTOR_CONFIG_TESTED"),
    ("tested", "test", 200, "tested", "EXECUTOR_CONFIG_TESTED"),
    ("active", "test", 422, None, None),
    ("disabled", "test", 422, None, None),
    ("unconfigured", "activate", 422, None, None),
    ("configured", "activate", 422, None, None),
    ("tested", "activate", 200, "active", "EXECUTOR_CONFIG_ACTIVATED"),
    ("active", "activate", 422, None, None),
    ("disabled", "activate", 422, None, None),
    ("unconfigured", "disable", 422, None, None),
    ("configured", "disable", 422, None, None),
    ("tested", "disable", 200, "disabled", "EXECUTOR_CONFIG_DISABLED"),
    ("active", "disable", 200, "disabled", "EXECUTOR_CONFIG_DISABLED"),
    ("disabled", "disable", 422, None, None),
    ("unconfigured", "enable", 422, None, None),
    ("configured", "enable", 422, None, None),
    ("tested", "enable", 422, None, None),
    ("active", "enable", 422, None, None),
    ("disabled", "enable", 200, "active", "EXECUTOR_CONFIG_ENABLED"),
    ("unconfigured", "PATCH disabled", 422, None, None),
    ("configured", "PATCH disabled", 422, None, None),
    ("tested", "PATCH disabled", 200, "disabled", "EXECUTOR_CONFIG_DISABLED"),
    ("active", "PATCH disabled", 200, "disabled", "EXECUTOR_CONFIG_DISABLED"),
    ("disabled", "PATCH disabled", 200, "disabled", None),
    ("unconfigured", "PATCH active", 422, None, None),
    ("configured", "PATCH active", 422, None, None),
    ("tested", "PATCH active", 200, "active", "EXECUTOR_CONFIG_ACTIVATED"),
    ("active", "PATCH active", 200, "active", None),
    ("disabled", "PATCH active", 200, "active", "EXECUTOR_CONFIG_ENABLED"),
]


@pytest.mark.parametrize(("source", "command", "http_status", "target", "event"), LIFECYCLE)
def test_lifecycle_commands(
    client_api, stub, stub_provider, source, command, http_status, target, event
):
    stub.on("GET", "/api/v1/score", StubResponse(200, {"status": "up"}))
    config = make_executor_config(stub_provider, status=source)
    mark = _last_event_id()

    if command.startswith("PATCH "):
        response = client_api.patch(
            f"/v1/executors/{config.pk}", {"status": command.split()[1]}, format="json"
        )
    else:
        response = client_api.post(f"/v1/executors/{config.pk}/{command}")

    if http_status == 422:
        body = _error(response, 422, "FLK-0252")
        if not command.startswith("PATCH "):
            assert f"in status {source}" in body["message"]
        assert _status(config.pk) == source
        assert _events(config.pk, after=mark) == []
        assert stub.requests() == []
    else:
        assert response.status_code == 200, response.content
        assert response.json()["status"] == target
        assert _status(config.pk) == target
        assert _events(config.pk, after=mark) == ([event] if event else [])


def test_lifecycle_commands_on_an_unknown_configuration_are_404(client_api):
    for command in ("test", "activate", "disable", "enable"):
        _error(client_api.post(f"/v1/executors/{uuid.uuid4()}/{command}"), 404, "FLK-0250")


def test_transition_audit_records_the_api_key_and_the_new_status(client_api, provider):
    config = make_executor_config(provider, status="tested")

    client_api.post(f"/v1/executors/{config.pk}/activate")

    event = AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_ACTIVATED")
    assert (event.action, event.result, event.actor_id) == ("ACTIVATE", "SUCCESS", "test-client")
    assert event.metadata["status"] == "active"


# --- DELETE -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["unconfigured", "configured", "disabled"])
def test_delete_is_allowed_while_not_in_service(client_api, provider, status):
    config = make_executor_config(provider, status=status)

    response = client_api.delete(f"/v1/executors/{config.pk}")

    assert response.status_code == 204
    assert not ExecutorConfiguration.objects.exists()
    assert _events(config.pk)[-1] == "EXECUTOR_CONFIG_DELETED"
    _error(client_api.get(f"/v1/executors/{config.pk}"), 404, "FLK-0250")


@pytest.mark.parametrize("status", ["tested", "active"])
def test_delete_is_refused_while_tested_or_active(client_api, provider, status):
    config = make_executor_config(provider, status=status)

    _error(client_api.delete(f"/v1/executors/{config.pk}"), 422, "FLK-0252")

    assert ExecutorConfiguration.objects.filter(pk=config.pk, status=status).exists()
    assert "EXECUTOR_CONFIG_DELETED" not in _events(config.pk)


def _workflow_using(config, status):
    return Workflow.objects.create(
        name=f"{status}-workflow",
        status=status,
        nodes=[
            {
                "id": "check-fraud",
                "type": "executor",
                "data": {"executorConfigId": str(config.pk), "endpointName": "score"},
            }
        ],
        edges=[],
    )


def test_delete_is_refused_while_an_active_workflow_references_it(client_api, provider):
    config = make_executor_config(provider, status="configured")
    _workflow_using(config, "active")

    body = _error(client_api.delete(f"/v1/executors/{config.pk}"), 422, "FLK-0252")

    assert "active-workflow" in body["message"]
    assert ExecutorConfiguration.objects.filter(pk=config.pk).exists()


def test_a_draft_workflow_reference_does_not_block_delete(client_api, provider):
    config = make_executor_config(provider, status="configured")
    _workflow_using(config, "draft")

    assert client_api.delete(f"/v1/executors/{config.pk}").status_code == 204


def test_delete_of_an_unknown_configuration_is_404(client_api):
    _error(client_api.delete(f"/v1/executors/{uuid.uuid4()}"), 404, "FLK-0250")


# --- POST /v1/executors/{id}/test ---------------------------------------------------------


def test_test_without_input_runs_the_connectivity_stages_on_the_endpoint_path(
    client_api, stub, stub_provider
):
    stub.on("GET", "/api/v1/score", StubResponse(200, {"status": "up"}))
    config = make_executor_config(stub_provider, status="configured")

    response = client_api.post(f"/v1/executors/{config.pk}/test")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "tested"
    assert TIMESTAMP.match(body["lastTestedAt"])
    result = body["lastTestResult"]
    assert result["overallStatus"] == "passed"
    assert result["endpointName"] == "score"
    assert [(s["name"], s["status"]) for s in result["stages"]] == [
        ("connectivity", "passed"),
        ("authentication", "passed"),
        ("end_to_end", "passed"),
    ]
    plain, authenticated, end_to_end = stub.requests("GET", "/api/v1/score")
    assert plain.header("Authorization") is None
    assert authenticated.bearer_token == "tok-exec-1234"
    assert end_to_end.bearer_token == "tok-exec-1234"
    assert len(stub.requests()) == 3  # only GETs: no side effects on the provider
    stored = ExecutorConfiguration.objects.get(pk=config.pk)
    assert stored.status == "tested" and stored.last_tested_at is not None
    assert stored.last_test_result["overallStatus"] == "passed"
    event = AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED")
    assert (event.action, event.result, event.actor_id) == ("TEST", "SUCCESS", "test-client")
    assert event.resource_id == str(config.pk)


def test_test_of_a_named_endpoint_uses_that_endpoint_path(client_api, stub, stub_provider):
    stub.on("GET", "/api/v1/health", StubResponse(200, {"status": "up"}))
    config = make_executor_config(
        stub_provider,
        status="configured",
        endpoints=[ENDPOINT, {"name": "health", "method": "GET", "path": "/v1/health"}],
    )

    response = client_api.post(
        f"/v1/executors/{config.pk}/test", {"endpointName": "health"}, format="json"
    )

    assert response.json()["status"] == "tested"
    assert response.json()["lastTestResult"]["endpointName"] == "health"
    assert len(stub.requests("GET", "/api/v1/health")) == 3
    assert stub.requests("GET", "/api/v1/score") == []


def test_failed_connectivity_test_leaves_the_configuration_configured(
    client_api, stub, stub_provider
):
    stub.on("GET", "/api/v1/score", StubResponse(500, {"error": "down"}))
    config = make_executor_config(stub_provider, status="configured")

    response = client_api.post(f"/v1/executors/{config.pk}/test")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "configured"
    assert TIMESTAMP.match(body["lastTestedAt"])
    result = body["lastTestResult"]
    assert result["overallStatus"] == "failed"
    assert result["stages"][0]["status"] == "failed"
    assert result["stages"][0]["error"] == "unexpected status code: 500"
    assert _status(config.pk) == "configured"
    event = AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED")
    assert (event.action, event.result) == ("TEST", "FAILED")


def test_rejected_credentials_fail_the_test(client_api, stub, stub_provider):
    def only_anonymous(request):
        return StubResponse(403 if request.header("Authorization") else 200, {})

    stub.on("GET", "/api/v1/score", only_anonymous)
    config = make_executor_config(stub_provider, status="configured")

    body = client_api.post(f"/v1/executors/{config.pk}/test").json()

    assert body["status"] == "configured"
    stages = {s["name"]: s["status"] for s in body["lastTestResult"]["stages"]}
    assert stages == {"connectivity": "passed", "authentication": "failed", "end_to_end": "skipped"}
    assert AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED").result == "FAILED"


def test_test_with_input_makes_the_real_call_with_an_idempotency_key(
    client_api, stub, stub_provider
):
    stub.on("POST", "/api/v1/score", StubResponse(200, {"score": 12}))
    config = make_executor_config(stub_provider, status="configured")
    test_input = {"amount": 1500, "currency": "BRL", "card": {"last4": "4242"}}

    response = client_api.post(
        f"/v1/executors/{config.pk}/test",
        {"endpointName": "score", "input": test_input},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "tested"
    assert body["lastTestResult"]["overallStatus"] == "passed"
    assert body["lastTestResult"]["endpointName"] == "score"
    [call] = stub.requests()
    assert (call.method, call.path) == ("POST", "/api/v1/score")
    assert call.body == test_input
    assert call.bearer_token == "tok-exec-1234"
    key = call.header("Idempotency-Key")
    assert key.startswith(f"test:{config.pk}:")
    assert uuid.UUID(key.removeprefix(f"test:{config.pk}:"))
    assert AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED").result == "SUCCESS"


def test_a_query_api_key_is_not_recorded_in_the_last_test_result(client_api, stub):
    key = "query-key-5e6f7a8b"
    provider = make_provider_config(
        "Query key provider",
        base_url=stub.url + "/api",
        authentication={
            "type": "api_key",
            "config": {"key": "api_key", "value": key, "location": "query"},
        },
    )
    stub.on("POST", "/api/v1/score", StubResponse(200, {"score": 12}))
    config = make_executor_config(provider, status="configured")

    response = client_api.post(
        f"/v1/executors/{config.pk}/test",
        {"endpointName": "score", "input": {"amount": 1}},
        format="json",
    )

    assert response.status_code == 200, response.content
    [call] = stub.requests()
    assert call.query["api_key"] == [key]
    [stage] = response.json()["lastTestResult"]["stages"]
    assert stage["details"]["url"] == stub.url + "/api/v1/score?api_key=********"
    assert key not in response.content.decode()
    config.refresh_from_db()
    assert key not in str(config.last_test_result)


def test_each_real_test_call_carries_a_fresh_idempotency_key(client_api, stub, stub_provider):
    stub.on("POST", "/api/v1/score", StubResponse(200, {"score": 12}))
    config = make_executor_config(stub_provider, status="configured")
    url = f"/v1/executors/{config.pk}/test"

    client_api.post(url, {"input": {"amount": 1}}, format="json")
    client_api.post(url, {"input": {"amount": 1}}, format="json")

    first, second = (r.header("Idempotency-Key") for r in stub.requests("POST", "/api/v1/score"))
    assert first != second


def test_test_with_input_uses_the_endpoint_method(client_api, stub, stub_provider):
    stub.on("PUT", "/api/v1/limits", StubResponse(204))
    config = make_executor_config(
        stub_provider,
        status="configured",
        endpoints=[ENDPOINT, {"name": "limits", "method": "PUT", "path": "/v1/limits"}],
    )

    body = client_api.post(
        f"/v1/executors/{config.pk}/test",
        {"endpointName": "limits", "input": {"daily": 5000}},
        format="json",
    ).json()

    assert body["status"] == "tested"
    [call] = stub.requests()
    assert (call.method, call.path, call.body) == ("PUT", "/api/v1/limits", {"daily": 5000})


def test_real_call_answered_with_an_error_fails_the_test(client_api, stub, stub_provider):
    stub.on("POST", "/api/v1/score", StubResponse(422, {"error": "amount missing"}))
    config = make_executor_config(stub_provider, status="configured")

    body = client_api.post(
        f"/v1/executors/{config.pk}/test", {"input": {"currency": "BRL"}}, format="json"
    ).json()

    assert body["status"] == "configured"
    result = body["lastTestResult"]
    assert result["overallStatus"] == "failed"
    assert result["stages"][0]["details"]["statusCode"] == 422
    assert result["stages"][0]["error"] == "request returned status 422"
    assert result["stages"][0]["message"] == "Endpoint call failed"
    assert len(stub.requests("POST", "/api/v1/score")) == 1
    assert AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED").result == "FAILED"


@pytest.mark.parametrize("status", ["unconfigured", "active", "disabled"])
def test_test_from_a_wrong_status_is_422_and_sends_nothing(client_api, stub, stub_provider, status):
    stub.on("GET", "/api/v1/score", StubResponse(200, {}))
    config = make_executor_config(stub_provider, status=status)

    _error(client_api.post(f"/v1/executors/{config.pk}/test"), 422, "FLK-0252")

    assert stub.requests() == []
    stored = ExecutorConfiguration.objects.get(pk=config.pk)
    assert stored.status == status and stored.last_tested_at is None
    assert not AuditEvent.objects.filter(event_type="EXECUTOR_CONFIG_TESTED").exists()


def test_test_of_an_unknown_endpoint_is_400_and_sends_nothing(client_api, stub, stub_provider):
    config = make_executor_config(stub_provider, status="configured")

    response = client_api.post(
        f"/v1/executors/{config.pk}/test", {"endpointName": "refund"}, format="json"
    )

    body = _error(response, 400, "FLK-0302")
    assert "endpointName" in body["fields"]
    assert stub.requests() == []
    assert _status(config.pk) == "configured"
    assert not AuditEvent.objects.filter(event_type="EXECUTOR_CONFIG_TESTED").exists()


def test_test_body_with_an_unknown_field_is_400(client_api, stub, stub_provider):
    config = make_executor_config(stub_provider, status="configured")

    response = client_api.post(
        f"/v1/executors/{config.pk}/test", {"payload": {"amount": 1}}, format="json"
    )

    _error(response, 400, "FLK-0300")
    assert stub.requests() == []


def test_connectivity_test_refused_by_the_outbound_policy_is_422_and_sends_nothing(
    client_api, stub, stub_provider, settings
):
    stub.on("GET", "/api/v1/score", StubResponse(200, {}))
    config = make_executor_config(stub_provider, status="configured")
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False

    _error(client_api.post(f"/v1/executors/{config.pk}/test"), 422, "FLK-0341")

    assert stub.requests() == []
    stored = ExecutorConfiguration.objects.get(pk=config.pk)
    assert stored.status == "configured" and stored.last_tested_at is None
    assert AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED").result == "FAILED"


def test_real_call_refused_by_the_outbound_policy_is_422_and_sends_nothing(
    client_api, stub, stub_provider, settings
):
    stub.on("POST", "/api/v1/score", StubResponse(200, {}))
    config = make_executor_config(stub_provider, status="configured")
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False

    response = client_api.post(
        f"/v1/executors/{config.pk}/test", {"input": {"amount": 1}}, format="json"
    )

    _error(response, 422, "FLK-0341")
    assert stub.requests() == []
    assert ExecutorConfiguration.objects.get(pk=config.pk).status == "configured"
    assert AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED").result == "FAILED"
