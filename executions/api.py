"""/v1/workflows/{id}/executions and /v1/executions: start, read, cancel, retry."""

import datetime
import re
import string
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from executions import dashboards, selectors, services
from executions.admission import admit
from executions.choices import ExecutionStatus
from executions.notify import WAITING, wait_until
from executions.serializers import (
    ExecutionCreatedSerializer,
    ExecutionDetailSerializer,
    ExecutionResultsSerializer,
    ExecutionSerializer,
    RetrySerializer,
    StartSerializer,
)
from flowker.actors import Actor, actor_from_request
from flowker.api.openapi import errors, paginated
from flowker.api.pagination import KeysetPaginator
from flowker.api.views import FlowkerAPIView, enum_param, json_body, parse_uuid
from flowker.errors import FlowkerError
from flowker.timefmt import format_timestamp, parse_timestamp
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
    OpenApiParameter(
        "Callback-URL",
        str,
        OpenApiParameter.HEADER,
        description=(
            "Where this execution's signed completion callback goes, instead of the workflow's "
            "callback URL (the workflow must declare a callback: its secret signs). Only hosts "
            "in FLOWKER_CALLBACK_ALLOWED_HOSTS, never an address the outbound policy refuses; "
            "else 400 FLK-0513."
        ),
    ),
]


def idempotency_key(request: Any) -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 255 or not set(key) <= _PRINTABLE:
        raise FlowkerError("FLK-0509", "Idempotency-Key must be 1-255 printable ASCII characters")
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
    """Start (or replay) an execution and answer as CONTRACT §8 says, waiting if asked and a
    waiting place is free. `headers(execution)` adds response headers (the webhook's)."""
    key = idempotency_key(request)
    wait = preferred_wait(request)
    admit()  # 503 FLK-0006 past the backlog bound (executions.admission)
    execution, replayed = services.execution_start(
        workflow=workflow,
        input_data=input_data,
        actor=actor,
        idempotency_key=key,
        digest=services.request_hash(digest_source) if key else "",
        callback_url=request.headers.get("Callback-URL"),
    )
    response_headers = headers(execution) if headers else {}
    if replayed:
        response_headers["Idempotent-Replayed"] = "true"
    if wait is not None:
        with WAITING.take() as may_wait:
            # Past the cap the preference is not honoured: the answer comes at once.
            if may_wait:
                response_headers["Preference-Applied"] = f"wait={wait}"
                if wait_until(
                    lambda: selectors.execution_is_terminal(execution.pk), execution.pk, wait
                ):
                    execution = selectors.execution_get(execution_id=execution.pk)
                    return Response(
                        ExecutionResultsSerializer(execution).data,
                        status=200,
                        headers=response_headers,
                    )
    if replayed or wait is not None:
        execution.refresh_from_db()  # a wait that ran out answers the status it saw last
    status = 200 if replayed else 201
    return Response(
        ExecutionCreatedSerializer(execution).data, status=status, headers=response_headers
    )


