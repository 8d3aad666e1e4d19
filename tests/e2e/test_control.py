"""Cancel, retry (both modes), joins, mappings and transforms, results and dashboards — each
through the API, run by the real worker against provider stubs."""

import threading
import time
from decimal import Decimal

import pytest

from executions.models import Execution
from flowker.audit.models import AuditEvent
from tests.e2e.helpers import activate, call_workflow, run_to_end, start, wait_terminal
from tests.factories import make_provider_config
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_cancel_stops_at_the_next_step_boundary(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(503))  # retried: the execution keeps waiting
    workflow_id = call_workflow(client_api, stub_server)
    execution_id = start(client_api, workflow_id).json()["executionId"]
    stub_server.wait_for(1, "POST", "/call")
    cancelled = client_api.post(f"/v1/executions/{execution_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    calls = len(stub_server.requests("POST", "/call"))
    import time

    time.sleep(2)  # scheduled retries are dropped
    assert len(stub_server.requests("POST", "/call")) <= calls + 1
    assert Execution.objects.get(pk=execution_id).status == "cancelled"
    again = client_api.post(f"/v1/executions/{execution_id}/cancel")
    assert again.status_code == 422 and again.json()["code"] == "FLK-0511"
    assert AuditEvent.objects.filter(
        event_type="EXECUTION_CANCELLED", resource_id=execution_id
    ).exists()


def _two_calls(provider_id):
    return {
        "name": "two-calls",
        "nodes": [
            {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {}},
            {
                "id": "first",
                "type": "executor",
                "position": {"x": 1, "y": 0},
                "data": {"providerConfigId": str(provider_id), "path": "/first"},
            },
            {
                "id": "second",
                "type": "executor",
                "position": {"x": 2, "y": 0},
                "data": {"providerConfigId": str(provider_id), "path": "/second"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "first"},
            {"id": "e2", "source": "first", "target": "second"},
        ],
    }


def _settled_steps(execution_id, timeout=15):
    """The execution's steps once none is running any more (the worker finished its call)."""
    from executions.models import ExecutionStep

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = list(ExecutionStep.objects.filter(execution_id=execution_id))
        if steps and all(step.status != "running" for step in steps):
            return steps
        time.sleep(0.05)
    raise AssertionError(f"steps still running: {steps}")


def test_cancel_records_the_call_in_flight_and_retry_reuses_it(worker, stub_server, client_api):
    release = threading.Event()

    def slow_first(request):
        release.wait(30)
        return StubResponse(200, {"n": 1})

    stub_server.on("POST", "/first", slow_first)
    stub_server.on("POST", "/second", StubResponse(200, {"n": 2}))
    provider = make_provider_config(base_url=stub_server.url)
    workflow_id = activate(client_api, _two_calls(provider.pk))
    execution_id = start(client_api, workflow_id).json()["executionId"]
    try:
        stub_server.wait_for(1, "POST", "/first")
        cancelled = client_api.post(f"/v1/executions/{execution_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    finally:
        release.set()

    [first] = _settled_steps(execution_id)
    assert (first.node_id, first.status) == ("first", "completed")
    assert first.output["n"] == 1
    assert [(a["attempt"], a["outcome"], a["statusCode"]) for a in first.attempts] == [
        (1, "completed", 200)
    ]
    results = client_api.get(f"/v1/executions/{execution_id}/results").json()
    assert results["status"] == "cancelled"
    assert [(s["nodeId"], s["status"]) for s in results["stepResults"]] == [("first", "completed")]
    assert not stub_server.requests("POST", "/second")  # no further node ran

    retried = client_api.post(
        f"/v1/executions/{execution_id}/retry", {"from": "failed_step"}, format="json"
    )
    assert retried.status_code == 201, retried.content
    done = wait_terminal(client_api, retried.json()["executionId"])
    assert done["status"] == "completed"
    assert len(stub_server.requests("POST", "/first")) == 1  # the recorded call was reused
    assert len(stub_server.requests("POST", "/second")) == 1
    assert done["finalOutput"]["first"]["n"] == 1 and done["finalOutput"]["second"]["n"] == 2


def test_retry_from_start_and_from_failed_step(worker, stub_server, client_api):
    provider = make_provider_config(base_url=stub_server.url)
    body = {
        "name": "two-calls",
        "nodes": [
            {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {}},
            {
                "id": "first",
                "type": "executor",
                "position": {"x": 1, "y": 0},
                "data": {"providerConfigId": str(provider.pk), "path": "/first"},
            },
            {
                "id": "second",
                "type": "executor",
                "position": {"x": 2, "y": 0},
                "data": {"providerConfigId": str(provider.pk), "path": "/second"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "first"},
            {"id": "e2", "source": "first", "target": "second"},
        ],
    }
    stub_server.on("POST", "/first", StubResponse(200, {"n": 1}))
    stub_server.on(
        "POST", "/second", StubResponse(422, {"error": "nope"}), StubResponse(200, {"n": 2})
    )
    workflow_id = activate(client_api, body)
    failed = run_to_end(client_api, workflow_id)
    assert failed["status"] == "failed" and failed["error"]["nodeId"] == "second"

    retried = client_api.post(
        f"/v1/executions/{failed['executionId']}/retry", {"from": "failed_step"}, format="json"
    )
    assert retried.status_code == 201
    assert retried.json()["retryOf"] == failed["executionId"]
    results = wait_terminal(client_api, retried.json()["executionId"])
    assert results["status"] == "completed"
    assert len(stub_server.requests("POST", "/first")) == 1  # the completed step was reused
    assert [s["nodeId"] for s in results["stepResults"]] == ["first", "second"]
    assert results["finalOutput"]["first"]["n"] == 1 and results["finalOutput"]["second"]["n"] == 2

    from_start = client_api.post(
        f"/v1/executions/{failed['executionId']}/retry", {"from": "start"}, format="json"
    )
    assert wait_terminal(client_api, from_start.json()["executionId"])["status"] == "completed"
    assert len(stub_server.requests("POST", "/first")) == 2
    assert (
        AuditEvent.objects.filter(
            event_type="EXECUTION_RETRIED", resource_id=failed["executionId"]
        ).count()
        == 2
    )

    done = client_api.post(
        f"/v1/executions/{results['executionId']}/retry", {"from": "start"}, format="json"
    )
    assert done.status_code == 422 and done.json()["code"] == "FLK-0511"
    bad = client_api.post(
        f"/v1/executions/{failed['executionId']}/retry", {"from": "middle"}, format="json"
    )
    assert bad.status_code == 400


def test_fan_out_join_and_skipped_branch(worker, stub_server, client_api):
    provider = make_provider_config(base_url=stub_server.url)
    stub_server.on("POST", "/kyc", StubResponse(200, {"ok": True}))
    stub_server.on("POST", "/aml", StubResponse(200, {"risk": "low"}))
    body = {
        "name": "fan-out",
        "nodes": [
            {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {}},
            {
                "id": "kyc",
                "type": "executor",
                "position": {"x": 1, "y": 0},
                "data": {"providerConfigId": str(provider.pk), "path": "/kyc"},
            },
            {
                "id": "aml",
                "type": "executor",
                "position": {"x": 1, "y": 1},
                "data": {"providerConfigId": str(provider.pk), "path": "/aml"},
            },
            {
                "id": "both-ok",
                "type": "conditional",
                "position": {"x": 2, "y": 0},
                "data": {"condition": 'kyc.ok == true AND aml.risk == "low"'},
            },
            {
                "id": "approve",
                "type": "action",
                "position": {"x": 3, "y": 0},
                "data": {
                    "actionType": "set_output",
                    "output": {
                        "decision": "approved",
                        "risk": "{{ aml.risk }}",
                        "note": "risk={{ aml.risk }}",
                    },
                },
            },
            {
                "id": "deny",
                "type": "action",
                "position": {"x": 3, "y": 1},
                "data": {"action": "set_output", "output": {"decision": "denied"}},
            },
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "kyc"},
            {"id": "e2", "source": "t", "target": "aml"},
            {"id": "e3", "source": "kyc", "target": "both-ok"},
            {"id": "e4", "source": "aml", "target": "both-ok"},
            {"id": "e5", "source": "both-ok", "target": "approve", "sourceHandle": "true"},
            {"id": "e6", "source": "both-ok", "target": "deny", "sourceHandle": "false"},
        ],
    }
    results = run_to_end(client_api, activate(client_api, body))
    assert results["status"] == "completed"
    order = [(s["nodeId"], s["status"]) for s in results["stepResults"]]
    # The two branches run at the same time: steps are numbered as they start, either first.
    assert sorted(order[:2]) == [("aml", "completed"), ("kyc", "completed")]
    assert order[2:] == [("both-ok", "completed"), ("approve", "completed"), ("deny", "skipped")]
    assert results["finalOutput"] == {"decision": "approved", "risk": "low", "note": "risk=low"}


def test_mappings_transforms_and_get_queries_end_to_end(worker, stub_server, client_api):
    provider = make_provider_config(base_url=stub_server.url, headers={"X-Tenant": "acme"})
    stub_server.on("POST", "/kyc", StubResponse(200, {"result": {"riskScore": 25}, "ref": "k-1"}))
    stub_server.on("GET", "/accounts", StubResponse(200, {"balance": Decimal("1000.50")}))
    body = {
        "name": "mapped",
        "nodes": [
            {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {}},
            {
                "id": "kyc",
                "type": "executor",
                "position": {"x": 1, "y": 0},
                "data": {
                    "providerConfigId": str(provider.pk),
                    "path": "/kyc",
                    "inputMapping": [
                        {
                            "source": "workflow.customer.cpf",
                            "target": "executor.document",
                            "required": True,
                            "transformation": {
                                "type": "remove_characters",
                                "config": {"characters": ".-"},
                            },
                        },
                        {
                            "source": "workflow.customer.name",
                            "target": "name",
                            "transformation": {"type": "to_uppercase"},
                        },
                        {"source": "workflow.missing", "target": "optional"},
                    ],
                    "outputMapping": [
                        {"source": "executor.result.riskScore", "target": "riskScore"},
                        {"source": "executor.ref", "target": "workflow.kycRef"},
                    ],
                },
            },
            {
                "id": "shape",
                "type": "executor",
                "position": {"x": 2, "y": 0},
                "data": {
                    "executorId": "transform.json",
                    "inputMapping": [{"source": "workflow.kycRef", "target": "reference"}],
                    "transforms": [{"operation": "default", "spec": {"channel": "api"}}],
                },
            },
            {
                "id": "balance",
                "type": "executor",
                "position": {"x": 3, "y": 0},
                "data": {
                    "providerConfigId": str(provider.pk),
                    "path": "/accounts",
                    "method": "GET",
                    "inputMapping": [
                        {"source": "workflow.customer.id", "target": "accountId"},
                        {"source": "kyc.riskScore", "target": "query.score"},
                    ],
                },
            },
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "kyc"},
            {"id": "e2", "source": "kyc", "target": "shape"},
            {"id": "e3", "source": "shape", "target": "balance"},
        ],
    }
    workflow_id = activate(client_api, body)
    results = run_to_end(
        client_api,
        workflow_id,
        {"customer": {"cpf": "123.456.789-00", "name": "Ana", "id": "acc-9"}},
    )
    assert results["status"] == "completed", results
    [kyc] = stub_server.requests("POST", "/kyc")
    assert kyc.body == {"document": "12345678900", "name": "ANA", "optional": None}
    assert kyc.header("X-Tenant") == "acme"
    [balance] = stub_server.requests("GET", "/accounts")
    assert balance.raw_body == b""
    assert balance.query == {"accountId": ["acc-9"], "score": ["25"]}
    outputs = {s["nodeId"]: s["output"] for s in results["stepResults"]}
    assert outputs["kyc"]["riskScore"] == 25 and outputs["kyc"]["_response"]["status"] == 200
    assert "kycRef" not in outputs["kyc"]
    assert outputs["shape"] == {"reference": "k-1", "channel": "api"}
    assert outputs["balance"]["balance"] == Decimal("1000.50")
    step = results["stepResults"][0]
    assert step["callDetails"]["method"] == "POST" and step["callDetails"]["statusCode"] == 200
    assert step["input"]["body"]["document"] == "12345678900"


def test_missing_condition_path_fails_closed(worker, stub_server, client_api):
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"nothing": "here"}))
    from tests.factories import guide_workflow

    provider = make_provider_config(base_url=stub_server.url)
    results = run_to_end(client_api, activate(client_api, guide_workflow(provider.pk)))
    assert results["status"] == "failed"
    assert results["error"]["code"] == "FLK-0504" and results["error"]["nodeId"] == "evaluate-score"


