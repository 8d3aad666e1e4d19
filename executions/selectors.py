"""Reads of executions used by the API, the admin and the webhooks."""

from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Func,
    IntegerField,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    When,
)
from django.utils import timezone

from executions.choices import TERMINAL, ExecutionStatus
from executions.models import Execution, ExecutionStep
from flowker.errors import FlowkerError

LIST_FIELDS = (
    "id",
    "workflow_id",
    "status",
    "error",
    "total_steps",
    "current_step_number",
    "started_at",
    "completed_at",
    "retry_of_id",
)


def _step_count() -> Case:
    """Steps written so far, for executions still in progress (a terminal one shows its
    `current_step_number`, see the serializer): a correlated subquery over the step index, so
    PostgreSQL evaluates it only for the rows it returns (after the LIMIT of a list page),
    never the join-and-group over every execution that an aggregate annotation would be."""
    steps = (
        ExecutionStep.objects.filter(execution_id=OuterRef("pk"))
        .order_by()
        .annotate(count=Func("id", function="COUNT"))
        .values("count")
    )
    return Case(
        When(status__in=TERMINAL, then=None),
        default=Subquery(steps, output_field=IntegerField()),
        output_field=IntegerField(),
    )


def execution_get(*, execution_id: Any) -> Execution:
    execution = Execution.objects.annotate(step_count=_step_count()).filter(pk=execution_id).first()
    if execution is None:
        raise FlowkerError("FLK-0500", "execution not found")
    return execution


def execution_list(*, filters: dict[str, Any]) -> QuerySet[Execution]:
    queryset = Execution.objects.annotate(step_count=_step_count())
    if filters.get("workflowId"):
        queryset = queryset.filter(workflow_id=filters["workflowId"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    # Only what a list row shows (ExecutionSerializer): building 100 model instances costs
    # the list most of its CPU, and every column left out is one less to fetch and parse.
    return queryset.only(*LIST_FIELDS)


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
