"""/v1/provider-configurations: create, list, get, PATCH, delete, enable, disable, test."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response

from flowker.actors import actor_from_request
from flowker.api.openapi import errors, paginated
from flowker.api.pagination import KeysetPaginator
from flowker.api.views import FlowkerAPIView, enum_param, json_body
from providers import selectors, services
from providers.choices import ProviderConfigStatus
from providers.serializers import (
    ConnectivityResultSerializer,
    ProviderConfigCreatedSerializer,
    ProviderConfigCreateSerializer,
    ProviderConfigSerializer,
    ProviderConfigUpdateSerializer,
)

SORT_FIELDS = {"createdAt": "created_at", "updatedAt": "updated_at", "name": "name"}
TAGS = ["Provider configurations"]


def _output(config: Any) -> dict[str, Any]:
    return ProviderConfigSerializer(config).data


class ProviderConfigListView(FlowkerAPIView):
    @extend_schema(
        operation_id="createProviderConfiguration",
        summary="Create a provider configuration",
        description=(
            "A connection to an external service: base URL, credentials and settings, checked "
            "against the provider's schema. Secrets are encrypted at rest and masked in every "
            "answer."
        ),
        tags=TAGS,
        request=ProviderConfigCreateSerializer,
        responses={201: ProviderConfigCreatedSerializer, **errors(400, 404, 409, 413, 422)},
    )
    def post(self, request: Any) -> Response:
        serializer = ProviderConfigCreateSerializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        config = services.provider_config_create(
            name=data["name"],
            description=data.get("description", ""),
            provider_id=data["providerId"],
            config=data["config"],
            metadata=data.get("metadata"),
            actor=actor_from_request(request),
        )
        return Response(ProviderConfigCreatedSerializer(config).data, status=201)

    @extend_schema(
        operation_id="listProviderConfigurations",
        summary="List provider configurations",
        description=(
            "Connections to external services (secrets masked), with filters and cursor pagination."
        ),
        tags=TAGS,
        parameters=[
            OpenApiParameter("status", enum=ProviderConfigStatus.values),
            OpenApiParameter("providerId", str),
            OpenApiParameter("limit", int, description="1-100, default 10"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("sortBy", enum=list(SORT_FIELDS)),
            OpenApiParameter("sortOrder", enum=["ASC", "DESC"]),
        ],
        responses={
            200: paginated(ProviderConfigSerializer, "ProviderConfigurationList"),
            **errors(400),
        },
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        filters = {
            "status": enum_param(params, "status", ProviderConfigStatus),
            "providerId": params.get("providerId") or None,
        }
        paginator = KeysetPaginator(
            params=params, sort_fields=SORT_FIELDS, default_sort="createdAt", filters=filters
        )
        page = paginator.paginate(selectors.provider_config_list(filters=filters))
        return Response(page.as_response(_output))


class ProviderConfigDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getProviderConfiguration",
        summary="Get a provider configuration",
        description="One provider configuration, secrets masked.",
        tags=TAGS,
        responses={200: ProviderConfigSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        return Response(_output(selectors.provider_config_get(config_id=id)))

    @extend_schema(
        operation_id="updateProviderConfiguration",
        summary="Update a provider configuration",
        description="Partial update; a masked secret sent back keeps the stored value.",
        tags=TAGS,
        request=ProviderConfigUpdateSerializer,
        responses={200: ProviderConfigSerializer, **errors(400, 404, 409, 413, 422)},
    )
    def patch(self, request: Any, id: Any) -> Response:
        config = selectors.provider_config_get(config_id=id)
        serializer = ProviderConfigUpdateSerializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        updated = services.provider_config_update(
            provider_config=config,
            changes=dict(serializer.validated_data),
            actor=actor_from_request(request),
        )
        return Response(_output(updated))

    @extend_schema(
        operation_id="deleteProviderConfiguration",
        summary="Delete a provider configuration",
        description="Refused (422 FLK-0292) while an active workflow uses it.",
        tags=TAGS,
        responses={204: None, **errors(400, 404, 422)},
    )
    def delete(self, request: Any, id: Any) -> Response:
        config = selectors.provider_config_get(config_id=id)
        services.provider_config_delete(provider_config=config, actor=actor_from_request(request))
        return Response(status=204)


class _ProviderConfigCommand(FlowkerAPIView):
    command: Any

    def post(self, request: Any, id: Any) -> Response:
        config = selectors.provider_config_get(config_id=id)
        changed = type(self).command(provider_config=config, actor=actor_from_request(request))
        return Response(_output(changed))


@extend_schema_view(
    post=extend_schema(
        operation_id="enableProviderConfiguration",
        summary="Enable a provider configuration",
        description="Puts a disabled provider configuration back into service.",
        tags=TAGS,
        request=None,
        responses={200: ProviderConfigSerializer, **errors(400, 404, 409, 422)},
    )
)
class ProviderConfigEnableView(_ProviderConfigCommand):
    command = services.provider_config_enable


@extend_schema_view(
    post=extend_schema(
        operation_id="disableProviderConfiguration",
        summary="Disable a provider configuration",
        description="Executions that need it fail fast (FLK-0512) until it is enabled.",
        tags=TAGS,
        request=None,
        responses={200: ProviderConfigSerializer, **errors(400, 404, 409, 422)},
    )
)
class ProviderConfigDisableView(_ProviderConfigCommand):
    command = services.provider_config_disable


class ProviderConfigTestView(FlowkerAPIView):
    @extend_schema(
        operation_id="testProviderConfiguration",
        summary="Test a provider configuration",
        description=(
            "Runs the connectivity, authentication and end-to-end stages with the configuration's "
            "real credentials; every stage reports its status and a message (and an error when it "
            "failed)."
        ),
        tags=TAGS,
        request=None,
        responses={200: ConnectivityResultSerializer, **errors(400, 404, 422)},
    )
    def post(self, request: Any, id: Any) -> Response:
        config = selectors.provider_config_get(config_id=id)
        result = services.provider_config_test(
            provider_config=config, actor=actor_from_request(request)
        )
        return Response(result)
