"""Reads of workflows used by more than one caller."""

import time
from typing import Any

from django.db.models import QuerySet

from flowker.errors import FlowkerError
from workflows.choices import NodeType, WorkflowStatus
from workflows.models import Workflow


def workflow_get(*, workflow_id: Any) -> Workflow:
    workflow = Workflow.objects.filter(pk=workflow_id).first()
    if workflow is None:
        raise FlowkerError("FLK-0100", "workflow not found")
    return workflow


def workflow_list(*, filters: dict[str, Any]) -> QuerySet[Workflow]:
    queryset = Workflow.objects.all()
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    return queryset


def _references(workflow: Workflow, key: str, value: str) -> bool:
    if key == "executorConfigId" and value in map(str, workflow.executor_bindings.values()):
        return True
    return any(
        node.get("type") == NodeType.EXECUTOR and str((node.get("data") or {}).get(key)) == value
        for node in workflow.nodes
        if isinstance(node, dict)
    )


def pinned_nodes(workflow: Workflow) -> list[dict[str, Any]]:
    """The workflow's nodes as an execution snapshots them: each node that names an endpoint
    carries the executor configuration it was pinned to at activation (`executorConfigId`)."""
    nodes = []
    for node in workflow.nodes:
        config_id = workflow.executor_bindings.get(node.get("id"))
        if config_id and node.get("type") == NodeType.EXECUTOR:
            node = {**node, "data": {**(node.get("data") or {}), "executorConfigId": config_id}}
        nodes.append(node)
    return nodes


def active_workflows_naming_endpoints(
    *, provider_config_id: Any, endpoint_names: set[str], except_config_id: Any
) -> list[str]:
    """Names of active workflows with a node that calls one of these endpoints of the provider
    configuration by name, pinned to another executor configuration (or to none)."""
    provider, pinned_here = str(provider_config_id), str(except_config_id)
    names = []
    for workflow in Workflow.objects.filter(status=WorkflowStatus.ACTIVE).only(
        "name", "nodes", "executor_bindings"
    ):
        for node in workflow.nodes:
            data = node.get("data") or {}
            if (
                node.get("type") == NodeType.EXECUTOR
                and str(data.get("providerConfigId")) == provider
                and data.get("endpointName") in endpoint_names
                and not data.get("executorConfigId")
                and str(workflow.executor_bindings.get(node.get("id"))) != pinned_here
            ):
                names.append(workflow.name)
                break
    return sorted(names)


def active_workflow_names_using(
    *, provider_config_id: Any = None, executor_config_id: Any = None
) -> list[str]:
    """Names of active workflows whose executor nodes reference the given configuration."""
    key, value = (
        ("providerConfigId", str(provider_config_id))
        if provider_config_id is not None
        else ("executorConfigId", str(executor_config_id))
    )
    active = Workflow.objects.filter(status=WorkflowStatus.ACTIVE).only("name", "nodes")
    return sorted(w.name for w in active.iterator() if _references(w, key, value))


def workflows_using(
    *, provider_config_id: Any = None, executor_config_id: Any = None
) -> list[Workflow]:
    """Workflows in any status whose executor nodes reference the configuration, by name."""
    key, value = (
        ("providerConfigId", str(provider_config_id))
        if provider_config_id is not None
        else ("executorConfigId", str(executor_config_id))
    )
    every = Workflow.objects.only("name", "status", "nodes").order_by("name")
    return [w for w in every.iterator() if _references(w, key, value)]


_NAMES_TTL_SECONDS = 60.0
_names: dict[str, tuple[float, str]] = {}


def workflow_name(*, workflow_id: Any) -> str:
    """A workflow's name for metric labels, kept a minute per process: executions end by the
    thousand, a rename shows within a minute, and this must not cost a query per execution."""
    key = str(workflow_id)
    cached = _names.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < _NAMES_TTL_SECONDS:
        return cached[1]
    name = Workflow.objects.filter(pk=workflow_id).values_list("name", flat=True).first()
    name = name if name is not None else key  # a deleted workflow keeps its executions
    _names[key] = (now, name)
    return name
