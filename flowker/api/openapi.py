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


def truthful_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: say what the server really checks — ids are
    UUIDs, times RFC 3339, limits 1-100, endpoints non-empty — and that `null` on an optional
    request field is accepted (it means absent)."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = _parameter_schema(parameter)
                if schema is not None:
                    parameter["schema"] = schema
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
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
