"""Tracer, Lerian's transaction validation service: its provider configuration, its executors
and its credential (the API key as `X-API-Key`)."""

from typing import Any

from catalog.definitions.common import (
    decimal_text,
    document,
    free_object,
    http_url,
    secret_text,
    text,
    uuid_text,
)
from executors.runtime.auth import (
    NO_AUTHENTICATION,
    Authenticator,
    HeaderCredential,
    optional_field,
)

TRANSACTION_TYPES = ["CARD", "WIRE", "PIX", "CRYPTO"]

PROVIDER_CONFIG = document(
    {
        "type": "object",
        "required": ["base_url", "api_key"],
        "properties": {
            "base_url": http_url("Tracer API base URL."),
            "api_key": secret_text("Sent as the X-API-Key header."),
        },
    },
    title="Tracer provider configuration",
    description="Tracer's base URL and API key.",
)


def _context(id_field: str, what: str, **extra_properties: dict) -> dict:
    return {
        "type": "object",
        "description": f"Optional {what} context.",
        "properties": {
            id_field: uuid_text(f"{what.capitalize()} identifier."),
            "name": text(f"{what.capitalize()} name."),
            **extra_properties,
            "metadata": free_object(f"{what.capitalize()} metadata."),
        },
    }


VALIDATE_TRANSACTION = document(
    {
        "type": "object",
        "required": [
            "requestId",
            "transactionType",
            "amount",
            "currency",
            "transactionTimestamp",
            "account",
        ],
        "properties": {
            "requestId": uuid_text("Unique request id, for idempotency."),
            "transactionType": {"type": "string", "enum": TRANSACTION_TYPES},
            "subType": text("Finer classification of the transaction.", maxLength=50),
            "amount": decimal_text("Amount as a decimal string, e.g. '1000.00'."),
            "currency": text(
                "ISO 4217 currency code.", minLength=3, maxLength=3, pattern="^[A-Z]{3}$"
            ),
            "transactionTimestamp": text("When the transaction happened.", format="date-time"),
            "account": {
                "type": "object",
                "description": "Account the transaction belongs to.",
                "required": ["accountId", "type", "status"],
                "properties": {
                    "accountId": uuid_text("Account identifier."),
                    "type": {"type": "string", "enum": ["checking", "savings", "credit"]},
                    "status": {"type": "string", "enum": ["active", "suspended", "closed"]},
                    "metadata": free_object("Account metadata."),
                },
            },
            "segment": _context("segmentId", "segment"),
            "portfolio": _context("portfolioId", "portfolio"),
            "merchant": _context(
                "merchantId",
                "merchant",
                category=text("Merchant category code (MCC).", minLength=4, maxLength=4),
                country=text("ISO 3166-1 alpha-2 country code.", minLength=2, maxLength=2),
            ),
            "metadata": {
                "type": "object",
                "description": "Transaction metadata: at most 50 entries, keys of 64 characters.",
                "maxProperties": 50,
                "propertyNames": {"maxLength": 64},
            },
        },
    },
    title="Validate Tracer transaction",
    description="POST /v1/validations: checks a transaction against rules and limits.",
)

LIST_VALIDATIONS = document(
    {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["ALLOW", "DENY", "REVIEW"]},
            "transactionType": {"type": "string", "enum": TRANSACTION_TYPES},
            "accountId": uuid_text("Only validations of this account."),
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": 10,
                "description": "Page size.",
            },
            "cursor": text("Cursor of the page to read."),
            "sortBy": {"type": "string", "enum": ["createdAt"], "default": "createdAt"},
            "sortOrder": {"type": "string", "enum": ["ASC", "DESC"], "default": "DESC"},
        },
        "additionalProperties": False,
    },
    title="List Tracer validations",
    description="GET /v1/validations: past validation results, filtered and paginated.",
)


def authenticator(config: dict[str, Any], owner: str) -> Authenticator:
    api_key = optional_field(config, "api_key")
    return HeaderCredential("api_key", "X-API-Key", api_key) if api_key else NO_AUTHENTICATION
