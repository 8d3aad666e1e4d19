"""Schema pieces shared by the catalog's definitions (JSON Schema draft 2020-12)."""

from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# A header name outside RFC 9110's token characters could never be sent.
HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
# Amounts travel as decimal strings so that no binary float ever rounds them.
DECIMAL_STRING_PATTERN = r"^[0-9]+(\.[0-9]+)?$"


def document(schema: dict[str, Any], *, title: str, description: str) -> dict[str, Any]:
    """A top-level schema: declares its dialect, so clients validate it the way Flowker does."""
    return {"$schema": DIALECT, "title": title, "description": description, **schema}


def text(description: str, **constraints: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **constraints}


def required_text(description: str, **constraints: Any) -> dict[str, Any]:
    return text(description, minLength=1, **constraints)


def secret_text(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "writeOnly": True, "description": description}


def http_url(description: str) -> dict[str, Any]:
    # `uri` alone accepts "localhost:8080" (scheme "localhost"); Flowker only speaks HTTP(S).
    return {"type": "string", "format": "uri", "pattern": "^https?://", "description": description}


def uuid_text(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "uuid", "description": description}


def decimal_text(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": DECIMAL_STRING_PATTERN, "description": description}


def free_object(description: str) -> dict[str, Any]:
    return {"type": "object", "description": description}


def header_map(description: str, *, secret: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {"type": "string"}
    if secret:
        values["writeOnly"] = True
    return {
        "type": "object",
        "description": description,
        "propertyNames": {"pattern": HEADER_NAME_PATTERN},
        "additionalProperties": values,
    }


def string_map(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": {"type": "string"},
    }
