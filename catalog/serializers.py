"""The catalog as the API shows it (upstream shapes, schemas as JSON objects), and the bodies of
the two validate endpoints."""

from rest_framework import serializers

from flowker.api.serializers import FlowkerSerializer


class ExecutorSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    version = serializers.CharField()
    providerId = serializers.CharField(
        source="provider_id", allow_null=True, help_text="null: the executor calls no provider"
    )


class ExecutorDetailSerializer(ExecutorSummarySerializer):
    schema = serializers.DictField(help_text="JSON Schema (draft 2020-12) of the executor's config")


class TriggerSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()


class TriggerDetailSerializer(TriggerSummarySerializer):
    schema = serializers.DictField(help_text="JSON Schema (draft 2020-12) of the trigger's data")


class ProviderSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.CharField()


class ProviderDetailSerializer(ProviderSummarySerializer):
    configSchema = serializers.DictField(
        source="config_schema",
        help_text="JSON Schema (draft 2020-12) of a provider configuration's config",
    )


class TemplateSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.CharField()
    category = serializers.CharField()


class TemplateDetailSerializer(TemplateSummarySerializer):
    paramSchema = serializers.DictField(
        source="param_schema",
        help_text=(
            "JSON Schema (draft 2020-12) of the parameters; each provider-configuration "
            "parameter lists the active configurations of its provider in `oneOf`"
        ),
    )


class ExecutorValidateSerializer(FlowkerSerializer):
    config = serializers.DictField(help_text="Configuration to check against the executor schema")


class TemplateValidateSerializer(FlowkerSerializer):
    params = serializers.DictField(help_text="Parameters to check against the template schema")


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
