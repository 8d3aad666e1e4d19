"""Triggers: how a workflow execution starts (by webhook, or by an API call)."""

from catalog.definitions.common import HEADER_NAME_PATTERN, document

SIGNATURE_SCHEMES = ["hmac-sha256", "stripe"]
DEFAULT_TOLERANCE_SECONDS = 300

# How a caller signs its requests (webhooks/signatures.py checks them). Both schemes sign
# "<unix seconds>.<raw body>" with HMAC-SHA256; the secret is write-only (sealed, masked).
SIGNATURE = {
    "type": "object",
    "required": ["scheme", "secret"],
    "properties": {
        "scheme": {
            "type": "string",
            "enum": SIGNATURE_SCHEMES,
            "description": (
                "hmac-sha256: the signature header holds hex(HMAC-SHA256(secret, "
                '"<timestamp>.<raw body>")), optionally prefixed `sha256=`, and the timestamp '
                "header holds Unix seconds. stripe: `Stripe-Signature: t=<unix>,v1=<hex>` with "
                "any number of v1 entries (secret rotation)."
            ),
        },
        "secret": {
            "type": "string",
            "minLength": 1,
            "writeOnly": True,
            "description": "The shared signing secret (stored encrypted, shown masked).",
        },
        "header": {
            "type": "string",
            "pattern": HEADER_NAME_PATTERN,
            "maxLength": 100,
            "description": "Signature header: X-Signature (hmac-sha256) or Stripe-Signature.",
        },
        "timestampHeader": {
            "type": "string",
            "pattern": HEADER_NAME_PATTERN,
            "maxLength": 100,
            "description": "hmac-sha256 only: the timestamp header, X-Signature-Timestamp.",
        },
        "toleranceSeconds": {
            "type": "integer",
            "minimum": 1,
            "maximum": 86400,
            "default": DEFAULT_TOLERANCE_SECONDS,
            "description": (
                "A timestamp further than this from the server's clock is refused, and a "
                "signature seen within this window is refused as a replay."
            ),
        },
    },
    "additionalProperties": False,
}

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
            "signature": {
                **SIGNATURE,
                "description": (
                    "When set, every request must carry a valid signature of its raw body "
                    "(with a verify_token too, both must pass)."
                ),
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
