"""Retries with backoff, the shared circuit breaker, the deadline, and a worker killed
mid-execution. The worker runs with a 0.25 s backoff base and a 2 s breaker reset."""

import itertools
import time

import pytest

from executions.models import Execution, ExecutionStep
from tests.e2e.helpers import call_workflow, run_to_end, start, wait_terminal
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _gaps(requests):
    return [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]


def test_transient_failures_are_retried_with_backoff(worker, stub_server, client_api):
    stub_server.on(
        "POST", "/call", StubResponse(503), StubResponse(502), StubResponse(200, {"value": "third"})
    )
    workflow_id = call_workflow(client_api, stub_server)
    results = run_to_end(client_api, workflow_id)
    assert results["status"] == "completed"
    step = results["stepResults"][0]
    assert [a["attempt"] for a in step["attempts"]] == [1, 2, 3]
    assert [a.get("statusCode") for a in step["attempts"]] == [503, 502, 200]
    calls = stub_server.requests("POST", "/call")
    assert len(calls) == 3
    first_gap, second_gap = _gaps(calls)
    assert first_gap >= 0.25 and second_gap >= 0.5  # 0.25 s × 2^(k−1)
    assert {call.header("Idempotency-Key") for call in calls} == {f"{results['executionId']}:call"}
    assert results["finalOutput"] == {"answer": "third"}


def test_client_errors_are_not_retried(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(400, {"error": "bad amount"}))
    workflow_id = call_workflow(client_api, stub_server)
    results = run_to_end(client_api, workflow_id)
    assert results["status"] == "failed"
    assert len(stub_server.requests("POST", "/call")) == 1
    error = results["error"]
    assert error["code"] == "FLK-0504" and error["nodeId"] == "call" and error["stepNumber"] == 1
    assert error["output"] == {"status": 400, "body": {"error": "bad amount"}}
    assert results["errorMessage"].startswith("FLK-0504")
    assert [s["nodeId"] for s in results["stepResults"]] == ["call"]  # nothing after the failure


def test_429_waits_for_retry_after(worker, stub_server, client_api):
    stub_server.on(
        "POST", "/call",
        StubResponse(429, headers={"Retry-After": "1"}),
        StubResponse(200, {"value": 1}),
    )  # fmt: skip
    workflow_id = call_workflow(client_api, stub_server)
    results = run_to_end(client_api, workflow_id)
    assert results["status"] == "completed"
    [gap] = _gaps(stub_server.requests("POST", "/call"))
    assert gap >= 1.0


def test_attempts_run_out_after_five(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(500))
    workflow_id = call_workflow(client_api, stub_server)
    results = run_to_end(client_api, workflow_id)
    assert results["status"] == "failed"
    assert results["error"]["code"] == "FLK-0504"
    assert len(results["stepResults"][0]["attempts"]) == 5
    assert len(stub_server.requests("POST", "/call")) == 5


def test_breaker_opens_for_every_worker_and_recovers(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(500))
    workflow_id = call_workflow(client_api, stub_server)
    first = run_to_end(client_api, workflow_id)  # five failed attempts open the breaker
    assert first["error"]["code"] == "FLK-0504"
    assert len(stub_server.requests("POST", "/call")) == 5

    refused = run_to_end(client_api, workflow_id)
    assert refused["error"]["code"] == "FLK-0507"
    assert len(refused["stepResults"][0]["attempts"]) == 1
    assert len(stub_server.requests("POST", "/call")) == 5  # the provider was not called

    stub_server.on("POST", "/call", StubResponse(200, {"value": "back"}))
    time.sleep(2.2)  # the worker's reset timeout: the next call is the half-open trial
    recovered = run_to_end(client_api, workflow_id)
    assert recovered["status"] == "completed"
    assert run_to_end(client_api, workflow_id)["status"] == "completed"  # closed again


def test_deadline_fails_the_execution_with_flk_0503(worker, stub_server, client_api, settings):
    settings.FLOWKER_EXECUTION_DEADLINE_SECONDS = 1
    stub_server.on("POST", "/call", StubResponse(200, {"value": 1}, delay=2))
    workflow_id = call_workflow(client_api, stub_server)
    results = run_to_end(client_api, workflow_id)
    assert results["status"] == "failed"
    assert results["error"]["code"] == "FLK-0503"


