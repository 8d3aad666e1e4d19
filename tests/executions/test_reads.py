"""The execution list and the dashboards give the same answers as a plain sort and count of
the rows, for every filter, sort and cursor page, and a list page costs a fixed number of
queries whatever its size (no per-row query, no join of every execution to its steps)."""

import datetime
import itertools

import pytest
from django.utils import timezone

from executions.choices import TERMINAL
from executions.models import Execution, ExecutionStep
from executions.services import execution_start
from flowker.actors import Actor
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

# (workflow, status, minutes ago started, seconds it took or None, steps written)
ROWS = [
    (0, "completed", 300, 2, 4),
    (0, "failed", 250, 5, 2),
    (1, "completed", 250, 1, 4),  # same start as the one before: the id breaks the tie
    (1, "cancelled", 200, 7, 1),
    (0, "running", 150, None, 3),
    (1, "pending", 120, None, 0),
    (0, "completed", 90, 1, 4),
    (1, "failed", 60, 3, 2),
    (0, "running", 30, None, 1),
    (1, "completed", 30, 2, 4),
    (0, "failed", 10, 2, 2),
    (1, "completed", 5, 2, 4),
    (0, "completed", 2000, 9, 4),  # a day and more ago
]


def _workflow(name: str):
    provider = make_provider_config(name=f"p-{name}")
    body = {**guide_workflow(provider.pk), "name": name}
    workflow = workflow_create(data=body, actor=Actor.system())
    return workflow_activate(workflow=workflow, actor=Actor.system())


@pytest.fixture
def history():
    workflows = [_workflow("reads-a"), _workflow("reads-b")]
    now = timezone.now().replace(microsecond=0)
    for index, (workflow, status, ago, took, steps) in enumerate(ROWS):
        execution, _ = execution_start(
            workflow=workflows[workflow], input_data={"n": index}, actor=Actor.system()
        )
        started = now - datetime.timedelta(minutes=ago)
        Execution.objects.filter(pk=execution.pk).update(
            status=status,
            started_at=started,
            completed_at=None if took is None else started + datetime.timedelta(seconds=took),
            total_steps=4,
            current_step_number=steps if status in TERMINAL else 0,
        )
        ExecutionStep.objects.bulk_create(
            ExecutionStep(
                execution_id=execution.pk,
                step_number=number,
                node_id=f"node-{number}",
                node_type="action",
                step_name=f"step {number}",
                status="completed",
                started_at=started,
            )
            for number in range(1, steps + 1)
        )
    return workflows


def _expected(sort_field: str, descending: bool, **filters) -> list[Execution]:
    rows = [row for row in Execution.objects.filter(**filters)]
    present = [row for row in rows if getattr(row, sort_field) is not None]
    missing = [row for row in rows if getattr(row, sort_field) is None]
    present.sort(key=lambda row: (getattr(row, sort_field), row.pk), reverse=descending)
    missing.sort(key=lambda row: row.pk, reverse=descending)
    return present + missing  # NULLs last in both orders


def _walk(client, query: str, limit: int) -> list[dict]:
    items, cursor = [], ""
    for _ in range(50):
        suffix = f"&cursor={cursor}" if cursor else ""
        page = client.get(f"/v1/executions?limit={limit}&{query}{suffix}").json()
        items += page["items"]
        if not page["hasMore"]:
            return items
        cursor = page["nextCursor"]
    raise AssertionError("the cursor never reached the end")


def _current_step(execution: Execution) -> int:
    if execution.status in TERMINAL:
        return execution.current_step_number
    return execution.steps.count()


@pytest.mark.parametrize(
    ("sort_by", "field"), [("startedAt", "started_at"), ("completedAt", "completed_at")]
)
@pytest.mark.parametrize("order", ["DESC", "ASC"])
def test_every_filter_and_sort_pages_through_the_same_rows_as_a_plain_sort(
    client_api, history, sort_by, field, order
):
    first = str(history[0].pk)
    filters = [
        ("", {}),
        ("status=failed", {"status": "failed"}),
        ("status=running", {"status": "running"}),
        (f"workflowId={first}", {"workflow_id": first}),
        (f"workflowId={first}&status=completed", {"workflow_id": first, "status": "completed"}),
    ]
    for (query, where), limit in itertools.product(filters, (1, 3, 100)):
        expected = _expected(field, order == "DESC", **where)
        got = _walk(client_api, f"sortBy={sort_by}&sortOrder={order}&{query}", limit)
        assert [item["executionId"] for item in got] == [str(row.pk) for row in expected], (
            query,
            limit,
        )
        assert [item["currentStepNumber"] for item in got] == [
            _current_step(row) for row in expected
        ]


def test_an_execution_in_progress_shows_the_steps_written_so_far(client_api, history):
    running = Execution.objects.filter(status="running").order_by("started_at").first()
    body = client_api.get(f"/v1/executions/{running.pk}").json()
    assert body["status"] == "running" and body["currentStepNumber"] == 3
    pending = Execution.objects.get(status="pending")
    assert client_api.get(f"/v1/executions/{pending.pk}").json()["currentStepNumber"] == 0
    done = Execution.objects.filter(status="cancelled").get()
    assert client_api.get(f"/v1/executions/{done.pk}").json()["currentStepNumber"] == 1


def test_a_list_page_costs_the_same_queries_whatever_its_size(
    client_api, history, django_assert_max_num_queries
):
    client_api.get("/v1/executions?limit=1")  # warm whatever the API key check caches
    # Authentication (key lookup and last-use stamp) plus the page itself: one query for the
    # rows and their step counts, none per row.
    with django_assert_max_num_queries(3) as small:
        assert len(client_api.get("/v1/executions?limit=2").json()["items"]) == 2
    with django_assert_max_num_queries(3) as large:
        assert len(client_api.get("/v1/executions?limit=100").json()["items"]) == len(ROWS)
    assert len(large.captured_queries) == len(small.captured_queries)
    page = [query["sql"] for query in large.captured_queries if "executions_exec" in query["sql"]]
    assert len(page) == 1 and "GROUP BY" not in page[0].upper()


def _counts(**where) -> dict[str, int]:
    rows = list(Execution.objects.filter(**where).values_list("status", flat=True))
    statuses = ["pending", "running", "completed", "failed", "cancelled"]
    return {"total": len(rows), **{status: rows.count(status) for status in statuses}}


def test_dashboard_counts_equal_a_count_of_the_rows(client_api, history):
    now = timezone.now()
    day_ago = now - datetime.timedelta(hours=24)
    stamp = day_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client_api.get("/v1/dashboards/executions").json() == _counts()
    windowed = client_api.get(f"/v1/dashboards/executions?startTime={stamp}").json()
    assert windowed == _counts(started_at__gte=day_ago.replace(microsecond=0))
    assert windowed["total"] == len(ROWS) - 1
    failed = client_api.get("/v1/dashboards/executions?status=failed").json()
    assert failed == _counts(status="failed") and failed["total"] == 3


def test_dashboard_timeseries_buckets_equal_the_rows(client_api, history):
    body = client_api.get("/v1/dashboards/executions/timeseries?interval=hour").json()
    assert sum(item["total"] for item in body["items"]) == len(ROWS) - 1
    for item in body["items"]:
        start = datetime.datetime.fromisoformat(item["bucketStart"].replace("Z", "+00:00"))
        where = {"started_at__gte": start, "started_at__lt": start + datetime.timedelta(hours=1)}
        assert item == {"bucketStart": item["bucketStart"], **_counts(**where)}
