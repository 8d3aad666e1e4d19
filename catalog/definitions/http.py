"""The generic `http` provider (any HTTP/JSON service) and its `http.request` executor.

Authentication types and fields are exactly the integration guide's table, plus `issuer_url`
(OIDC discovery) in place of `tokenURL`.
"""

from typing import Any

from catalog.definitions.common import (
    HTTP_METHODS,
    document,
    header_map,
    http_url,
    required_text,
    secret_text,
    string_map,
)
from executors.runtime.auth import Authenticator, authenticator_from_block

_OIDC_PROPERTIES: dict[str, Any] = {
    "tokenURL": http_url("OAuth 2.0 token endpoint."),
    "issuer_url": http_url(
        "OIDC issuer whose discovery document names the token endpoint; "
        "give it instead of tokenURL (tokenURL wins when both are given)."
    ),
    "clientID": required_text("OAuth 2.0 client id."),
    "clientSecret": secret_text("OAuth 2.0 client secret."),
    "scopes": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "description": "Scopes to request, sent space-separated.",
    },
}

# Without an issuer to discover it from, the token endpoint must be given.
_TOKEN_ENDPOINT: dict[str, Any] = {
    "if": {"required": ["issuer_url"]},
    "else": {"required": ["tokenURL"]},
}

AUTH_CONFIG_SCHEMAS: dict[str, dict[str, Any]] = {
    "none": {
        "type": "object",
        "description": "No credentials: leave config out, or send {}.",
        "additionalProperties": False,
    },
    "api_key": {
        "type": "object",
        "required": ["key", "value"],
        "properties": {
            "key": required_text("Name of the header or query parameter that carries the key."),
            "value": secret_text("The API key."),
            "location": {
                "type": "string",
                "enum": ["header", "query"],
                "default": "header",
                "description": "Where the key is sent.",
            },
        },
        "additionalProperties": False,
    },
    "bearer": {
        "type": "object",
        "required": ["token"],
        "properties": {"token": secret_text("Sent as `Authorization: Bearer <token>`.")},
        "additionalProperties": False,
    },
    "basic": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": required_text("User name."),
            "password": secret_text("Password."),
        },
        "additionalProperties": False,
    },
    "oidc_client_credentials": {
        "type": "object",
        "required": ["clientID", "clientSecret"],
        "properties": _OIDC_PROPERTIES,
        "additionalProperties": False,
        **_TOKEN_ENDPOINT,
    },
    "oidc_user": {
        "type": "object",
        "required": ["clientID", "username", "password"],
        "properties": {
            **_OIDC_PROPERTIES,
            "clientSecret": secret_text("OAuth 2.0 client secret (public clients have none)."),
            "username": required_text("Resource owner's user name."),
            "password": secret_text("Resource owner's password."),
        },
        "additionalProperties": False,
        **_TOKEN_ENDPOINT,
    },
}


def _config_for(auth_type: str, config_schema: dict[str, Any]) -> dict[str, Any]:
    """Checks `config` against the fields of one type, so failures name the exact field."""
    then: dict[str, Any] = {"properties": {"config": config_schema}}
    if auth_type != "none":
        then["required"] = ["config"]
    return {
        "if": {"properties": {"type": {"const": auth_type}}, "required": ["type"]},
        "then": then,
    }


AUTHENTICATION: dict[str, Any] = {
    "type": "object",
    "description": "How Flowker authenticates to the service.",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(AUTH_CONFIG_SCHEMAS)},
        "config": {"type": "object", "description": "The fields of the chosen type."},
    },
    "additionalProperties": False,
    "allOf": [_config_for(name, schema) for name, schema in AUTH_CONFIG_SCHEMAS.items()],
}

PROVIDER_CONFIG = document(
    {
        "type": "object",
        "required": ["base_url"],
        "properties": {
            "base_url": http_url("Base URL that endpoint paths are appended to."),
            "authentication": AUTHENTICATION,
            "headers": header_map("Headers sent with every call (values are secret).", secret=True),
            "timeout_seconds": {
                "type": "integer",
                "minimum": 1,
                "maximum": 300,
                "default": 30,
                "description": "Timeout of each call, in seconds.",
            },
            "verify_tls": {
                "type": "boolean",
                "default": True,
                "description": "Check the service's TLS certificate.",
            },
        },
        "additionalProperties": False,
    },
    title="HTTP provider configuration",
    description="Connection to any HTTP/JSON service.",
)

REQUEST = document(
    {
        "type": "object",
        "properties": {
            "method": {"type": "string", "enum": HTTP_METHODS, "description": "HTTP method."},
            "path": {"type": "string", "description": "Path appended to the provider's base_url."},
            "headers": header_map("Extra request headers."),
            "query": string_map("Query parameters."),
            "timeoutSeconds": {
                "type": "integer",
                "minimum": 1,
                "maximum": 300,
                "description": "Timeout of the call, in seconds.",
            },
            "successStatusCodes": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 100, "maximum": 599},
                "description": "Statuses that count as success (default: any 2xx).",
            },
        },
        "additionalProperties": False,
    },
    title="HTTP request",
    description="Calls an endpoint of an `http` provider.",
)


def authenticator(config: dict[str, Any], owner: str) -> Authenticator:
    """The configuration's `authentication: {type, config}` block (the guide's table)."""
    return authenticator_from_block(
        config.get("authentication"), config.get("verify_tls", True), owner
    )