def test_retry_that_would_pass_the_deadline_fails_at_once(
    worker, stub_server, client_api, settings
):
    settings.FLOWKER_EXECUTION_DEADLINE_SECONDS = 2
    stub_server.on("POST", "/call", StubResponse(429, headers={"Retry-After": "3"}))
    workflow_id = call_workflow(client_api, stub_server)
    results = run_to_end(client_api, workflow_id)
    assert results["error"]["code"] == "FLK-0504"
    assert "deadline" in results["error"]["message"]
    assert len(stub_server.requests("POST", "/call")) == 1


def test_disabled_provider_configuration_fails_fast_with_flk_0512(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 1}))
    workflow_id = call_workflow(client_api, stub_server)
    from providers.models import ProviderConfiguration

    provider = ProviderConfiguration.objects.get()
    client_api.post(f"/v1/provider-configurations/{provider.pk}/disable")
    results = run_to_end(client_api, workflow_id)
    assert results["error"]["code"] == "FLK-0512"
    assert stub_server.requests("POST", "/call") == []


def test_killed_worker_loses_nothing_and_repeats_no_completed_step(
    victim_worker, stub_server, client_api
):
    """The victim worker takes the execution and is SIGKILLed during the provider call; the
    reaper resumes it on the suite's worker once the lease expires: one lease (3 s here) after
    the victim's last renewal, whatever the call's timeout, and long before the broker would
    give the victim's unacknowledged task out again (its visibility timeout)."""
    stub_server.on(
        "POST", "/call",
        StubResponse(200, {"value": "late"}, delay=3),
        StubResponse(200, {"value": "second"}),
    )  # fmt: skip
    workflow_id = call_workflow(client_api, stub_server, data={"timeout": 5})
    execution_id = start(client_api, workflow_id).json()["executionId"]
    assert stub_server.wait_for(1, "POST", "/call", timeout=20)
    victim_worker.kill()
    results = wait_terminal(client_api, execution_id, timeout=60)
    assert results["status"] == "completed", results
    calls = stub_server.requests("POST", "/call")
    assert len(calls) == 2  # the interrupted attempt, then one re-sent, recorded attempt
    assert {c.header("Idempotency-Key") for c in calls} == {f"{execution_id}:call"}
    step = ExecutionStep.objects.get(execution_id=execution_id, node_id="call")
    assert [a["attempt"] for a in step.attempts] == [1, 2]
    assert ExecutionStep.objects.filter(execution_id=execution_id).count() == 2
    assert Execution.objects.get(pk=execution_id).output_data == {"answer": "second"}


def test_a_call_longer_than_the_lease_is_made_once(worker, stub_server, client_api):
    """The worker's process keeps the lease while the call is in flight (executions.lease): the
    3 s lease of these tests does not lapse during a 7 s call, so the reaper does not hand the
    execution to another worker process meanwhile."""
    stub_server.on("POST", "/call", StubResponse(200, {"value": "slow"}, delay=7))
    workflow_id = call_workflow(client_api, stub_server, data={"timeout": 10})
    results = run_to_end(client_api, workflow_id)
    assert results["status"] == "completed", results
    assert len(stub_server.requests("POST", "/call")) == 1
    assert [a["attempt"] for a in results["stepResults"][0]["attempts"]] == [1]
    execution = Execution.objects.get(pk=results["executionId"])
    assert execution.dispatch_count == 1  # never re-sent


def test_configuration_disabled_while_a_retry_waits_fails_the_step_with_flk_0512(
    worker, stub_server, client_api
):
    stub_server.on("POST", "/call", StubResponse(503, headers={"Retry-After": "2"}))
    workflow_id = call_workflow(client_api, stub_server)
    execution_id = start(client_api, workflow_id).json()["executionId"]
    assert stub_server.wait_for(1, "POST", "/call")
    from providers.models import ProviderConfiguration

    provider = ProviderConfiguration.objects.get()
    client_api.post(f"/v1/provider-configurations/{provider.pk}/disable")
    results = wait_terminal(client_api, execution_id)
    assert results["status"] == "failed"
    assert results["error"]["code"] == "FLK-0512"
    assert [s["nodeId"] for s in results["stepResults"]] == ["call"]
    assert len(stub_server.requests("POST", "/call")) == 1
