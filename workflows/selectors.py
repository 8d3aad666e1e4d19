"""Reads of workflows used by more than one caller."""

from typing import Any

from workflows.choices import NodeType, WorkflowStatus
from workflows.models import Workflow


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
