"""The chaos checker against real rows and a real provider call log: the guide's payment workflow
run by the engine (in this process) against the chaos stub (its own process), then counted."""

import os
import sys
from collections.abc import Iterator

import pytest
import requests
from django.db import connection

from executions.engine import runner
from executions.services import execution_start
from flowker.actors import Actor
from providers.services import provider_config_create
from tests.benchmarks import harness
from tests.chaos import checker
from tests.chaos.checker import Sent
from workflows.services import workflow_activate, workflow_create_from_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def chaos_stub(tmp_path) -> Iterator[str]:
    port = harness.free_port()
    stub = harness.Process(
        [sys.executable, "-m", "tests.chaos.stub", str(port)], dict(os.environ),
        tmp_path / "stub.log",
    )  # fmt: skip
    try:
        harness.wait_http(f"http://127.0.0.1:{port}/__log", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stub.stop()


@pytest.fixture
def workflow(chaos_stub):
    actor = Actor.system()
    provider = provider_config_create(
        name="chaos-ok", provider_id="http", config={"base_url": f"{chaos_stub}/ok"}, actor=actor
    )
    workflow = workflow_create_from_template(
        template_id="payment-fraud-check",
        params={"workflowName": "chaos-payments", "fraudProviderConfigId": str(provider.pk)},
        actor=actor,
    )
    return workflow_activate(workflow=workflow, actor=actor)


def _start(workflow, key: str):
    execution, _ = execution_start(
        workflow=workflow, input_data={"transactionId": key, "amount": 1500}, actor=Actor.system(),
        idempotency_key=key,
    )  # fmt: skip
    return execution


def _calls(stub_url: str):
    return checker.calls_by_step(requests.get(f"{stub_url}/__log", timeout=5).json()["calls"])


def _check(sent, stub_url):
    with connection.cursor() as cursor:
        return checker.check(cursor, sent, _calls(stub_url))


def test_executions_run_to_the_end_are_neither_lost_nor_duplicated(workflow, chaos_stub):
    for key in ("k-1", "k-2"):
        runner.run(_start(workflow, key).pk)
    result = _check([Sent("k-1", 201), Sent("k-2", 201)], chaos_stub)
    assert (result["accepted"], result["completed"], result["lost"]) == (2, 2, 0)
    assert result["duplicate_calls"] == 0
    assert sum(_calls(chaos_stub).values()) == 2  # one provider call per execution


def test_a_call_beyond_the_recorded_attempts_is_a_duplicate(workflow, chaos_stub):
    execution = _start(workflow, "k-dup")
    runner.run(execution.pk)
    step_key = f"{execution.pk}:check-fraud"
    # The same step's request sent once more, as a worker that did not record it would.
    requests.post(
        f"{chaos_stub}/ok/score-transaction", json={}, headers={"Idempotency-Key": step_key},
        timeout=5,
    )  # fmt: skip
    result = _check([Sent("k-dup", 201)], chaos_stub)
    assert result["duplicate_calls"] == 1
    assert result["examples"]["duplicate_steps"] == {step_key: 1}


def test_accepted_but_unfinished_or_missing_executions_are_lost(workflow, chaos_stub):
    _start(workflow, "k-pending")  # accepted, never run
    _start(workflow, "k-unanswered")  # committed, but its caller saw no answer
    sent = [
        Sent("k-pending", 201),
        Sent("k-missing", 201),  # answered 2xx, yet no row
        Sent("k-unanswered", 0),
        Sent("k-refused", 503, "FLK-0006", retry_after=True),
        Sent("k-broken", 500, "FLK-0000"),
        Sent("k-bare-503", 503),
    ]
    result = _check(sent, chaos_stub)
    assert result["accepted"] == 3 and result["accepted_without_answer"] == 1
    assert result["lost"] == 3
    assert result["refused"] == {
        "500 FLK-0000": 1, "503": 1, "503 FLK-0006": 1, "no answer": 1,
    }  # fmt: skip
    assert result["http_500"] == 1
    assert result["refusals_without_retry_after"] == 1
