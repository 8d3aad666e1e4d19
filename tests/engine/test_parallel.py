"""Parallel branches, run in process (real database, provider stub, no worker): the two calls
after a fork overlap, a join waits for both, a failing branch lets the other's call finish and
be recorded, a waiting retry blocks no other branch, a cancel stops them all, and a resumed
execution re-runs exactly the calls left in flight. Each branch's thread has its own
connection, so these tests commit (transaction=True)."""

import datetime

import pytest
from django.db import connections
from django.utils import timezone

from executions import services
from executions.engine import runner
from executions.engine.state import Run
from executions.models import Execution, ExecutionStep
from flowker.actors import Actor
from tests.factories import make_provider_config
from tests.guide import parallel_workflow
from tests.support.stub_server import StubResponse, stub_server  # noqa: F401 - a fixture
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db(transaction=True)

FRAUD = StubResponse(200, {"score": 12}, delay=0.3)
KYC = StubResponse(200, {"level": 3}, delay=0.3)


@pytest.fixture
def execution(stub_server, settings):  # noqa: F811
    # Sent to a queue no worker consumes: when the suite's e2e worker is up, it must not take
    # the execution these tests run in process.
    settings.FLOWKER_EXECUTION_QUEUE = "engine-tests-in-process"
    provider = make_provider_config(base_url=stub_server.url)
    workflow = workflow_create(data=parallel_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    started, _ = services.execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    return started


def _steps(execution) -> dict[str, ExecutionStep]:
    return {step.node_id: step for step in ExecutionStep.objects.filter(execution=execution)}


def _overlap(a: ExecutionStep, b: ExecutionStep) -> bool:
    return a.started_at < b.completed_at and b.started_at < a.completed_at


def test_the_calls_after_a_fork_run_at_the_same_time_and_the_join_waits_for_both(
    execution,
    stub_server,  # noqa: F811
):
    stub_server.on("POST", "/fraud", FRAUD)
    stub_server.on("POST", "/kyc", KYC)

    assert runner.run(execution.pk) == runner.DONE

    done = Execution.objects.get(pk=execution.pk)
    assert done.status == "completed", done.error
    assert done.output_data == {"score": 12, "level": 3}
    steps = _steps(execution)
    assert {node: step.status for node, step in steps.items()} == {
        "fraud": "completed",
        "kyc": "completed",
        "decide": "completed",
        "approve": "completed",
        "reject": "skipped",
    }
    assert _overlap(steps["fraud"], steps["kyc"])
    assert steps["decide"].started_at >= max(s.completed_at for s in (steps["fraud"], steps["kyc"]))
    by_number = sorted(steps.values(), key=lambda step: step.step_number)
    assert [step.step_number for step in by_number] == [1, 2, 3, 4, 5]
    starts = [step.started_at for step in by_number]
    assert starts == sorted(starts)
    assert len(stub_server.requests("POST", "/fraud")) == len(stub_server.requests("POST", "/kyc"))


def test_max_parallel_calls_bounds_the_calls_in_flight(execution, stub_server, settings):  # noqa: F811
    settings.FLOWKER_MAX_PARALLEL_CALLS = 1
    stub_server.on("POST", "/fraud", FRAUD)
    stub_server.on("POST", "/kyc", KYC)

    assert runner.run(execution.pk) == runner.DONE

    steps = _steps(execution)
    assert Execution.objects.get(pk=execution.pk).status == "completed"
    assert not _overlap(steps["fraud"], steps["kyc"])


def test_a_failing_branch_fails_the_execution_after_the_other_call_is_recorded(
    execution,
    stub_server,  # noqa: F811
):
    stub_server.on("POST", "/fraud", StubResponse(422, {"error": "bad card"}))
    stub_server.on("POST", "/kyc", KYC)

    assert runner.run(execution.pk) == runner.DONE

    failed = Execution.objects.get(pk=execution.pk)
    assert failed.status == "failed"
    assert (failed.error["code"], failed.error["nodeId"]) == ("FLK-0504", "fraud")
    steps = _steps(execution)
    assert steps["fraud"].status == "failed"
    assert steps["kyc"].status == "completed" and steps["kyc"].output["level"] == 3
    assert set(steps) == {"fraud", "kyc"}  # nothing after the join ran


def test_a_branch_waiting_for_its_retry_does_not_block_the_other(
    execution,
    stub_server,  # noqa: F811
    settings,
):
    settings.FLOWKER_RETRY_BACKOFF_SECONDS = 0.1
    stub_server.on("POST", "/fraud", StubResponse(503), StubResponse(200, {"score": 12}))
    # KYC answers slowly enough that fraud's first attempt and its 0.1 s backoff end well before
    # it, even when a busy machine delays a thread's first connection by a second or more.
    stub_server.on("POST", "/kyc", StubResponse(200, {"level": 3}, delay=2.5))

    assert runner.run(execution.pk) == runner.DONE

    assert Execution.objects.get(pk=execution.pk).status == "completed"
    steps = _steps(execution)
    assert [a["outcome"] for a in steps["fraud"].attempts] == ["failed", "completed"]
    # The retry ran (after its backoff) while the KYC call was still in flight.
    second = datetime.datetime.fromisoformat(steps["fraud"].attempts[1]["startedAt"])
    assert second < steps["kyc"].completed_at
    assert len(stub_server.requests("POST", "/kyc")) == 1


def test_the_lease_is_handed_back_until_the_earliest_retry_once_no_call_is_in_flight(
    execution,
    stub_server,  # noqa: F811
    settings,
):
    settings.FLOWKER_RETRY_BACKOFF_SECONDS = 30
    stub_server.on("POST", "/fraud", StubResponse(503))
    stub_server.on("POST", "/kyc", StubResponse(200, {"level": 3}))

    assert runner.run(execution.pk) == runner.WAITING

    steps = _steps(execution)
    assert steps["kyc"].status == "completed"
    assert steps["fraud"].status == "running" and steps["fraud"].retry_at is not None
    waiting = Execution.objects.get(pk=execution.pk)
    assert (waiting.lease_owner, waiting.lease_expires_at) == ("", steps["fraud"].retry_at)


def test_a_cancel_stops_every_branch_and_the_calls_in_flight_are_recorded(
    execution,
    stub_server,  # noqa: F811
):
    def cancel_then_answer(request):
        cancelled = Execution.objects.get(pk=execution.pk)
        services.execution_cancel(execution=cancelled, actor=Actor.system())
        connections.close_all()  # the stub's thread
        return StubResponse(200, {"score": 12})

    stub_server.on("POST", "/fraud", cancel_then_answer)
    stub_server.on("POST", "/kyc", KYC)

    assert runner.run(execution.pk) == runner.DONE

    assert Execution.objects.get(pk=execution.pk).status == "cancelled"
    steps = _steps(execution)
    assert {node: step.status for node, step in steps.items()} == {
        "fraud": "completed",
        "kyc": "completed",
    }


def test_a_resumed_execution_re_sends_exactly_the_calls_left_in_flight(
    execution,
    stub_server,  # noqa: F811
):
    """As after a crash during both calls: two running steps with one attempt each and an
    expired lease. Both are re-sent once, together, and the join runs after them."""
    stub_server.on("POST", "/fraud", FRAUD)
    stub_server.on("POST", "/kyc", KYC)
    before = timezone.now() - datetime.timedelta(seconds=5)
    for number, node_id in enumerate(("fraud", "kyc"), start=1):
        ExecutionStep.objects.create(
            execution=execution,
            step_number=number,
            node_id=node_id,
            node_type="executor",
            step_name=node_id,
            status="running",
            started_at=before,
            attempts=[{"attempt": 1, "startedAt": before.isoformat()}],
        )
    Execution.objects.filter(pk=execution.pk).update(
        status="running", lease_owner="dead-worker", lease_expires_at=before
    )

    assert runner.run(execution.pk) == runner.DONE

    assert Execution.objects.get(pk=execution.pk).status == "completed"
    steps = _steps(execution)
    for node_id in ("fraud", "kyc"):
        assert [a["attempt"] for a in steps[node_id].attempts] == [1, 2]
        assert len(stub_server.requests("POST", f"/{node_id}")) == 1
    second = [
        (datetime.datetime.fromisoformat(steps[n].attempts[1]["startedAt"]), steps[n].completed_at)
        for n in ("fraud", "kyc")
    ]
    assert second[0][0] < second[1][1] and second[1][0] < second[0][1]  # re-sent together
    assert sorted(step.step_number for step in steps.values()) == [1, 2, 3, 4, 5]


def test_a_step_another_branch_is_writing_reads_as_running_and_stays_out_of_the_context():
    """A branch's thread finishes its step field by field: until the branch has ended the walk
    must not start its successors, nor a condition read its half-written output."""
    finishing = ExecutionStep(node_id="fraud", step_number=1, status="completed", output=None)
    done = ExecutionStep(node_id="kyc", step_number=2, status="completed", output={"level": 3})
    current = Run(
        execution=Execution(input_data={}),
        token="t",
        steps={"fraud": finishing, "kyc": done},
        busy={"fraud"},
    )
    assert current.views()["fraud"].status == "running"
    assert current.context() == {"workflow": {}, "kyc": {"level": 3}}
    current.busy.clear()
    assert current.views()["fraud"].status == "completed"