def test_results_and_dashboards_count_what_happened(worker, stub_server, client_api):
    stub_server.on(
        "POST",
        "/call",
        StubResponse(200, {"value": 1}),
        StubResponse(200, {"value": 1}),
        StubResponse(400),
    )
    workflow_id = call_workflow(client_api, stub_server)
    outcomes = [run_to_end(client_api, workflow_id)["status"] for _ in range(3)]
    assert outcomes == ["completed", "completed", "failed"]
    running = start(client_api, workflow_id).json()["executionId"]
    wait_terminal(client_api, running)

    counts = client_api.get("/v1/dashboards/executions").json()
    assert counts == {
        "total": 4,
        "completed": 2,
        "failed": 2,
        "pending": 0,
        "running": 0,
        "cancelled": 0,
    }
    only_failed = client_api.get("/v1/dashboards/executions?status=failed").json()
    assert only_failed["total"] == 2
    assert client_api.get("/v1/dashboards/executions?status=lost").json()["code"] == "FLK-0302"
    series = client_api.get(
        "/v1/dashboards/executions/timeseries?interval=minute&startTime=2000-01-01T00:00:00Z"
    )
    assert series.status_code == 400 and series.json()["code"] == "FLK-0302"
    hourly = client_api.get("/v1/dashboards/executions/timeseries").json()
    assert hourly["interval"] == "hour" and len(hourly["items"]) in (24, 25)
    assert sum(item["total"] for item in hourly["items"]) == 4
    assert sum(item["failed"] for item in hourly["items"]) == 2
    [performance] = client_api.get("/v1/dashboards/workflows/performance").json()["items"]
    assert performance["workflowId"] == workflow_id
    assert (performance["total"], performance["completed"], performance["failed"]) == (4, 2, 2)
    assert performance["successRate"] == 0.5
    assert performance["p50DurationMs"] <= performance["p95DurationMs"]
    summary = client_api.get("/v1/dashboards/workflows/summary").json()
    assert summary == {"total": 1, "active": 1, "byStatus": [{"status": "active", "count": 1}]}
    listed = client_api.get(f"/v1/executions?workflowId={workflow_id}&status=failed").json()
    assert len(listed["items"]) == 2
    assert client_api.get(f"/v1/executions/{running}/results").status_code == 200
