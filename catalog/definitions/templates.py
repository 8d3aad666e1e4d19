"""Parameters of the workflow templates; the workflows they build are made in the workflows app."""

from catalog.definitions.common import document, required_text, secret_text, text, uuid_text

_WORKFLOW_NAME = required_text("Name of the created workflow.", maxLength=100)
_WORKFLOW_DESCRIPTION = text("Description of the created workflow.", maxLength=500)

TRACER_MIDAZ_VALIDATION = document(
    {
        "type": "object",
        "required": ["workflowName", "tracerProviderConfigId", "midazProviderConfigId"],
        "properties": {
            "workflowName": _WORKFLOW_NAME,
            "workflowDescription": _WORKFLOW_DESCRIPTION,
            "tracerProviderConfigId": uuid_text("Tracer provider configuration (validation)."),
            "midazProviderConfigId": uuid_text("Midaz provider configuration (transactions)."),
            "webhookPath": text(
                "Webhook route that receives transactions.",
                minLength=1,
                default="/validate-and-transact",
            ),
            "webhookMethod": {"type": "string", "enum": ["POST"], "default": "POST"},
        },
        "additionalProperties": False,
    },
    title="Tracer Validation + Midaz Transaction parameters",
    description="Parameters of the tracer-midaz-validation template.",
)

PAYMENT_FRAUD_CHECK = document(
    {
        "type": "object",
        "required": ["workflowName", "fraudProviderConfigId"],
        "properties": {
            "workflowName": _WORKFLOW_NAME,
            "workflowDescription": _WORKFLOW_DESCRIPTION,
            "fraudProviderConfigId": uuid_text("HTTP provider configuration of the fraud service."),
            "endpointName": text(
                "Endpoint of the fraud service that scores a transaction.",
                minLength=1,
                default="score-transaction",
            ),
            "threshold": {
                "type": "number",
                "default": 80,
                "description": "Payments scoring below it are approved.",
            },
            "webhookPath": text(
                "Webhook route that receives payments.", minLength=1, default="payments/received"
            ),
            "webhookMethod": {"type": "string", "enum": ["POST"], "default": "POST"},
            "verifyToken": secret_text("Token callers must send as X-Webhook-Token."),
        },
        "additionalProperties": False,
    },
    title="Payment Fraud Check parameters",
    description="Parameters of the payment-fraud-check template.",
)
