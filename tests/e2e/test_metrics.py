"""Metrics moved by a real scenario: the worker (a separate process) and the web side write to
the node's metrics folder, and one scrape of /metrics sees both, by exactly the expected
amounts. The worker runs with a 0.25 s backoff base and a 2 s breaker reset."""

import pytest

from executions.models import Execution
from executions.tasks import refresh_gauges
from tests.e2e.helpers import (
    activate,
    call_workflow,
    run_to_end,
    single_call_workflow,
    wait_terminal,
)
from tests.factories import make_provider_config
from tests.flowker.test_metrics import scrape
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _delta(before: dict[str, float], after: dict[str, float], key: str) -> float:
    return after.get(key, 0) - before.get(key, 0)


def test_a_failing_provider_moves_calls_retries_breaker_and_failures(
    worker, stub_server, client_api, anon_client
):
    stub_server.on("POST", "/call", StubResponse(200, {"value": "ok"}))
    good = call_workflow(client_api, stub_server, name="metrics-good", provider_name="m-good")
    before = scrape(anon_client)
    for _ in range(3):
        assert run_to_end(client_api, good)["status"] == "completed"

    stub_server.on("POST", "/bad", StubResponse(500))
    bad_provider = make_provider_config(name="m-bad", base_url=stub_server.url)
    body = single_call_workflow(bad_provider.pk, name="metrics-bad", data={"path": "/bad"})
    bad = activate(client_api, body)
    first = run_to_end(client_api, bad)  # five 500s: four retries, then the breaker opens
    second = run_to_end(client_api, bad)  # refused by the open breaker
    assert first["error"]["code"] == "FLK-0504"
    assert second["error"]["code"] == "FLK-0507"
    refused = anon_client.post("/v1/webhooks/no/such/route", "{}", content_type="application/json")
    assert refused.status_code == 401
    refresh_gauges()
    after = scrape(anon_client)
    moved = lambda key: _delta(before, after, key)  # noqa: E731

    assert moved('flowker_executions_started_total{trigger="api",workflow="metrics-good"}') == 3
    assert moved('flowker_executions_started_total{trigger="api",workflow="metrics-bad"}') == 2
    ok = 'error_code="",status="completed",workflow="metrics-good"'
    assert moved(f"flowker_executions_finished_total{{{ok}}}") == 3
    assert (
        moved(
            'flowker_execution_duration_seconds_count{status="completed",workflow="metrics-good"}'
        )
        == 3
    )
    failed = 'status="failed",workflow="metrics-bad"'
    assert moved(f'flowker_executions_finished_total{{error_code="FLK-0504",{failed}}}') == 1
    assert moved(f'flowker_executions_finished_total{{error_code="FLK-0507",{failed}}}') == 1
    calls = (
        'flowker_provider_calls_total{{executor="http.request",outcome="{}",provider_config="{}"}}'
    )
    assert moved(calls.format("success", "m-good")) == 3
    assert moved(calls.format("http_5xx", "m-bad")) == 5
    assert moved(calls.format("breaker_open", "m-bad")) == 1
    assert (
        moved(
            'flowker_provider_call_duration_seconds_count{executor="http.request",'
            'provider_config="m-bad"}'
        )
        == 5
    )
    assert moved('flowker_retries_scheduled_total{provider_config="m-bad"}') == 4
    breaker = f"provider:{bad_provider.pk}"
    assert moved(f'flowker_circuit_breaker_transitions_total{{breaker="{breaker}",to="open"}}') == 1
    assert after[f'flowker_circuit_breaker_state{{breaker="{breaker}"}}'] == 2
    assert moved('flowker_webhook_requests_total{outcome="unauthorized",route="unmatched"}') == 1
    assert after['flowker_backlog_executions{status="pending"}'] == 0


def test_distinct_inputs_add_no_label_values(
    worker, stub_server, client_api, anon_client, settings
):
    settings.FLOWKER_MAX_BACKLOG = 0  # 1000 starts at once: no load shedding in this test
    stub_server.on("POST", "/call", StubResponse(200, {"value": "ok"}))
    workflow_id = call_workflow(client_api, stub_server, name="metrics-card", provider_name="m-c")
    run_to_end(client_api, workflow_id, {"customer": "warm-up"})
    refresh_gauges()  # the new configuration's breaker series exists before the count
    before = {series for series in scrape(anon_client) if series.startswith("flowker_")}
    markers = [f"marker-{n:04d}" for n in range(1000)]
    started = [
        client_api.post(
            f"/v1/workflows/{workflow_id}/executions",
            {"inputData": {"customer": marker, "amount": n}},
            format="json",
        ).status_code
        for n, marker in enumerate(markers)
    ]
    assert started == [201] * 1000
    for execution_id in Execution.objects.filter(workflow_id=workflow_id).values_list(
        "id", flat=True
    ):
        wait_terminal(client_api, str(execution_id), timeout=120)
    after = scrape(anon_client)
    new_series = {series for series in after if series.startswith("flowker_")} - before
    assert not any("marker-" in series for series in after)
    assert new_series == set(), new_series
