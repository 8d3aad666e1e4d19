"""Triggers: how a workflow execution starts (by webhook, or by an API call)."""

from catalog.definitions.common import document

WEBHOOK = document(
    {
        "type": "object",
        "required": ["path", "method"],
        "properties": {
            "triggerType": {"const": "webhook"},
            "path": {
                "type": "string",
                "minLength": 1,
                "description": "Route under /v1/webhooks/, e.g. payments/received.",
            },
            "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
            "verify_token": {
                "type": "string",
                # An empty token would match a request that sends none.
                "minLength": 1,
                "writeOnly": True,
                "description": "When set, callers must send it as X-Webhook-Token.",
            },
        },
        "additionalProperties": False,
    },
    title="Webhook trigger",
    description="Starts an execution when a request arrives on the route.",
)

MANUAL = document(
    {
        "type": "object",
        "properties": {"triggerType": {"const": "manual"}},
        "additionalProperties": False,
    },
    title="Manual trigger",
    description="Starts an execution only through POST /v1/workflows/{id}/executions.",
)
