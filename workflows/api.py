"""/v1/workflows: definitions and their lifecycle."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response

from flowker.actors import actor_from_request
from flowker.api.openapi import errors, paginated
from flowker.api.pagination import KeysetPaginator
from flowker.api.views import FlowkerAPIView, enum_param, json_body
from workflows import selectors, services
from workflows.choices import WorkflowStatus
from workflows.serializers import (
    CloneSerializer,
    FromTemplateSerializer,
    WorkflowActivatedSerializer,
    WorkflowCreatedSerializer,
    WorkflowInputSerializer,
    WorkflowSerializer,
    plain,
)

SORT_FIELDS = {"createdAt": "created_at", "updatedAt": "updated_at", "name": "name"}
TAGS = ["Workflows"]


def _validated(serializer_class: Any, request: Any) -> dict[str, Any]:
    serializer = serializer_class(data=json_body(request))
    serializer.is_valid(raise_exception=True)
    return plain(serializer.validated_data)


def _output(workflow: Any) -> dict[str, Any]:
    return WorkflowSerializer(workflow).data


class WorkflowListView(FlowkerAPIView):
    @extend_schema(
        operation_id="createWorkflow",
        summary="Create a workflow",
        description=(
            "A draft workflow: nodes (trigger, executor, conditional, action) and the edges "
            "between them, checked at save."
        ),
        tags=TAGS,
        request=WorkflowInputSerializer,
        responses={201: WorkflowCreatedSerializer, **errors(400, 404, 409, 413, 422)},
    )
    def post(self, request: Any) -> Response:
        data = _validated(WorkflowInputSerializer, request)
        workflow = services.workflow_create(data=data, actor=actor_from_request(request))
        return Response(WorkflowCreatedSerializer(workflow).data, status=201)

    @extend_schema(
        operation_id="listWorkflows",
        summary="List workflows",
        description="Workflows with their status, with filters and cursor pagination.",
        tags=TAGS,
        parameters=[
            OpenApiParameter("status", enum=WorkflowStatus.values),
            OpenApiParameter("limit", int, description="1-100, default 10"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("sortBy", enum=list(SORT_FIELDS)),
            OpenApiParameter("sortOrder", enum=["ASC", "DESC"]),
        ],
        responses={200: paginated(WorkflowSerializer, "WorkflowList"), **errors(400)},
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        filters = {"status": enum_param(params, "status", WorkflowStatus)}
        paginator = KeysetPaginator(
            params=params, sort_fields=SORT_FIELDS, default_sort="createdAt", filters=filters
        )
        page = paginator.paginate(selectors.workflow_list(filters=filters))
        return Response(page.as_response(_output))


class WorkflowFromTemplateView(FlowkerAPIView):
    @extend_schema(
        operation_id="createWorkflowFromTemplate",
        summary="Create a workflow from a template",
        description=(
            "Builds a draft workflow from a catalog template and its parameters (422 FLK-0242 for "
            "bad parameters)."
        ),
        tags=TAGS,
        request=FromTemplateSerializer,
        responses={201: WorkflowCreatedSerializer, **errors(400, 404, 409, 413, 422)},
    )
    def post(self, request: Any) -> Response:
        data = _validated(FromTemplateSerializer, request)
        workflow = services.workflow_create_from_template(
            template_id=data["templateId"], params=data["params"], actor=actor_from_request(request)
        )
        return Response(WorkflowCreatedSerializer(workflow).data, status=201)


class WorkflowDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getWorkflow",
        summary="Get a workflow",
        description="One workflow definition, verify tokens masked.",
        tags=TAGS,
        responses={200: WorkflowSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        return Response(_output(selectors.workflow_get(workflow_id=id)))

    @extend_schema(
        operation_id="updateWorkflow",
        summary="Replace a draft workflow",
        description=(
            "Replaces the name, description, nodes and edges of a draft; metadata is merged."
        ),
        tags=TAGS,
        request=WorkflowInputSerializer,
        responses={200: WorkflowSerializer, **errors(400, 404, 409, 413, 422)},
    )
    def put(self, request: Any, id: Any) -> Response:
        workflow = selectors.workflow_get(workflow_id=id)
        data = _validated(WorkflowInputSerializer, request)
        updated = services.workflow_update(
            workflow=workflow, data=data, actor=actor_from_request(request)
        )
        return Response(_output(updated))

    @extend_schema(
        operation_id="deleteWorkflow",
        summary="Delete a workflow",
        description="Deletes a draft or inactive workflow.",
        tags=TAGS,
        responses={204: None, **errors(400, 404, 409, 422)},
    )
    def delete(self, request: Any, id: Any) -> Response:
        workflow = selectors.workflow_get(workflow_id=id)
        services.workflow_delete(workflow=workflow, actor=actor_from_request(request))
        return Response(status=204)


class WorkflowCloneView(FlowkerAPIView):
    @extend_schema(
        operation_id="cloneWorkflow",
        summary="Clone a workflow",
        description="A new draft copy under another name.",
        tags=TAGS,
        request=CloneSerializer,
        responses={201: WorkflowCreatedSerializer, **errors(400, 404, 409, 413)},
    )
    def post(self, request: Any, id: Any) -> Response:
        workflow = selectors.workflow_get(workflow_id=id)
        data = _validated(CloneSerializer, request)
        clone = services.workflow_clone(
            workflow=workflow, name=data["name"], actor=actor_from_request(request)
        )
        return Response(WorkflowCreatedSerializer(clone).data, status=201)


class _WorkflowCommand(FlowkerAPIView):
    command: Any
    output: Any = WorkflowSerializer

    def post(self, request: Any, id: Any) -> Response:
        workflow = selectors.workflow_get(workflow_id=id)
        changed = type(self).command(workflow=workflow, actor=actor_from_request(request))
        return Response(self.output(changed).data)


def _command_schema(
    operation_id: str, summary: str, description: str, output: Any = WorkflowSerializer
) -> Any:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            description=description,
            tags=TAGS,
            request=None,
            responses={200: output, **errors(400, 404, 409, 422)},
        )
    )


@_command_schema(
    "activateWorkflow",
    "Activate a workflow",
    "draft → active: full validation, webhook routes registered, endpoint names pinned to "
    "their executor configurations, tested executor configurations activated. `warnings` says "
    "what the operator should know, e.g. that a webhook trigger without a path is started "
    "with POST /v1/workflows/{id}/executions.",
    WorkflowActivatedSerializer,
)
class WorkflowActivateView(_WorkflowCommand):
    command = services.workflow_activate
    output = WorkflowActivatedSerializer


@_command_schema(
    "deactivateWorkflow",
    "Deactivate a workflow",
    "active → inactive; its webhook routes are removed.",
)
class WorkflowDeactivateView(_WorkflowCommand):
    command = services.workflow_deactivate


@_command_schema(
    "draftWorkflow", "Move a workflow back to draft", "inactive → draft, so that it can be edited."
)
class WorkflowDraftView(_WorkflowCommand):
    command = services.workflow_draft
