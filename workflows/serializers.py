"""Workflows at the HTTP edge: the request shapes (with upstream's FLK codes for each limit)
and the camelCase responses (verify tokens masked)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from executions.choices import CALLBACK_EVENTS
from flowker.api.serializers import FlowkerSerializer, MetadataField, NumberField
from flowker.sealing import mask_value, unseal
from flowker.timefmt import format_timestamp
from workflows.choices import NodeType, WorkflowStatus
from workflows.models import Workflow
from workflows.secrets import mask_trigger_secrets
from workflows.validation import definition_warnings

ID_PATTERN = r"^[A-Za-z0-9_-]{1,50}$"


class PositionSerializer(FlowkerSerializer):
    x = NumberField()
    y = NumberField()


class NodeSerializer(FlowkerSerializer):
    _id_codes = {code: "FLK-0120" for code in ("required", "blank", "max_length", "invalid")}
    error_codes = {
        "id": _id_codes,
        "type": {code: "FLK-0121" for code in ("required", "blank", "invalid_choice")},
    }

    id = serializers.RegexField(ID_PATTERN, max_length=50)
    type = serializers.ChoiceField(NodeType.values)
    name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    # Optional, as upstream (which never enforces it): the guide's field-mapping example omits it.
    position = PositionSerializer(required=False, default=lambda: {"x": 0, "y": 0})
    data = serializers.DictField(required=False)


class EdgeSerializer(FlowkerSerializer):
    error_codes = {
        "id": {code: "FLK-0130" for code in ("required", "blank", "max_length", "invalid")},
        "source": {code: "FLK-0115" for code in ("required", "blank")},
        "target": {code: "FLK-0115" for code in ("required", "blank")},
    }

    id = serializers.RegexField(ID_PATTERN, max_length=50)
    source = serializers.CharField(max_length=50)
    target = serializers.CharField(max_length=50)
    sourceHandle = serializers.CharField(max_length=50, required=False)
    condition = serializers.CharField(max_length=500, required=False)
    label = serializers.CharField(max_length=50, required=False, allow_blank=True)


# A callback URL as the OpenAPI document states it and the server checks it: http(s), a host
# name or IPv4 address, an optional port, then a path.
# A port is 1–65535 (spelled out so the published pattern and the server agree on it).
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
CALLBACK_URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:" + _PORT + r")?(/[^\s]*)?$"


@extend_schema_field({"type": "string", "format": "uri", "pattern": CALLBACK_URL_PATTERN})
class CallbackURLField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(CALLBACK_URL_PATTERN, max_length=2000, **kwargs)
        self.error_messages["invalid"] = "must be an http or https URL with a host"


class CallbackSerializer(FlowkerSerializer):
    """A workflow's signed completion callback. Without `url`, only executions started with a
    `Callback-URL` header get one."""

    url = CallbackURLField(required=False)
    secret = serializers.CharField(max_length=500, write_only=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(CALLBACK_EVENTS),
        min_length=1,
        required=False,
        help_text="Terminal statuses that are called back (default: all three)",
    )


class WorkflowInputSerializer(FlowkerSerializer):
    """Body of POST /v1/workflows and PUT /v1/workflows/{id}."""

    error_codes = {
        "name": {"required": "FLK-0110", "blank": "FLK-0110", "max_length": "FLK-0111"},
        "nodes": {"max_length": "FLK-0113"},
        "edges": {"max_length": "FLK-0114"},
    }

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    nodes = NodeSerializer(many=True, required=False, max_length=100)
    edges = EdgeSerializer(many=True, required=False, max_length=200)
    metadata = MetadataField(required=False)
    callback = CallbackSerializer(required=False)


class CloneSerializer(FlowkerSerializer):
    error_codes = WorkflowInputSerializer.error_codes
    name = serializers.CharField(max_length=100)


class FromTemplateSerializer(FlowkerSerializer):
    templateId = serializers.CharField(max_length=100)
    params = serializers.DictField()


def plain(value: Any) -> Any:
    """Validated serializer data as plain dicts and lists (ordered as received)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def masked_callback(callback: dict[str, Any] | None) -> dict[str, Any] | None:
    """A workflow's callback as shown: its secret masked."""
    if not callback:
        return None
    return {**callback, "secret": mask_value(unseal(callback["secret"]))}


def masked_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nodes as shown: a trigger's sealed secrets (verify token, signature secret) masked."""
    return mask_trigger_secrets(nodes)


class WorkflowSerializer(serializers.Serializer):
    """WorkflowOutput."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    status = serializers.ChoiceField(WorkflowStatus.values)
    nodes = serializers.ListField(child=serializers.DictField())
    edges = serializers.ListField(child=serializers.DictField())
    metadata = serializers.DictField(required=False)
    callback = serializers.DictField(required=False, help_text="url?, secret (masked), events")
    createdAt = serializers.CharField()
    updatedAt = serializers.CharField()

    def to_representation(self, workflow: Workflow) -> dict[str, Any]:
        body: dict[str, Any] = {"id": str(workflow.pk), "name": workflow.name}
        if workflow.description:
            body["description"] = workflow.description
        body.update(
            status=workflow.status, nodes=masked_nodes(workflow.nodes), edges=workflow.edges
        )
        if workflow.metadata:
            body["metadata"] = workflow.metadata
        if workflow.callback:
            body["callback"] = masked_callback(workflow.callback)
        body.update(
            createdAt=format_timestamp(workflow.created_at),
            updatedAt=format_timestamp(workflow.updated_at),
        )
        return body


class WorkflowActivatedSerializer(WorkflowSerializer):
    """WorkflowOutput plus what the operator should know about the activated workflow."""

    warnings = serializers.ListField(child=serializers.CharField())

    def to_representation(self, workflow: Workflow) -> dict[str, Any]:
        body = super().to_representation(workflow)
        body["warnings"] = definition_warnings(workflow.pk, workflow.nodes)
        return body


class WorkflowCreatedSerializer(serializers.Serializer):
    """WorkflowCreateOutput (create, from-template, clone)."""

    workflowId = serializers.UUIDField()
    version = serializers.CharField()
    status = serializers.CharField()
    createdAt = serializers.CharField()

    def to_representation(self, workflow: Workflow) -> dict[str, Any]:
        return {
            "workflowId": str(workflow.pk),
            "version": "1.0.0",
            "status": workflow.status,
            "createdAt": format_timestamp(workflow.created_at),
        }
