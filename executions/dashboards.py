"""Dashboard figures (upstream §4.8 plus CONTRACT §10), computed in the database."""

import datetime
import math
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from executions.choices import TERMINAL, ExecutionStatus
from executions.models import Execution
from workflows.models import Workflow

INTERVALS = {
    "minute": (TruncMinute, datetime.timedelta(minutes=1)),
    "hour": (TruncHour, datetime.timedelta(hours=1)),
    "day": (TruncDay, datetime.timedelta(days=1)),
}
MAX_BUCKETS = 1000
STATUSES = [status.value for status in ExecutionStatus]


def workflow_summary() -> dict[str, Any]:
    rows = Workflow.objects.values("status").annotate(count=Count("id")).order_by("status")
    by_status = [{"status": row["status"], "count": row["count"]} for row in rows]
    return {
        "total": sum(row["count"] for row in by_status),
        "active": next((row["count"] for row in by_status if row["status"] == "active"), 0),
        "byStatus": by_status,
    }


def _window(queryset: Any, start: Any, end: Any) -> Any:
    if start is not None:
        queryset = queryset.filter(started_at__gte=start)
    if end is not None:
        queryset = queryset.filter(started_at__lte=end)
    return queryset


def execution_counts(*, start: Any = None, end: Any = None, status: str | None = None) -> dict:
    queryset = _window(Execution.objects.all(), start, end)
    if status:
        queryset = queryset.filter(status=status)
    counts = queryset.aggregate(
        total=Count("id"),
        **{name: Count("id", filter=Q(status=name)) for name in STATUSES},
    )
    return {"total": counts["total"], **{name: counts[name] for name in STATUSES}}


def execution_timeseries(
    *, interval: str, start: datetime.datetime, end: datetime.datetime, workflow_id: Any = None
) -> list[dict[str, Any]]:
    trunc, step = INTERVALS[interval]
    queryset = _window(Execution.objects.all(), start, end)
    if workflow_id is not None:
        queryset = queryset.filter(workflow_id=workflow_id)
    rows = (
        queryset.annotate(bucket=trunc("started_at", tzinfo=datetime.UTC))
        .values("bucket")
        .annotate(total=Count("id"), **{s: Count("id", filter=Q(status=s)) for s in STATUSES})
    )
    found = {row["bucket"]: row for row in rows}
    bucket = _floor(start, interval)
    items = []
    while bucket <= end:
        row = found.get(bucket, {})
        items.append(
            {
                "bucketStart": bucket,
                "total": row.get("total", 0),
                **{s: row.get(s, 0) for s in STATUSES},
            }
        )
        bucket += step
    return items


def bucket_count(interval: str, start: datetime.datetime, end: datetime.datetime) -> int:
    _, step = INTERVALS[interval]
    return int((end - _floor(start, interval)) / step) + 1


def _floor(moment: datetime.datetime, interval: str) -> datetime.datetime:
    moment = moment.astimezone(datetime.UTC)
    if interval == "minute":
        return moment.replace(second=0, microsecond=0)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _percentile(sorted_values: list[float], fraction: float) -> int | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(len(sorted_values) * fraction))
    return round(sorted_values[rank - 1])


def workflow_performance(*, start: datetime.datetime, end: datetime.datetime) -> list[dict]:
    """Per workflow, over terminal executions started in the window."""
    terminal = _window(Execution.objects.filter(status__in=TERMINAL), start, end)
    durations: dict[Any, list[float]] = {}
    rows = terminal.annotate(
        took=ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField())
    ).values_list("workflow_id", "took")
    for workflow_id, took in rows.iterator():
        if took is not None:
            durations.setdefault(workflow_id, []).append(took.total_seconds() * 1000)
    counts = terminal.values("workflow_id").annotate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=ExecutionStatus.COMPLETED)),
        failed=Count("id", filter=Q(status=ExecutionStatus.FAILED)),
    )
    names = dict(Workflow.objects.values_list("id", "name"))
    items = []
    for row in counts.order_by("workflow_id"):
        values = sorted(durations.get(row["workflow_id"], []))
        total = row["total"]
        items.append(
            {
                "workflowId": str(row["workflow_id"]),
                "workflowName": names.get(row["workflow_id"]),
                "total": total,
                "completed": row["completed"],
                "failed": row["failed"],
                "successRate": round(row["completed"] / total, 4) if total else None,
                "p50DurationMs": _percentile(values, 0.5),
                "p95DurationMs": _percentile(values, 0.95),
            }
        )
    return items
