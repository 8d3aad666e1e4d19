"""Provider configurations at the HTTP edge: input checks (FLK-0295…0299) and camelCase output
with every secret masked."""

from typing import Any

from rest_framework import serializers

from catalog import registry
from flowker.api.serializers import FlowkerSerializer, MetadataField
from flowker.sealing import mask_document
from flowker.timefmt import format_timestamp
from providers.models import ProviderConfiguration


class ProviderConfigCreateSerializer(FlowkerSerializer):
    error_codes = {
        "name": {"required": "FLK-0295", "blank": "FLK-0295", "max_length": "FLK-0296"},
        "providerId": {"required": "FLK-0297", "blank": "FLK-0297"},
        "config": {"required": "FLK-0298", "empty": "FLK-0298"},
        "description": {"max_length": "FLK-0299"},
    }

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    providerId = serializers.CharField(max_length=50)
    config = serializers.DictField(allow_empty=False)
    metadata = MetadataField(required=False)


class ProviderConfigUpdateSerializer(ProviderConfigCreateSerializer):
    providerId = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


def masked_config(config: ProviderConfiguration) -> Any:
    provider = registry.get_provider(config.provider_id)
    return mask_document(config.config, provider.config_schema if provider else None)


class ProviderConfigSerializer(serializers.Serializer):
    """ProviderConfigurationOutput (secrets masked)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    providerId = serializers.CharField()
    config = serializers.DictField(help_text="Secrets masked")
    status = serializers.ChoiceField(["active", "disabled"])
    metadata = serializers.DictField(required=False)
    createdAt = serializers.CharField()
    updatedAt = serializers.CharField()

    def to_representation(self, config: ProviderConfiguration) -> dict[str, Any]:
        body: dict[str, Any] = {"id": str(config.pk), "name": config.name}
        if config.description:
            body["description"] = config.description
        body.update(
            providerId=config.provider_id,
            config=masked_config(config),
            status=config.status,
        )
        if config.metadata:
            body["metadata"] = config.metadata
        body.update(
            createdAt=format_timestamp(config.created_at),
            updatedAt=format_timestamp(config.updated_at),
        )
        return body


class ProviderConfigCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField()
    createdAt = serializers.CharField()

    def to_representation(self, config: ProviderConfiguration) -> dict[str, Any]:
        return {
            "id": str(config.pk),
            "name": config.name,
            "status": config.status,
            "createdAt": format_timestamp(config.created_at),
        }


class StageSerializer(serializers.Serializer):
    name = serializers.ChoiceField(["connectivity", "authentication", "end_to_end", "call"])
    status = serializers.ChoiceField(["passed", "failed", "skipped"])
    durationMs = serializers.IntegerField()
    message = serializers.CharField(required=False)
    details = serializers.DictField(required=False)
    error = serializers.CharField(required=False)


class ConnectivityResultSerializer(serializers.Serializer):
    providerConfigId = serializers.UUIDField()
    providerId = serializers.CharField()
    overallStatus = serializers.ChoiceField(["passed", "failed", "partial"])
    durationMs = serializers.IntegerField()
    stages = StageSerializer(many=True)
    summary = serializers.CharField()
    startedAt = serializers.CharField()
    completedAt = serializers.CharField()
