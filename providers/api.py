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
        tags=TAGS,
        responses={200: ProviderConfigSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        return Response(_output(selectors.provider_config_get(config_id=id)))

    @extend_schema(
        operation_id="updateProviderConfiguration",
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
