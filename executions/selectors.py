"""Reads of executions used by the API, the admin and the webhooks."""

from typing import Any

from django.db.models import Count, QuerySet

from executions.choices import TERMINAL
from executions.models import Execution
from flowker.errors import FlowkerError


def execution_get(*, execution_id: Any) -> Execution:
    execution = (
        Execution.objects.annotate(step_count=Count("steps")).filter(pk=execution_id).first()
    )
    if execution is None:
        raise FlowkerError("FLK-0500", "execution not found")
    return execution


def execution_list(*, filters: dict[str, Any]) -> QuerySet[Execution]:
    queryset = Execution.objects.annotate(step_count=Count("steps"))
    if filters.get("workflowId"):
        queryset = queryset.filter(workflow_id=filters["workflowId"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    return queryset.defer("input_data", "nodes", "edges", "output_data")


def execution_is_terminal(execution_id: Any) -> bool:
    status = Execution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
    return status in TERMINAL
