"""Dashboard percentiles are computed in the database (nearest rank): PostgreSQL's
percentile_disc and the window-function fallback used on SQLite agree, and a dashboard reads
a few rows per workflow, never every duration."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from executions.choices import TERMINAL
from executions.dashboards import _ranked_percentiles, duration_percentiles, workflow_performance
from executions.models import Execution
from executions.services import execution_start
from flowker.actors import Actor
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


def _workflow(name: str):
    provider = make_provider_config(name=f"p-{name}")
    body = {**guide_workflow(provider.pk), "name": name}
    workflow = workflow_create(data=body, actor=Actor.system())
    return workflow_activate(workflow=workflow, actor=Actor.system())


def _ran(workflow, seconds: float, status: str = "completed") -> None:
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    started = Execution.objects.get(pk=execution.pk).started_at
    Execution.objects.filter(pk=execution.pk).update(
        status=status, completed_at=started + datetime.timedelta(seconds=seconds)
    )


class RowsRead:
    """Counts the rows every SELECT returned, through Django's execute wrapper."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("SELECT"):
            self.rows += max(context["cursor"].rowcount, 0)
        return result


@pytest.fixture
def two_workflows():
    fast, slow = _workflow("fast"), _workflow("slow")
    for second in range(1, 21):  # 1 s … 20 s
        _ran(fast, second, "completed" if second % 4 else "failed")
    for second in (3, 1, 2):
        _ran(slow, second * 10)


def _window() -> dict:
    now = timezone.now()
    return {"start": now - datetime.timedelta(hours=1), "end": now + datetime.timedelta(hours=1)}


def test_percentiles_are_nearest_rank_per_workflow(two_workflows):
    items = {item["workflowName"]: item for item in workflow_performance(**_window())}
    assert (items["fast"]["p50DurationMs"], items["fast"]["p95DurationMs"]) == (10_000, 19_000)
    assert (items["slow"]["p50DurationMs"], items["slow"]["p95DurationMs"]) == (20_000, 30_000)
    assert (items["fast"]["total"], items["fast"]["failed"]) == (20, 5)


def test_the_sqlite_fallback_agrees_with_percentile_disc(two_workflows):
    terminal = Execution.objects.filter(status__in=TERMINAL)
    assert connection.vendor == "postgresql"  # so duration_percentiles took percentile_disc
    assert _ranked_percentiles(terminal) == duration_percentiles(terminal)
    assert len(duration_percentiles(terminal)) == 2


def test_the_performance_dashboard_never_loads_every_duration(two_workflows):
    reads = RowsRead()
    with connection.execute_wrapper(reads):
        workflow_performance(**_window())
    # 23 terminal executions: percentiles (one row per workflow), counts (one per workflow)
    # and the two names — never one row per execution.
    assert reads.rows <= 6

    terminal = Execution.objects.filter(status__in=TERMINAL)
    reads = RowsRead()
    with connection.execute_wrapper(reads):
        _ranked_percentiles(terminal)
    assert reads.rows <= 4  # the two ranked rows of each workflow
