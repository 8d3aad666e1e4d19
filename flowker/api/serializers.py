"""Base input serializer: strict JSON types, unknown fields refused, nulls as absent.

Subclasses declare `error_codes = {"field": {"required": "FLK-0110", "max_length": ...}}`
to give a field's failures their upstream FLK code (CONTRACT §3).
"""

from collections import OrderedDict
from decimal import Decimal
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import empty

from flowker.api.validation import TYPE_MISMATCH, UNKNOWN_FIELD

_STRING_FIELDS = (
    serializers.CharField,
    serializers.ChoiceField,
    serializers.UUIDField,
    serializers.DateTimeField,
)


def _expected_json_type(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON type a field accepts, or None when any JSON value is fine."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, serializers.DecimalField | serializers.FloatField | NumberField):
        return (int, Decimal, float)
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return (list,)
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return (dict,)
    if isinstance(field, serializers.JSONField):
        return None
    if isinstance(field, _STRING_FIELDS):
        return (str,)
    return None


def _type_matches(value: Any, expected: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in expected:
        return False
    return isinstance(value, expected)


class FlowkerSerializer(serializers.Serializer):
    error_codes: ClassVar[dict[str, dict[str, str]]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValidationError(
                {"body": [ErrorDetail("expected a JSON object", code=TYPE_MISMATCH)]}
            )
        errors: dict[str, list[ErrorDetail]] = OrderedDict()
        cleaned = {key: value for key, value in data.items() if value is not None}
        for key, value in cleaned.items():
            field = self.fields.get(key)
            if field is None or field.read_only:
                errors[key] = [ErrorDetail("unknown field", code=UNKNOWN_FIELD)]
                continue
            expected = _expected_json_type(field)
            if expected and not _type_matches(value, expected):
                names = "/".join(dict.fromkeys(_json_name(t) for t in expected))
                errors[key] = [ErrorDetail(f"expected {names}", code=TYPE_MISMATCH)]
        if errors:
            raise ValidationError(errors)
        try:
            return super().to_internal_value(cleaned)
        except ValidationError as exc:
            raise ValidationError(self._ordered(exc.detail, list(data.keys()))) from exc

    def run_validation(self, data: Any = empty) -> Any:
        if data is None and not self.required:
            data = empty
        return super().run_validation(data)

    def _ordered(self, detail: Any, body_keys: list[str]) -> Any:
        """Put failures in body order (missing fields last) and apply per-field FLK codes."""
        if not isinstance(detail, dict):
            return detail
        rank = {key: index for index, key in enumerate(body_keys)}
        ordered = OrderedDict(sorted(detail.items(), key=lambda item: rank.get(item[0], len(rank))))
        for key, value in ordered.items():
            overrides = self.error_codes.get(key)
            if overrides:
                ordered[key] = _recoded(value, overrides)
        return ordered


def _recoded(value: Any, overrides: dict[str, str]) -> Any:
    """Give a field's own errors (not those of its nested items) their FLK codes."""
    if isinstance(value, list) and all(isinstance(item, ErrorDetail) for item in value):
        return [ErrorDetail(str(item), code=overrides.get(item.code, item.code)) for item in value]
    if isinstance(value, dict) and "non_field_errors" in value:
        return {**value, "non_field_errors": _recoded(value["non_field_errors"], overrides)}
    return value


def _json_name(python_type: type) -> str:
    return {
        bool: "boolean",
        int: "number",
        Decimal: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }[python_type]


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": {
            "oneOf": [
                {"type": "string", "maxLength": 2000},
                {"type": "number"},
                {"type": "boolean"},
            ]
        },
        "description": "Flat: at most 50 entries, keys up to 100 characters",
    }
)
class MetadataField(serializers.DictField):
    """Flat metadata: ≤50 entries, keys ≤100 chars, string values ≤2000 (FLK-0312…0315)."""

    MAX_ENTRIES = 50
    MAX_KEY = 100
    MAX_VALUE = 2000

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError("expected object", code=TYPE_MISMATCH)
        if len(data) > self.MAX_ENTRIES:
            raise ValidationError(f"at most {self.MAX_ENTRIES} entries", code="FLK-0315")
        for key, value in data.items():
            if len(key) > self.MAX_KEY:
                raise ValidationError(
                    f"key {key[:20]!r}… longer than {self.MAX_KEY} characters", code="FLK-0312"
                )
            if isinstance(value, dict | list):
                raise ValidationError(f"value of {key!r} must not be nested", code="FLK-0314")
            if isinstance(value, str) and len(value) > self.MAX_VALUE:
                raise ValidationError(
                    f"value of {key!r} longer than {self.MAX_VALUE} characters", code="FLK-0313"
                )
        return dict(data)


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A JSON number kept exactly as sent (int or Decimal); booleans and strings refused."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | Decimal | float):
            raise ValidationError("expected number", code=TYPE_MISMATCH)
        return data

    def to_representation(self, value: Any) -> Any:
        return value
