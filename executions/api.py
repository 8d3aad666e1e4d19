"""/v1/workflows/{id}/executions and /v1/executions: start, read, cancel, retry."""

import re
import string
from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from executions import selectors, services
from executions.choices import ExecutionStatus
from executions.notify import wait_until
from executions.serializers import (
    ExecutionCreatedSerializer,
    ExecutionResultsSerializer,
    ExecutionSerializer,
    RetrySerializer,
    StartSerializer,
)
from flowker.actors import Actor, actor_from_request
from flowker.api.errors import FlowkerError
from flowker.api.openapi import errors, paginated
from flowker.api.pagination import KeysetPaginator
from flowker.api.views import FlowkerAPIView, enum_param, json_body, parse_uuid
from workflows.models import Workflow
from workflows.selectors import workflow_get

SORT_FIELDS = {"startedAt": "started_at", "completedAt": "completed_at"}
TAGS = ["Executions"]
_PRINTABLE = set(string.printable) - set("\t\n\r\x0b\x0c")
_WAIT = re.compile(r"^\s*wait\s*=\s*(\d+)\s*$", re.IGNORECASE)

START_HEADERS = [
    OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER, description="1-255 printable ASCII"
    ),
    OpenApiParameter("Prefer", str, OpenApiParameter.HEADER, description="wait=N (1-30 s)"),
]


def idempotency_key(request: Any) -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 255 or not set(key) <= _PRINTABLE:
        raise FlowkerError(
            "FLK-0509", "Idempotency-Key must be 1-255 printable ASCII characters", status=400
        )
    return key


def preferred_wait(request: Any) -> int | None:
    """`Prefer: wait=N` (N ≥ 1, capped at 30); anything malformed is ignored."""
    for header in request.headers.get("Prefer", "").split(","):
        for part in header.split(";"):
            match = _WAIT.match(part)
            if match and int(match.group(1)) >= 1:
                return min(int(match.group(1)), settings.FLOWKER_MAX_WAIT_SECONDS)
    return None


def start_response(
    *,
    request: Any,
    workflow: Workflow,
    input_data: dict[str, Any],
    digest_source: Any,
    actor: Actor,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> Response:
    """Start (or replay) an execution and answer as CONTRACT §8 says, waiting if asked.
    `headers(execution)` adds response headers (the webhook's)."""
    key = idempotency_key(request)
    wait = preferred_wait(request)
    execution, replayed = services.execution_start(
        workflow=workflow,
        input_data=input_data,
        actor=actor,
        idempotency_key=key,
        digest=services.request_hash(digest_source) if key else "",
    )
    response_headers = headers(execution) if headers else {}
    if replayed:
        response_headers["Idempotent-Replayed"] = "true"
    if wait is not None:
        response_headers["Preference-Applied"] = f"wait={wait}"
        if wait_until(lambda: selectors.execution_is_terminal(execution.pk), execution.pk, wait):
            execution = selectors.execution_get(execution_id=execution.pk)
            return Response(
                ExecutionResultsSerializer(execution).data, status=200, headers=response_headers
            )
    if replayed:
        execution.refresh_from_db()
    status = 200 if replayed else 201
    return Response(
        ExecutionCreatedSerializer(execution).data, status=status, headers=response_headers
    )


class ExecutionStartView(FlowkerAPIView):
    max_body_bytes = settings.FLOWKER_MAX_INPUT_BYTES
    body_too_large = ("FLK-0506", "request body must not exceed 1 MiB")

    @extend_schema(
        operation_id="executeWorkflow",
        tags=TAGS,
        parameters=START_HEADERS,
        request=StartSerializer,
        responses={
            201: ExecutionCreatedSerializer,
            200: OpenApiResponse(
                ExecutionResultsSerializer,
                description="Idempotent replay (ExecutionCreateOutput), or the results when "
                "`Prefer: wait` saw the execution end",
            ),
            **errors(400, 404, 413, 422),
        },
    )
    def post(self, request: Any, workflow_id: Any) -> Response:
        body = json_body(request)
        serializer = StartSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        input_data = serializer.validated_data.get("inputData") or {}
        return start_response(
            request=request,
            workflow=workflow_get(workflow_id=workflow_id),
            input_data=input_data,
            digest_source=input_data,
            actor=actor_from_request(request),
        )


class ExecutionListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listExecutions",
        tags=TAGS,
        parameters=[
            OpenApiParameter("workflowId", str),
            OpenApiParameter("status", enum=ExecutionStatus.values),
            OpenApiParameter("limit", int, description="1-100, default 10"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("sortBy", enum=list(SORT_FIELDS)),
            OpenApiParameter("sortOrder", enum=["ASC", "DESC"]),
        ],
        responses={200: paginated(ExecutionSerializer, "ExecutionList"), **errors(400)},
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        filters = {
            "workflowId": parse_uuid(params["workflowId"], what="workflowId filter")
            if params.get("workflowId")
            else None,
            "status": enum_param(params, "status", ExecutionStatus),
        }
        paginator = KeysetPaginator(
            params=params, sort_fields=SORT_FIELDS, default_sort="startedAt", filters=filters
        )
        page = paginator.paginate(selectors.execution_list(filters=filters))
        return Response(page.as_response(lambda e: ExecutionSerializer(e).data))


class ExecutionDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getExecution",
        tags=TAGS,
        responses={200: ExecutionSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        return Response(ExecutionSerializer(selectors.execution_get(execution_id=id)).data)


class ExecutionResultsView(FlowkerAPIView):
    @extend_schema(
        operation_id="getExecutionResults",
        tags=TAGS,
        responses={200: ExecutionResultsSerializer, **errors(400, 404, 422)},
    )
    def get(self, request: Any, id: Any) -> Response:
        execution = selectors.execution_get(execution_id=id)
        if not execution.is_terminal:
            raise FlowkerError("FLK-0502", "execution is still in progress", status=422)
        return Response(ExecutionResultsSerializer(execution).data)


class ExecutionCancelView(FlowkerAPIView):
    @extend_schema(
        operation_id="cancelExecution",
        tags=TAGS,
        request=None,
        responses={200: ExecutionSerializer, **errors(400, 404, 422)},
    )
    def post(self, request: Any, id: Any) -> Response:
        execution = selectors.execution_get(execution_id=id)
        services.execution_cancel(execution=execution, actor=actor_from_request(request))
        return Response(ExecutionSerializer(selectors.execution_get(execution_id=id)).data)


class ExecutionRetryView(FlowkerAPIView):
    @extend_schema(
        operation_id="retryExecution",
        tags=TAGS,
        request=RetrySerializer,
        responses={201: ExecutionCreatedSerializer, **errors(400, 404, 422)},
    )
    def post(self, request: Any, id: Any) -> Response:
        execution = selectors.execution_get(execution_id=id)
        data: dict[str, Any] = {}
        if int(request.META.get("CONTENT_LENGTH") or 0) > 0:
            serializer = RetrySerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        retried = services.execution_retry(
            execution=execution,
            start_from=data.get("from", "start"),
            actor=actor_from_request(request),
        )
        return Response(ExecutionCreatedSerializer(retried).data, status=201)
