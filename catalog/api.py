"""GET /v1/catalog/{executors,triggers,providers,templates}[/{id}], the providers' executors, and
the executor-config and template-parameter validate endpoints."""

import copy
import dataclasses
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from catalog import registry
from catalog.building import template_params
from catalog.registry import ExecutorSpec, ProviderSpec, TemplateSpec, TriggerSpec
from catalog.schemas import schema_errors
from catalog.serializers import (
    ExecutorDetailSerializer,
    ExecutorSummarySerializer,
    ExecutorValidateSerializer,
    ProviderDetailSerializer,
    ProviderSummarySerializer,
    TemplateDetailSerializer,
    TemplateSummarySerializer,
    TemplateValidateSerializer,
    TriggerDetailSerializer,
    TriggerSummarySerializer,
    ValidationResultSerializer,
)
from flowker.api.openapi import errors
from flowker.api.views import FlowkerAPIView, json_body
from flowker.errors import FlowkerError
from providers.selectors import provider_config_choices

TAGS = ["Catalog"]


def _body_paths(field: str, failures: dict[str, str]) -> dict[str, str]:
    """Schema failure paths as paths into the request body, like every other `fields` map."""
    return {f"{field}.{path}" if path else field: reason for path, reason in failures.items()}


def _id_param(name: str, example: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.PATH, description=f"Catalog id, e.g. `{example}`"
    )


def _executor(executor_key: str) -> ExecutorSpec:
    spec = registry.get_executor(executor_key)
    if spec is None:
        raise FlowkerError("FLK-0200", "executor not found")
    return spec


def _trigger(trigger_key: str) -> TriggerSpec:
    spec = registry.get_trigger(trigger_key)
    if spec is None:
        raise FlowkerError("FLK-0210", "trigger not found")
    return spec


def _provider(provider_key: str) -> ProviderSpec:
    spec = registry.get_provider(provider_key)
    if spec is None:
        raise FlowkerError("FLK-0230", "provider not found")
    return spec


def _template(template_key: str) -> TemplateSpec:
    spec = registry.get_template(template_key)
    if spec is None:
        raise FlowkerError("FLK-0240", "template not found")
    return spec


class ExecutorListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listCatalogExecutors",
        summary="List catalog executors",
        description=(
            "Built-in executors (HTTP request, data transformation, Tracer and Midaz operations) "
            "that executor nodes and executor configurations use."
        ),
        tags=TAGS,
        responses={200: ExecutorSummarySerializer(many=True), **errors()},
    )
    def get(self, request: Any) -> Response:
        return Response(ExecutorSummarySerializer(registry.executors(), many=True).data)


class ExecutorDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getCatalogExecutor",
        summary="Get a catalog executor",
        description=(
            "One built-in executor with the JSON Schema its node data and configurations must "
            "match."
        ),
        tags=TAGS,
        parameters=[_id_param("executor_key", "http.request")],
        responses={200: ExecutorDetailSerializer, **errors(404)},
    )
    def get(self, request: Any, executor_key: str) -> Response:
        return Response(ExecutorDetailSerializer(_executor(executor_key)).data)


class ExecutorValidateView(FlowkerAPIView):
    @extend_schema(
        operation_id="validateCatalogExecutorConfig",
        summary="Validate an executor configuration",
        description=(
            "Checks a configuration object against the executor's JSON Schema only (nothing is "
            "called); 422 FLK-0201 names every failing `config.<path>`."
        ),
        tags=TAGS,
        parameters=[_id_param("executor_key", "http.request")],
        request=ExecutorValidateSerializer,
        responses={200: ValidationResultSerializer, **errors(400, 404, 413, 422)},
    )
    def post(self, request: Any, executor_key: str) -> Response:
        spec = _executor(executor_key)
        body = ExecutorValidateSerializer(data=json_body(request))
        body.is_valid(raise_exception=True)
        failures = schema_errors(spec.schema, body.validated_data["config"])
        if failures:
            raise FlowkerError(
                "FLK-0201",
                f"invalid config for executor {spec.id}",
                fields=_body_paths("config", failures),
            )
        return Response({"valid": True})


class TriggerListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listCatalogTriggers",
        summary="List catalog triggers",
        description=(
            "How workflows start: `webhook` (a call to /v1/webhooks/{path}) or `manual` (POST "
            "/v1/workflows/{id}/executions)."
        ),
        tags=TAGS,
        responses={200: TriggerSummarySerializer(many=True), **errors()},
    )
    def get(self, request: Any) -> Response:
        return Response(TriggerSummarySerializer(registry.triggers(), many=True).data)


class TriggerDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getCatalogTrigger",
        summary="Get a catalog trigger",
        description="One trigger with the JSON Schema of its node data.",
        tags=TAGS,
        parameters=[_id_param("trigger_key", "webhook")],
        responses={200: TriggerDetailSerializer, **errors(404)},
    )
    def get(self, request: Any, trigger_key: str) -> Response:
        return Response(TriggerDetailSerializer(_trigger(trigger_key)).data)


class ProviderListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listCatalogProviders",
        summary="List catalog providers",
        description=(
            "Kinds of external service Flowker connects to (`http`, `tracer`, `midaz`), each with "
            "the schema of its provider configurations."
        ),
        tags=TAGS,
        responses={200: ProviderSummarySerializer(many=True), **errors()},
    )
    def get(self, request: Any) -> Response:
        return Response(ProviderSummarySerializer(registry.providers(), many=True).data)


class ProviderDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getCatalogProvider",
        summary="Get a catalog provider",
        description=(
            "One provider with the JSON Schema that a provider configuration's `config` must match."
        ),
        tags=TAGS,
        parameters=[_id_param("provider_key", "http")],
        responses={200: ProviderDetailSerializer, **errors(404)},
    )
    def get(self, request: Any, provider_key: str) -> Response:
        return Response(ProviderDetailSerializer(_provider(provider_key)).data)


class ProviderExecutorListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listCatalogProviderExecutors",
        summary="List a provider's executors",
        description="The catalog executors that call this provider.",
        tags=TAGS,
        parameters=[_id_param("provider_key", "midaz")],
        responses={200: ExecutorSummarySerializer(many=True), **errors(404)},
    )
    def get(self, request: Any, provider_key: str) -> Response:
        spec = _provider(provider_key)
        executors = registry.executors_for_provider(spec.id)
        return Response(ExecutorSummarySerializer(executors, many=True).data)


class TemplateListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listCatalogTemplates",
        summary="List workflow templates",
        description=(
            "Ready-made workflows that `POST /v1/workflows/from-template` builds from a few "
            "parameters."
        ),
        tags=TAGS,
        responses={200: TemplateSummarySerializer(many=True), **errors()},
    )
    def get(self, request: Any) -> Response:
        return Response(TemplateSummarySerializer(registry.templates(), many=True).data)


class TemplateDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getCatalogTemplate",
        summary="Get a workflow template",
        description=(
            "One template with its parameter schema; a parameter naming a provider configuration "
            "lists the active ones it accepts, or says how to create one."
        ),
        tags=TAGS,
        parameters=[_id_param("template_key", "payment-fraud-check")],
        responses={200: TemplateDetailSerializer, **errors(404)},
    )
    def get(self, request: Any, template_key: str) -> Response:
        # Imported here because the providers app itself builds on the catalog.

        spec = _template(template_key)
        # A copy: the registry's schema is shared by every caller.
        schema = copy.deepcopy(spec.param_schema)
        for param, provider_id in spec.provider_params.items():
            choices = provider_config_choices(provider_id=provider_id)
            if choices:
                schema["properties"][param]["oneOf"] = choices
            else:
                # An empty oneOf would accept nothing without saying why.
                schema["properties"][param]["description"] += (
                    f" No active {provider_id} provider configuration exists yet: create one "
                    f'(POST /v1/provider-configurations with "providerId": "{provider_id}") '
                    "and pass its id."
                )
        enriched = dataclasses.replace(spec, param_schema=schema)
        return Response(TemplateDetailSerializer(enriched).data)


class TemplateValidateView(FlowkerAPIView):
    @extend_schema(
        operation_id="validateCatalogTemplateParams",
        summary="Validate template parameters",
        description=(
            "Checks parameters as `from-template` would, without creating anything; 422 FLK-0242 "
            "names every failing `params.<path>`."
        ),
        tags=TAGS,
        parameters=[_id_param("template_key", "payment-fraud-check")],
        request=TemplateValidateSerializer,
        responses={200: ValidationResultSerializer, **errors(400, 404, 413, 422)},
    )
    def post(self, request: Any, template_key: str) -> Response:
        spec = _template(template_key)
        body = TemplateValidateSerializer(data=json_body(request))
        body.is_valid(raise_exception=True)
        template_params(template_id=spec.id, params=body.validated_data["params"])
        return Response({"valid": True})
