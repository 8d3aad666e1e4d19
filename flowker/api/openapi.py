"""OpenAPI pieces shared by every view: the error envelope and list envelopes."""

from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="FLK-xxxx, or UNAUTHORIZED")
    title = serializers.CharField(help_text="HTTP reason phrase")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Field path → reason"
    )

    class Meta:
        ref_name = "Error"


# What a 409 means on every operation that can answer it.
CONFLICT = (
    "Conflict: the name is taken, or the resource's status changed concurrently between "
    "reading and writing it (a lost transition race; retry with the latest version): "
    "FLK-0350 workflows, FLK-0351 executor configurations, FLK-0352 provider configurations, "
    "FLK-0353 executions."
)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema(responses=...); 401 and 500 are always possible."""
    wanted = sorted({*statuses, 401, 500})
    return {
        status: OpenApiResponse(
            ErrorSerializer, description=CONFLICT if status == 409 else HTTPStatus(status).phrase
        )
        for status in wanted
    }


def paginated(item_serializer: type[serializers.Serializer], name: str) -> Any:
    """A `{items, nextCursor, hasMore}` envelope around `item_serializer`."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "items": item_serializer(many=True),
            "nextCursor": serializers.CharField(help_text="'' when hasMore is false"),
            "hasMore": serializers.BooleanField(),
        },
    )


# Request arrays of nested objects that the server refuses empty (`allow_empty=False`), which
# drf-spectacular does not carry over from a nested list serializer.
NON_EMPTY_REQUEST_ARRAYS = frozenset({"endpoints"})
# Request objects the server refuses empty (`DictField(allow_empty=False)`), by component.
NON_EMPTY_REQUEST_OBJECTS = {"ProviderConfigCreateRequest": "config"}
# Endpoint methods are matched case-insensitively against these.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
UUID_PARAMETERS = frozenset({"id", "workflow_id", "workflowId", "resourceId", "providerConfigId"})
TIME_PARAMETERS = frozenset({"startTime", "endTime", "dateFrom", "dateTo"})


def _parameter_schema(parameter: dict[str, Any]) -> dict[str, Any] | None:
    name = parameter.get("name")
    if parameter.get("in") not in ("path", "query"):
        return None
    if name in UUID_PARAMETERS:
        return {"type": "string", "format": "uuid"}
    if name in TIME_PARAMETERS:
        return {"type": "string", "format": "date-time"}
    if name == "limit":
        return {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    return None


# DRF's CharField refuses NUL characters everywhere, and blank text where it is required.
NO_NUL = "^[^\\x00]*$"
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"


def _mapping_entry() -> dict[str, Any]:
    """What executions/engine/mapping.py checks of an inputMapping/outputMapping entry (the
    path syntax of source and target aside)."""
    from executions.engine import kazaam

    text = {"type": "string", "pattern": NOT_BLANK}
    return {
        "type": "object",
        "required": ["source", "target"],
        "properties": {
            "source": text,
            "target": text,
            "required": {"type": "boolean", "nullable": True},
            "transformation": {
                "type": "object",
                "nullable": True,
                "required": ["type"],
                "properties": {
                    "type": {"type": "string", "enum": sorted(kazaam.OPERATIONS)},
                    "config": {"type": "object", "nullable": True},
                },
            },
        },
    }


def _text_rules(properties: dict[str, Any]) -> None:
    for field_schema in properties.values():
        if field_schema.get("type") != "string" or "pattern" in field_schema:
            continue
        if "enum" in field_schema or "format" in field_schema:
            continue
        field_schema["pattern"] = NOT_BLANK if field_schema.get("minLength", 0) > 0 else NO_NUL


def _case_insensitive_choice(words: tuple[str, ...]) -> str:
    letters = ("".join(f"[{c.upper()}{c.lower()}]" for c in word) for word in words)
    return "^(" + "|".join(letters) + ")$"


def truthful_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: say what the server really checks — ids are
    UUIDs, times RFC 3339, limits 1-100, endpoints non-empty — and that `null` on an optional
    request field is accepted (it means absent); that request bodies are required (the parser
    refuses an empty one) and that unknown fields are refused (FLK-0300)."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            for parameter in operation.get("parameters", []):
                schema = _parameter_schema(parameter)
                if schema is not None:
                    parameter["schema"] = schema
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        if schema.get("type") == "object" and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        if name.endswith(("EndpointRequest",)) and "method" in properties:
            properties["method"]["pattern"] = _case_insensitive_choice(HTTP_METHODS)
        _text_rules(properties)
        for mapping in ("inputMapping", "outputMapping"):
            if properties.get(mapping, {}).get("type") == "array":
                properties[mapping]["items"] = _mapping_entry()
        non_empty = NON_EMPTY_REQUEST_OBJECTS.get(name)
        if non_empty in properties:
            properties[non_empty]["minProperties"] = 1
        for field, field_schema in properties.items():
            if field in NON_EMPTY_REQUEST_ARRAYS and field_schema.get("type") == "array":
                field_schema["minItems"] = 1
            if field in required:
                continue
            if "$ref" in field_schema:
                properties[field] = {"allOf": [field_schema], "nullable": True}
            else:
                field_schema["nullable"] = True
    return result
