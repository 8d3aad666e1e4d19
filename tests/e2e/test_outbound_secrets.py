"""Provider credentials never land in what an execution records, and provider responses are read
within bounds — through the API, a real worker and a real provider stub."""

import gzip

import pytest
from django.core import serializers

from executions.models import Execution, ExecutionStep
from tests.e2e.helpers import activate, run_to_end
from tests.factories import make_provider_config
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

API_KEY = "qk-live-3c9d1e7f5a"


def call_only_workflow(provider_id) -> dict:
    """trigger → call, no set_output: the final output is the call's whole node output."""
    return {
        "name": "query-key-call",
        "nodes": [
            {
                "id": "start",
                "type": "trigger",
                "position": {"x": 0, "y": 0},
                "data": {"triggerType": "manual"},
            },
            {
                "id": "call",
                "type": "executor",
                "position": {"x": 200, "y": 0},
                "data": {"providerConfigId": str(provider_id), "path": "/score", "method": "GET"},
            },
        ],
        "edges": [{"id": "e1", "source": "start", "target": "call"}],
    }


def stored_rows(execution_id: str) -> str:
    """Every column of the execution and its steps, as stored."""
    execution = Execution.objects.filter(pk=execution_id)
    steps = ExecutionStep.objects.filter(execution_id=execution_id)
    return serializers.serialize("json", [*execution, *steps])


def test_a_query_api_key_appears_nowhere_in_what_the_execution_records(
    worker, stub_server, client_api
):
    stub_server.on(
        "GET",
        "/score",
        StubResponse(200, {"score": 12}, headers={"Set-Cookie": "sid=abc123; HttpOnly"}),
    )
    provider = make_provider_config(
        "Query key provider",
        base_url=stub_server.url,
        authentication={
            "type": "api_key",
            "config": {"key": "api_key", "value": API_KEY, "location": "query"},
        },
    )
    workflow_id = activate(client_api, call_only_workflow(provider.pk))

    results = run_to_end(client_api, workflow_id)

    assert results["status"] == "completed", results
    [received] = stub_server.requests("GET", "/score")
    assert received.query["api_key"] == [API_KEY]  # the provider did get it
    [step] = results["stepResults"]
    assert step["callDetails"]["url"] == stub_server.url + "/score?api_key=********"
    response = results["finalOutput"]["call"]["_response"]
    assert response["url"] == stub_server.url + "/score?api_key=********"
    assert response["headers"]["Set-Cookie"] == "********"
    execution = client_api.get(f"/v1/executions/{results['executionId']}")
    for text in (str(results), execution.content.decode(), stored_rows(results["executionId"])):
        assert API_KEY not in text
        assert "abc123" not in text


def test_a_response_past_the_size_limit_fails_the_step_without_retrying(
    worker, stub_server, client_api
):
    bomb = gzip.compress(b"\0" * (11 * 1024 * 1024))  # 10 MiB is the worker's limit
    stub_server.on("GET", "/score", StubResponse(200, bomb, headers={"Content-Encoding": "gzip"}))
    provider = make_provider_config("Bomb provider", base_url=stub_server.url)
    workflow_id = activate(client_api, call_only_workflow(provider.pk))

    results = run_to_end(client_api, workflow_id)

    assert results["status"] == "failed"
    assert results["error"]["code"] == "FLK-0504"
    assert results["error"]["message"] == (
        "node 'call': the provider's response is larger than 10485760 bytes "
        "(FLOWKER_MAX_RESPONSE_BYTES)"
    )
    assert len(stub_server.requests("GET", "/score")) == 1
