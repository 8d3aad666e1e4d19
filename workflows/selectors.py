"""Reads of workflows used by more than one caller."""

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
    return any(
        node.get("type") == NodeType.EXECUTOR and str((node.get("data") or {}).get(key)) == value
        for node in workflow.nodes
        if isinstance(node, dict)
    )


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
