"""Parallel branches on a real worker: two provider calls after a fork run at the same time,
and a worker killed during both resumes both, each re-sent once with the attempt recorded."""

import pytest

from executions.models import Execution, ExecutionStep
from tests.e2e.helpers import activate, start, wait_terminal
from tests.factories import make_provider_config
from tests.guide import parallel_workflow
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_two_calls_after_a_fork_overlap_and_the_join_waits_for_both(
    worker, stub_server, client_api
):
    """Each stub answer takes 300 ms: run one after the other they would take 600+ ms; their
    recorded [started, completed] intervals overlap instead."""
    stub_server.on("POST", "/fraud", StubResponse(200, {"score": 12}, delay=0.3))
    stub_server.on("POST", "/kyc", StubResponse(200, {"level": 3}, delay=0.3))
    provider = make_provider_config(base_url=stub_server.url)
    workflow_id = activate(client_api, parallel_workflow(provider.pk))

    started = start(client_api, workflow_id)
    results = wait_terminal(client_api, started.json()["executionId"])

    assert results["status"] == "completed", results
    assert results["finalOutput"] == {"score": 12, "level": 3}
    assert [step["nodeId"] for step in results["stepResults"]][-3:] == [
        "decide",
        "approve",
        "reject",
    ]
    steps = ExecutionStep.objects.filter(execution_id=results["executionId"]).order_by(
        "step_number"
    )
    by_node = {step.node_id: step for step in steps}
    fraud, kyc = by_node["fraud"], by_node["kyc"]
    assert fraud.started_at < kyc.completed_at and kyc.started_at < fraud.completed_at
    assert by_node["decide"].started_at >= max(fraud.completed_at, kyc.completed_at)
    assert [step.step_number for step in steps] == [1, 2, 3, 4, 5]
    starts = [step.started_at for step in steps]
    assert starts == sorted(starts)
    assert [s["stepNumber"] for s in results["stepResults"]] == [1, 2, 3, 4, 5]


def _started_on_the_victim(client_api, workflow_id, stub_server) -> str:
    """An execution whose two calls the victim worker has sent. On a loaded machine the
    victim may be slow to take it and the reaper re-dispatch it to the suite's worker
    (dispatch_count 2): then it is left to finish and another is started."""
    for _ in range(3):
        for path, body in (("/fraud", {"score": 12}), ("/kyc", {"level": 3})):
            stub_server.on("POST", path, StubResponse(200, body, delay=6), StubResponse(200, body))
        stub_server.clear()
        execution_id = start(client_api, workflow_id).json()["executionId"]
        assert len(stub_server.wait_for(2, "POST", timeout=20)) == 2
        if Execution.objects.get(pk=execution_id).dispatch_count == 1:
            return execution_id
        wait_terminal(client_api, execution_id, timeout=60)
    pytest.fail("the victim worker never took the execution first")


def test_a_worker_killed_during_both_calls_resumes_both_once(
    victim_worker, stub_server, client_api
):
    """The victim worker is SIGKILLed while both calls are in flight; the reaper resumes the
    execution on the suite's worker once the lease expires (the 8 s timeout plus 10 s), which
    re-sends each call once."""
    provider = make_provider_config(base_url=stub_server.url)
    workflow_id = activate(client_api, parallel_workflow(provider.pk, timeout=8))
    execution_id = _started_on_the_victim(client_api, workflow_id, stub_server)
    victim_worker.kill()
    in_flight = ExecutionStep.objects.filter(execution_id=execution_id, status="running")
    assert in_flight.count() == 2  # both calls were interrupted (each answers after 6 s)
    results = wait_terminal(client_api, execution_id, timeout=60)

    assert results["status"] == "completed", results
    for node_id in ("fraud", "kyc"):
        calls = stub_server.requests("POST", f"/{node_id}")
        assert len(calls) == 2  # the interrupted attempt, then one re-sent
        assert {c.header("Idempotency-Key") for c in calls} == {f"{execution_id}:{node_id}"}
        step = ExecutionStep.objects.get(execution_id=execution_id, node_id=node_id)
        assert [a["attempt"] for a in step.attempts] == [1, 2]
    assert ExecutionStep.objects.filter(execution_id=execution_id).count() == 5
    assert results["finalOutput"] == {"score": 12, "level": 3}
