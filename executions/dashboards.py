"""Dashboard figures (upstream §4.8 plus CONTRACT §10), computed in the database."""

import datetime
import math
from typing import Any

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import RowNumber, TruncDay, TruncHour, TruncMinute

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


class PercentileDisc(Aggregate):
    """PostgreSQL's `percentile_disc(f) WITHIN GROUP (ORDER BY …)`: the nearest-rank
    percentile (the first value whose cumulative share reaches `f`)."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, *, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction), output_field=DurationField())


def _took() -> ExpressionWrapper:
    return ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField())


def _ms(took: datetime.timedelta | None) -> int | None:
    return None if took is None else round(took.total_seconds() * 1000)


def duration_percentiles(terminal: QuerySet) -> dict[Any, tuple[int | None, int | None]]:
    """{workflow id: (p50, p95)} of execution durations in ms, nearest-rank, computed in the
    database: `percentile_disc` on PostgreSQL; elsewhere (SQLite, the embedded mode) window
    functions rank each workflow's durations and only the two ranked rows come back."""
    timed = terminal.filter(completed_at__isnull=False)
    if connections[terminal.db].vendor == "postgresql":
        rows = (
            timed.values("workflow_id")
            .annotate(
                p50=PercentileDisc(_took(), fraction=0.5),
                p95=PercentileDisc(_took(), fraction=0.95),
            )
            .values_list("workflow_id", "p50", "p95")
        )
        return {workflow_id: (_ms(p50), _ms(p95)) for workflow_id, p50, p95 in rows}
    return _ranked_percentiles(timed)


def _ranked_percentiles(timed: QuerySet) -> dict[Any, tuple[int | None, int | None]]:
    """Nearest rank without percentile functions: row k = ceil(n × f) of each workflow's
    durations in order (k ≥ 1), picked by a filter on the window functions."""
    by_workflow = {"partition_by": [F("workflow_id")]}
    ranked = timed.annotate(
        took=_took(),
        rank=Window(RowNumber(), order_by=[F("took").asc(), F("id").asc()], **by_workflow),
        size=Window(Count("id"), **by_workflow),
    )
    # rank = ceil(n × f)  ⇔  n × f ≤ rank < n × f + 1  (n × f > 0)
    picked = Q()
    for fraction in (0.5, 0.95):
        share = ExpressionWrapper(F("size") * Value(fraction), output_field=FloatField())
        picked |= Q(rank__gte=share, rank__lt=share + 1)
    rows = ranked.filter(picked).values_list("workflow_id", "rank", "size", "took")
    found: dict[Any, dict[float, int | None]] = {}
    for workflow_id, rank, size, took in rows:
        for fraction in (0.5, 0.95):
            if rank == max(1, math.ceil(size * fraction)):
                found.setdefault(workflow_id, {})[fraction] = _ms(took)
    return {key: (value.get(0.5), value.get(0.95)) for key, value in found.items()}


def workflow_performance(*, start: datetime.datetime, end: datetime.datetime) -> list[dict]:
    """Per workflow, over terminal executions started in the window."""
    terminal = _window(Execution.objects.filter(status__in=TERMINAL), start, end)
    percentiles = duration_percentiles(terminal)
    counts = terminal.values("workflow_id").annotate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=ExecutionStatus.COMPLETED)),
        failed=Count("id", filter=Q(status=ExecutionStatus.FAILED)),
    )
    rows = list(counts.order_by("workflow_id"))
    names = dict(
        Workflow.objects.filter(pk__in=[row["workflow_id"] for row in rows]).values_list(
            "id", "name"
        )
    )
    items = []
    for row in rows:
        p50, p95 = percentiles.get(row["workflow_id"], (None, None))
        total = row["total"]
        items.append(
            {
                "workflowId": str(row["workflow_id"]),
                "workflowName": names.get(row["workflow_id"]),
                "total": total,
                "completed": row["completed"],
                "failed": row["failed"],
                "successRate": round(row["completed"] / total, 4) if total else None,
                "p50DurationMs": p50,
                "p95DurationMs": p95,
            }
        )
    return items
