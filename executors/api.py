"""/v1/executors: executor configurations and their lifecycle commands."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response

from executors import selectors, services
from executors.choices import ExecutorConfigStatus
from executors.serializers import (
    ExecutorConfigCreateSerializer,
    ExecutorConfigSerializer,
    ExecutorConfigTestSerializer,
    ExecutorConfigUpdateSerializer,
)
from flowker.actors import actor_from_request
from flowker.api.openapi import errors, paginated
from flowker.api.pagination import KeysetPaginator
from flowker.api.views import FlowkerAPIView, enum_param, json_body, parse_uuid

SORT_FIELDS = {"createdAt": "created_at", "updatedAt": "updated_at", "name": "name"}
TAGS = ["Executor configurations"]


def _output(config: Any) -> dict[str, Any]:
    return ExecutorConfigSerializer(config).data


class ExecutorConfigListView(FlowkerAPIView):
    @extend_schema(
        operation_id="createExecutorConfiguration",
        summary="Create an executor configuration",
        description=(
            "Binds a catalog executor to a provider configuration with named endpoints. It is "
            "created `unconfigured` and becomes `configured` once complete."
        ),
        tags=TAGS,
        request=ExecutorConfigCreateSerializer,
        responses={201: ExecutorConfigSerializer, **errors(400, 404, 409, 413)},
    )
    def post(self, request: Any) -> Response:
        serializer = ExecutorConfigCreateSerializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        config = services.executor_config_create(
            **serializer.validated_data, actor=actor_from_request(request)
        )
        return Response(_output(config), status=201)

    @extend_schema(
        operation_id="listExecutorConfigurations",
        summary="List executor configurations",
        description=(
            "Executor configurations with their lifecycle status, with filters and cursor "
            "pagination."
        ),
        tags=TAGS,
        parameters=[
            OpenApiParameter("status", enum=ExecutorConfigStatus.values),
            OpenApiParameter("executorId", str),
            OpenApiParameter("providerConfigId", str),
            OpenApiParameter("limit", int, description="1-100, default 10"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("sortBy", enum=list(SORT_FIELDS)),
            OpenApiParameter("sortOrder", enum=["ASC", "DESC"]),
        ],
        responses={
            200: paginated(ExecutorConfigSerializer, "ExecutorConfigurationList"),
            **errors(400),
        },
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        filters = {
            "status": enum_param(params, "status", ExecutorConfigStatus),
            "executorId": params.get("executorId") or None,
            "providerConfigId": (
                parse_uuid(params["providerConfigId"], what="providerConfigId")
                if params.get("providerConfigId")
                else None
            ),
        }
        paginator = KeysetPaginator(
            params=params, sort_fields=SORT_FIELDS, default_sort="createdAt", filters=filters
        )
        page = paginator.paginate(selectors.executor_config_list(filters=filters))
        return Response(page.as_response(_output))


class ExecutorConfigDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getExecutorConfiguration",
        summary="Get an executor configuration",
        description="One executor configuration with its endpoints, status and last test result.",
        tags=TAGS,
        responses={200: ExecutorConfigSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        return Response(_output(selectors.executor_config_get(config_id=id)))

    @extend_schema(
        operation_id="updateExecutorConfiguration",
        summary="Update an executor configuration",
        description=(
            "Partial update (metadata merged). A complete `unconfigured` configuration becomes "
            "`configured`; a `tested` or `active` one accepts only `status` (`disabled`, or "
            "`active` to re-enable)."
        ),
        tags=TAGS,
        request=ExecutorConfigUpdateSerializer,
        responses={200: ExecutorConfigSerializer, **errors(400, 404, 409, 413, 422)},
    )
    def patch(self, request: Any, id: Any) -> Response:
        config = selectors.executor_config_get(config_id=id)
        serializer = ExecutorConfigUpdateSerializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        updated = services.executor_config_update(
            config=config,
            changes=dict(serializer.validated_data),
            actor=actor_from_request(request),
        )
        return Response(_output(updated))

    @extend_schema(
        operation_id="deleteExecutorConfiguration",
        summary="Delete an executor configuration",
        description=(
            "Refused (422 FLK-0252) while it is tested or active, or used by an active workflow."
        ),
        tags=TAGS,
        responses={204: None, **errors(400, 404, 422)},
    )
    def delete(self, request: Any, id: Any) -> Response:
        config = selectors.executor_config_get(config_id=id)
        services.executor_config_delete(config=config, actor=actor_from_request(request))
        return Response(status=204)


class _ExecutorConfigCommand(FlowkerAPIView):
    command: Any

    def post(self, request: Any, id: Any) -> Response:
        config = selectors.executor_config_get(config_id=id)
        changed = type(self).command(config=config, actor=actor_from_request(request))
        return Response(_output(changed))


def _command_schema(operation_id: str, summary: str, description: str) -> Any:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            description=description,
            tags=TAGS,
            request=None,
            responses={200: ExecutorConfigSerializer, **errors(400, 404, 409, 422)},
        )
    )


@_command_schema(
    "activateExecutorConfiguration",
    "Activate an executor configuration",
    "tested → active. Refused (422 FLK-0252) when it would make an endpoint name ambiguous for "
    "an active workflow.",
)
class ExecutorConfigActivateView(_ExecutorConfigCommand):
    command = services.executor_config_activate


@_command_schema(
    "disableExecutorConfiguration",
    "Disable an executor configuration",
    "Takes it out of service: nodes that use it fail fast (FLK-0512) until it is enabled.",
)
class ExecutorConfigDisableView(_ExecutorConfigCommand):
    command = services.executor_config_disable


@_command_schema(
    "enableExecutorConfiguration", "Enable an executor configuration", "disabled → active."
)
class ExecutorConfigEnableView(_ExecutorConfigCommand):
    command = services.executor_config_enable


class ExecutorConfigTestView(FlowkerAPIView):
    @extend_schema(
        operation_id="testExecutorConfiguration",
        summary="Test an executor configuration",
        description=(
            "Without `input`, runs the connectivity stages against the endpoint with GET (no side "
            "effects); with `input`, makes the real call. A pass makes it `tested`."
        ),
        tags=TAGS,
        request=ExecutorConfigTestSerializer,
        responses={200: ExecutorConfigSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Any, id: Any) -> Response:
        config = selectors.executor_config_get(config_id=id)
        data: dict[str, Any] = {}
        if int(request.META.get("CONTENT_LENGTH") or 0) > 0:
            serializer = ExecutorConfigTestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        tested = services.executor_config_test(
            config=config,
            endpoint_name=data.get("endpointName"),
            test_input=data.get("input"),
            actor=actor_from_request(request),
        )
        return Response(_output(tested))
