"""Executor configurations at the HTTP edge (FLK-0260…0273 for field failures). Input
serializers hand the services their keyword names (`source=`), never camelCase."""

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from executions.engine.mapping import MappingDefinitionError, compile_mapping
from executors.choices import ExecutorConfigStatus, HttpMethod
from executors.models import ExecutorConfiguration
from flowker.api.serializers import FlowkerSerializer, MetadataField
from flowker.timefmt import format_timestamp


class EndpointSerializer(FlowkerSerializer):
    error_codes = {
        "name": {"required": "FLK-0270", "blank": "FLK-0270"},
        "path": {"required": "FLK-0271", "blank": "FLK-0271"},
        "method": {"required": "FLK-0272", "blank": "FLK-0272", "invalid_choice": "FLK-0273"},
    }

    name = serializers.CharField(max_length=100)
    method = serializers.CharField(max_length=10)
    path = serializers.CharField(max_length=500)
    timeoutSeconds = serializers.IntegerField(
        min_value=1, max_value=300, required=False, default=30
    )

    def validate_method(self, value: str) -> str:
        method = value.upper()
        if method not in HttpMethod.values:
            raise ValidationError(
                f"method must be one of {', '.join(HttpMethod.values)}", code="FLK-0273"
            )
        return method


def _mapping_list(*, source: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.DictField(), required=False, source=source)


class ExecutorConfigCreateSerializer(FlowkerSerializer):
    error_codes = {
        "name": {"required": "FLK-0260", "blank": "FLK-0260", "max_length": "FLK-0261"},
        "description": {"max_length": "FLK-0267"},
        "endpoints": {"empty": "FLK-0265"},
    }

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    executorId = serializers.CharField(max_length=100, required=False, source="executor_id")
    providerConfigId = serializers.UUIDField(required=False, source="provider_config_id")
    endpoints = EndpointSerializer(many=True, required=False, allow_empty=False)
    inputMapping = _mapping_list(source="input_mapping")
    outputMapping = _mapping_list(source="output_mapping")
    metadata = MetadataField(required=False)

    def validate_endpoints(self, endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [endpoint["name"] for endpoint in endpoints]
        if len(names) != len(set(names)):
            raise ValidationError("endpoint names must be unique", code="FLK-0302")
        return [dict(endpoint) for endpoint in endpoints]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for key, field in (("input_mapping", "inputMapping"), ("output_mapping", "outputMapping")):
            if key in attrs:
                try:
                    compile_mapping(attrs[key], field=field)
                except MappingDefinitionError as exc:
                    raise ValidationError({exc.path: [exc.message]}, code=exc.code) from exc
        return attrs


class ExecutorConfigUpdateSerializer(ExecutorConfigCreateSerializer):
    status = serializers.ChoiceField(
        [ExecutorConfigStatus.ACTIVE, ExecutorConfigStatus.DISABLED], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False


class ExecutorConfigTestSerializer(FlowkerSerializer):
    endpointName = serializers.CharField(max_length=100, required=False)
    input = serializers.JSONField(required=False)


class EndpointOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    timeoutSeconds = serializers.IntegerField()


class ExecutorConfigSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    executorId = serializers.CharField(allow_null=True)
    providerConfigId = serializers.UUIDField(allow_null=True)
    endpoints = EndpointOutputSerializer(many=True)
    inputMapping = serializers.ListField(child=serializers.DictField(), required=False)
    outputMapping = serializers.ListField(child=serializers.DictField(), required=False)
    metadata = serializers.DictField(required=False)
    status = serializers.ChoiceField(ExecutorConfigStatus.values)
    lastTestedAt = serializers.CharField(required=False)
    lastTestResult = serializers.DictField(required=False)
    createdAt = serializers.CharField()
    updatedAt = serializers.CharField()

    def to_representation(self, config: ExecutorConfiguration) -> dict[str, Any]:
        body: dict[str, Any] = {"id": str(config.pk), "name": config.name}
        if config.description:
            body["description"] = config.description
        body.update(
            executorId=config.executor_id or None,
            providerConfigId=str(config.provider_config_id) if config.provider_config_id else None,
            endpoints=config.endpoints,
        )
        if config.input_mapping is not None:
            body["inputMapping"] = config.input_mapping
        if config.output_mapping is not None:
            body["outputMapping"] = config.output_mapping
        if config.metadata:
            body["metadata"] = config.metadata
        body["status"] = config.status
        if config.last_tested_at:
            body["lastTestedAt"] = format_timestamp(config.last_tested_at)
        if config.last_test_result is not None:
            body["lastTestResult"] = config.last_test_result
        body.update(
            createdAt=format_timestamp(config.created_at),
            updatedAt=format_timestamp(config.updated_at),
        )
        return body