class ExecutionStartView(FlowkerAPIView):
    max_body_bytes = settings.FLOWKER_MAX_INPUT_BYTES
    body_too_large = ("FLK-0506", "request body must not exceed 1 MiB")

    @extend_schema(
        operation_id="executeWorkflow",
        summary="Execute a workflow",
        description=(
            "Starts an execution of an active workflow with `inputData`. An optional "
            "`Idempotency-Key` makes retries safe; `Prefer: wait=N` answers with the results when "
            "the execution ends within N seconds."
        ),
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
            **errors(400, 404, 413, 422, 503),
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
        summary="List executions",
        description="Executions filtered by workflow and status, with cursor pagination.",
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
        # One serializer for the page: a DRF serializer per row costs more than the row.
        return Response(page.as_response(ExecutionSerializer().to_representation))


class ExecutionDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getExecution",
        summary="Get an execution",
        description=(
            "Status and progress of one execution, with `error` when it failed and `callback` "
            "(its signed completion callback's delivery) when it has one."
        ),
        tags=TAGS,
        responses={200: ExecutionDetailSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        execution = selectors.execution_get(execution_id=id)
        return Response(ExecutionDetailSerializer(execution).data)


class ExecutionResultsView(FlowkerAPIView):
    @extend_schema(
        operation_id="getExecutionResults",
        summary="Get execution results",
        description=(
            "The final output and every step: status, input (masked), output, attempts and call "
            "details."
        ),
        tags=TAGS,
        responses={200: ExecutionResultsSerializer, **errors(400, 404, 422)},
    )
    def get(self, request: Any, id: Any) -> Response:
        execution = selectors.execution_get(execution_id=id)
        if not execution.is_terminal:
            raise FlowkerError("FLK-0502", "execution is still in progress")
        return Response(ExecutionResultsSerializer(execution).data)


class ExecutionCancelView(FlowkerAPIView):
    @extend_schema(
        operation_id="cancelExecution",
        summary="Cancel an execution",
        description=(
            "Stops a pending or running execution at the next step boundary: a provider call in "
            "flight completes and is recorded, scheduled retries are dropped. 422 FLK-0511 in any "
            "other status."
        ),
        tags=TAGS,
        request=None,
        responses={200: ExecutionSerializer, **errors(400, 404, 409, 422)},
    )
    def post(self, request: Any, id: Any) -> Response:
        execution = selectors.execution_get(execution_id=id)
        services.execution_cancel(execution=execution, actor=actor_from_request(request))
        return Response(ExecutionSerializer(selectors.execution_get(execution_id=id)).data)


class ExecutionRetryView(FlowkerAPIView):
    @extend_schema(
        operation_id="retryExecution",
        summary="Retry an execution",
        description=(
            "Starts a new execution (with `retryOf`) from a failed or cancelled one: from `start` "
            "with the current definition, or from `failed_step` reusing the completed steps."
        ),
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


# --- Dashboards ----------------------------------------------------------------------------------


def _time_param(params: Any, name: str) -> Any:
    value = params.get(name)
    if not value:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise FlowkerError("FLK-0302", f"invalid {name} format, expected RFC3339")
    return parsed


def _window(params: Any, *, default_hours: float | None = None) -> tuple[Any, Any]:
    start, end = _time_param(params, "startTime"), _time_param(params, "endTime")
    if default_hours is not None:
        end = end or timezone.now()
        start = start or end - datetime.timedelta(hours=default_hours)
    if start and end and start > end:
        raise FlowkerError("FLK-0302", "startTime must be before endTime")
    return start, end


_WINDOW_PARAMS = [
    OpenApiParameter("startTime", str, description="RFC 3339"),
    OpenApiParameter("endTime", str, description="RFC 3339"),
]
DASHBOARD_TAGS = ["Dashboards"]


class WorkflowSummaryView(FlowkerAPIView):
    @extend_schema(
        operation_id="dashboardWorkflowSummary",
        summary="Workflow summary",
        description="How many workflows are in each status.",
        tags=DASHBOARD_TAGS,
        responses={
            200: inline_serializer(
                "WorkflowSummary",
                {
                    "total": serializers.IntegerField(),
                    "active": serializers.IntegerField(),
                    "byStatus": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **errors(),
        },
    )
    def get(self, request: Any) -> Response:
        return Response(dashboards.workflow_summary())


class ExecutionCountsView(FlowkerAPIView):
    @extend_schema(
        operation_id="dashboardExecutions",
        summary="Count executions by status",
        description="Executions per status over a time range, optionally for one workflow.",
        tags=DASHBOARD_TAGS,
        parameters=[*_WINDOW_PARAMS, OpenApiParameter("status", enum=ExecutionStatus.values)],
        responses={
            200: inline_serializer(
                "ExecutionCounts",
                {name: serializers.IntegerField() for name in ["total", *dashboards.STATUSES]},
            ),
            **errors(400),
        },
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        start, end = _window(params)
        status = params.get("status") or None
        if status and status not in dashboards.STATUSES:
            raise FlowkerError(
                "FLK-0302",
                f"invalid status, must be one of: {', '.join(dashboards.STATUSES)}",
            )
        return Response(dashboards.execution_counts(start=start, end=end, status=status))


class ExecutionTimeseriesView(FlowkerAPIView):
    @extend_schema(
        operation_id="dashboardExecutionTimeseries",
        summary="Executions over time",
        description=(
            "Execution counts per status in minute, hour or day buckets; empty buckets are zeros."
        ),
        tags=DASHBOARD_TAGS,
        parameters=[
            OpenApiParameter("interval", enum=list(dashboards.INTERVALS)),
            *_WINDOW_PARAMS,
            OpenApiParameter("workflowId", str),
        ],
        responses={
            200: inline_serializer(
                "ExecutionTimeseries",
                {
                    "interval": serializers.CharField(),
                    "items": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **errors(400),
        },
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        interval = params.get("interval") or "hour"
        if interval not in dashboards.INTERVALS:
            raise FlowkerError("FLK-0302", "interval must be minute, hour or day")
        start, end = _window(params, default_hours=24)
        if dashboards.bucket_count(interval, start, end) > dashboards.MAX_BUCKETS:
            raise FlowkerError(
                "FLK-0302",
                f"the window holds more than {dashboards.MAX_BUCKETS} {interval} buckets",
            )
        workflow_id = (
            parse_uuid(params["workflowId"], what="workflowId")
            if params.get("workflowId")
            else None
        )
        items = dashboards.execution_timeseries(
            interval=interval, start=start, end=end, workflow_id=workflow_id
        )
        for item in items:
            item["bucketStart"] = format_timestamp(item["bucketStart"])
        return Response({"interval": interval, "items": items})


class WorkflowPerformanceView(FlowkerAPIView):
    @extend_schema(
        operation_id="dashboardWorkflowPerformance",
        summary="Workflow performance",
        description=(
            "Per workflow over a time range: terminal executions, success rate and p50/p95 "
            "durations."
        ),
        tags=DASHBOARD_TAGS,
        parameters=_WINDOW_PARAMS,
        responses={
            200: inline_serializer(
                "WorkflowPerformance",
                {"items": serializers.ListField(child=serializers.DictField())},
            ),
            **errors(400),
        },
    )
    def get(self, request: Any) -> Response:
        start, end = _window(request.query_params, default_hours=24)
        return Response({"items": dashboards.workflow_performance(start=start, end=end)})
