"""Execution endpoints' validation and reads (no worker: executions stay where the test puts
them)."""

import uuid

import pytest

from executions.models import Execution
from executions.services import execution_start
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow():
    provider = make_provider_config()
    created = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    return workflow_activate(workflow=created, actor=Actor.system())


def test_start_writes_a_pending_execution_with_its_snapshot_and_audit(client_api, workflow):
    response = client_api.post(
        f"/v1/workflows/{workflow.pk}/executions", {"inputData": {"amount": 10}}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"executionId", "workflowId", "status", "startedAt"}
    assert body["status"] == "pending" and body["workflowId"] == str(workflow.pk)
    execution = Execution.objects.get(pk=body["executionId"])
    assert execution.nodes == workflow.nodes and execution.total_steps == 4
    assert execution.dispatch_count == 1 and execution.dispatched_at is not None
    event = AuditEvent.objects.get(event_type="EXECUTION_STARTED")
    assert event.resource_id == body["executionId"] and event.actor_id == "test-client"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"inputData": "x"}, "FLK-0001"),
        ({"input": {}}, "FLK-0300"),
    ],
)
def test_start_rejects_bad_bodies(client_api, workflow, body, code):
    response = client_api.post(f"/v1/workflows/{workflow.pk}/executions", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == code


def test_start_of_unknown_or_bad_workflow_id(client_api):
    unknown = client_api.post(f"/v1/workflows/{uuid.uuid4()}/executions", {}, format="json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "FLK-0100"
    bad = client_api.post("/v1/workflows/xyz/executions", {}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "FLK-0002"


def test_results_of_an_execution_in_progress_are_422(client_api, workflow):
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    response = client_api.get(f"/v1/executions/{execution.pk}/results")
    assert response.status_code == 422 and response.json()["code"] == "FLK-0502"
    status = client_api.get(f"/v1/executions/{execution.pk}").json()
    assert status["status"] == "pending" and status["currentStepNumber"] == 0
    assert "completedAt" not in status


def test_unknown_execution_is_flk_0500(client_api):
    for path in ("", "/results"):
        response = client_api.get(f"/v1/executions/{uuid.uuid4()}{path}")
        assert response.status_code == 404 and response.json()["code"] == "FLK-0500"
    for command in ("cancel", "retry"):
        response = client_api.post(f"/v1/executions/{uuid.uuid4()}/{command}")
        assert response.json()["code"] == "FLK-0500"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("status=lost", "FLK-0304"),
        ("workflowId=abc", "FLK-0002"),
        ("sortBy=name", "FLK-0304"),
        ("sortOrder=up", "FLK-0310"),
        ("limit=0", "FLK-0309"),
        ("limit=x", "FLK-0304"),
    ],
)
def test_list_validation(client_api, query, code):
    response = client_api.get(f"/v1/executions?{query}")
    assert response.status_code == 400 and response.json()["code"] == code


def test_list_filters_sorts_and_pages(client_api, workflow):
    ids = [
        str(execution_start(workflow=workflow, input_data={"n": n}, actor=Actor.system())[0].pk)
        for n in range(3)
    ]
    Execution.objects.filter(pk=ids[0]).update(status="failed")
    page = client_api.get("/v1/executions?limit=2").json()
    rest = client_api.get(f"/v1/executions?limit=2&cursor={page['nextCursor']}").json()
    assert [e["executionId"] for e in page["items"] + rest["items"]] == ids[::-1]
    failed = client_api.get("/v1/executions?status=failed").json()["items"]
    assert [e["executionId"] for e in failed] == [ids[0]]
    by_completion = client_api.get("/v1/executions?sortBy=completedAt&sortOrder=ASC").json()
    assert len(by_completion["items"]) == 3


def test_cancel_of_a_pending_execution(client_api, workflow):
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    response = client_api.post(f"/v1/executions/{execution.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["completedAt"]


def test_retry_of_a_pending_execution_is_flk_0511(client_api, workflow):
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    response = client_api.post(
        f"/v1/executions/{execution.pk}/retry", {"from": "start"}, format="json"
    )
    assert response.status_code == 422 and response.json()["code"] == "FLK-0511"


def test_dashboard_time_validation(client_api):
    bad = client_api.get("/v1/dashboards/executions?startTime=yesterday")
    assert bad.status_code == 400 and bad.json()["code"] == "FLK-0302"
    reversed_window = client_api.get(
        "/v1/dashboards/executions?startTime=2026-05-02T00:00:00Z&endTime=2026-05-01T00:00:00Z"
    )
    assert reversed_window.json()["code"] == "FLK-0302"
    interval = client_api.get("/v1/dashboards/executions/timeseries?interval=week")
    assert interval.json()["code"] == "FLK-0302"


def test_one_lease_at_a_time(workflow):
    from executions.engine.runner import acquire

    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    first = acquire(execution.pk)
    assert first is not None
    assert acquire(execution.pk) is None  # a live lease keeps other workers away
    Execution.objects.filter(pk=execution.pk).update(status="completed")
    assert acquire(execution.pk) is None  # terminal executions are never taken
