"""Small helpers shared by the end-to-end tests."""

import time
from typing import Any

from tests.factories import make_provider_config


def activate(client: Any, body: dict[str, Any]) -> str:
    created = client.post("/v1/workflows", body, format="json")
    assert created.status_code == 201, created.content
    workflow_id = created.json()["workflowId"]
    activated = client.post(f"/v1/workflows/{workflow_id}/activate")
    assert activated.status_code == 200, activated.content
    return workflow_id


def single_call_workflow(
    provider_id: Any, *, name: str = "single-call", data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """trigger → call (executor) → done (set_output of the call's answer)."""
    return {
        "name": name,
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
                "data": {"providerConfigId": str(provider_id), "path": "/call", **(data or {})},
            },
            {
                "id": "done",
                "type": "action",
                "position": {"x": 400, "y": 0},
                "data": {"action": "set_output", "output": {"answer": "{{ call.value }}"}},
            },
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "call"},
            {"id": "e2", "source": "call", "target": "done"},
        ],
    }


def call_workflow(client: Any, stub: Any, **kwargs: Any) -> str:
    provider = make_provider_config(name=kwargs.pop("provider_name", "stub"), base_url=stub.url)
    return activate(client, single_call_workflow(provider.pk, **kwargs))


def start(client: Any, workflow_id: str, input_data: Any = None, **headers: str) -> Any:
    return client.post(
        f"/v1/workflows/{workflow_id}/executions",
        {"inputData": input_data or {}},
        format="json",
        **headers,
    )


def wait_terminal(client: Any, execution_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/executions/{execution_id}").json()
        if body["status"] in ("completed", "failed", "cancelled"):
            return client.get(f"/v1/executions/{execution_id}/results").json()
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not end: {body}")


def run_to_end(client: Any, workflow_id: str, input_data: Any = None) -> dict[str, Any]:
    started = start(client, workflow_id, input_data)
    assert started.status_code == 201, started.content
    return wait_terminal(client, started.json()["executionId"])


def wait_all_terminal(timeout: float = 30) -> None:
    """Wait until the worker has ended every execution, so a test's teardown (TRUNCATE) never
    races the worker still writing one of them."""
    from executions.choices import ACTIVE
    from executions.models import Execution

    deadline = time.monotonic() + timeout
    while Execution.objects.filter(status__in=ACTIVE).exists():
        if time.monotonic() > deadline:
            raise AssertionError("executions still running at teardown")
        time.sleep(0.05)
