"""The integration guide's payment-validation workflow as test data (pure, no database)."""

from typing import Any


def guide_workflow(provider_config_id: Any, **overrides: Any) -> dict[str, Any]:
    """The guide's payment-validation workflow, as written, with the given provider config."""
    body = {
        "name": "payment-validation",
        "description": "Validates a payment before processing.",
        "nodes": [
            {
                "id": "trigger-payment",
                "type": "trigger",
                "name": "Payment received",
                "position": {"x": 0, "y": 0},
                "data": {"triggerType": "webhook"},
            },
            {
                "id": "check-fraud",
                "type": "executor",
                "name": "Fraud check",
                "position": {"x": 200, "y": 0},
                "data": {
                    "providerConfigId": str(provider_config_id),
                    "endpointName": "score-transaction",
                },
            },
            {
                "id": "evaluate-score",
                "type": "conditional",
                "name": "Score evaluation",
                "position": {"x": 400, "y": 0},
                "data": {"condition": "check-fraud.score < 80"},
            },
            {
                "id": "approve",
                "type": "action",
                "name": "Approve payment",
                "position": {"x": 600, "y": -100},
                "data": {"action": "log"},
            },
            {
                "id": "reject",
                "type": "action",
                "name": "Reject payment",
                "position": {"x": 600, "y": 100},
                "data": {"action": "log"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "trigger-payment", "target": "check-fraud"},
            {"id": "e2", "source": "check-fraud", "target": "evaluate-score"},
            {"id": "e3", "source": "evaluate-score", "target": "approve", "condition": "true"},
            {"id": "e4", "source": "evaluate-score", "target": "reject", "condition": "false"},
        ],
    }
    body.update(overrides)
    return body


def with_webhook(body: dict[str, Any], path: str = "payments/received", **extra: Any) -> dict:
    """The guide's workflow with its trigger given a webhook path (as the guide's webhook
    section describes)."""
    import copy

    body = copy.deepcopy(body)
    body["nodes"][0]["data"].update({"path": path, "method": "POST", **extra})
    return body


def parallel_workflow(provider_config_id: Any, *, timeout: int | None = None) -> dict[str, Any]:
    """A fork into two provider calls (fraud score and KYC level) that run at the same time,
    joined before a condition: start → {fraud, kyc} → decide → approve | reject."""
    call = {"providerConfigId": str(provider_config_id)}
    if timeout is not None:
        call["timeout"] = timeout
    return {
        "name": "parallel-checks",
        "nodes": [
            {
                "id": "start",
                "type": "trigger",
                "position": {"x": 0, "y": 0},
                "data": {"triggerType": "manual"},
            },
            {
                "id": "fraud",
                "type": "executor",
                "position": {"x": 200, "y": -100},
                "data": {**call, "path": "/fraud"},
            },
            {
                "id": "kyc",
                "type": "executor",
                "position": {"x": 200, "y": 100},
                "data": {**call, "path": "/kyc"},
            },
            {
                "id": "decide",
                "type": "conditional",
                "position": {"x": 400, "y": 0},
                "data": {"condition": "fraud.score < 80 AND kyc.level >= 2"},
            },
            {
                "id": "approve",
                "type": "action",
                "position": {"x": 600, "y": -100},
                "data": {
                    "action": "set_output",
                    "output": {"score": "{{ fraud.score }}", "level": "{{ kyc.level }}"},
                },
            },
            {
                "id": "reject",
                "type": "action",
                "position": {"x": 600, "y": 100},
                "data": {"action": "log"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "fraud"},
            {"id": "e2", "source": "start", "target": "kyc"},
            {"id": "e3", "source": "fraud", "target": "decide"},
            {"id": "e4", "source": "kyc", "target": "decide"},
            {"id": "e5", "source": "decide", "target": "approve", "condition": "true"},
            {"id": "e6", "source": "decide", "target": "reject", "condition": "false"},
        ],
    }
