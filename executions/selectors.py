"""Reads of executions used by the API, the admin and the webhooks."""

from typing import Any

from django.db.models import BooleanField, Case, Count, Min, QuerySet, When
from django.utils import timezone

from executions.choices import TERMINAL, ExecutionStatus
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


def execution_backlog() -> tuple[dict[str, int], float]:
    """({pending, running, waiting_retry: count}, age in seconds of the oldest pending one):
    one grouped read over the status index, for beat's gauges."""
    now = timezone.now()
    rows = (
        Execution.objects.filter(status__in=(ExecutionStatus.PENDING, ExecutionStatus.RUNNING))
        .annotate(
            waiting=Case(
                When(lease_owner="", lease_expires_at__gt=now, then=True),
                default=False,
                output_field=BooleanField(),
            )
        )
        .values("status", "waiting")
        .annotate(count=Count("id"), oldest=Min("started_at"))
        .order_by()
    )
    counts = {"pending": 0, "running": 0, "waiting_retry": 0}
    oldest_pending = 0.0
    for row in rows:
        if row["status"] == ExecutionStatus.PENDING:
            counts["pending"] += row["count"]
            oldest_pending = max(oldest_pending, (now - row["oldest"]).total_seconds())
        elif row["waiting"]:
            counts["waiting_retry"] += row["count"]
        else:
            counts["running"] += row["count"]
    return counts, oldest_pending
