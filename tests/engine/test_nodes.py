"""The runner's node handlers in process (real database, provider stub, no worker): what each
node records, how an executor attempt ends (done, given up, retry scheduled), and the walk."""

import pytest
from django.utils import timezone

from executions import services
from executions.engine import runner
from executions.engine.nodes import run_node
from executions.engine.state import NodeFailure, RetryLater, Run
from executions.models import Execution, ExecutionStep
from flowker.actors import Actor
from providers.models import ProviderConfiguration
from tests.factories import guide_workflow, make_provider_config
from tests.support.stub_server import StubResponse, stub_server  # noqa: F401 - a fixture
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

NODES = {node["id"]: node for node in guide_workflow("p")["nodes"]}


@pytest.fixture
def provider(stub_server):  # noqa: F811
    return make_provider_config(base_url=stub_server.url)


@pytest.fixture
def leased(provider):
    """A started execution of the guide's workflow, leased as a worker would."""
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    execution, _ = services.execution_start(
        workflow=workflow, input_data={"amount": 1500}, actor=Actor.system()
    )
    return runner.acquire(execution.pk)


def _node(run: Run, node_id: str) -> dict:
    return next(node for node in run.execution.nodes if node["id"] == node_id)


def test_a_second_worker_cannot_lease_a_leased_execution(leased):
    assert runner.acquire(leased.execution.pk) is None
    assert Execution.objects.get(pk=leased.execution.pk).lease_owner == leased.token


def test_an_executor_node_that_succeeds_records_its_call_and_output(leased, stub_server):  # noqa: F811
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 12}))

    assert run_node(leased, _node(leased, "check-fraud")) is None

    step = leased.steps["check-fraud"]
    assert (step.status, step.output["score"]) == ("completed", 12)
    assert step.output["_response"]["status"] == 200
    assert [a["outcome"] for a in step.attempts] == ["completed"]
    assert step.call_details["statusCode"] == 200
    [received] = stub_server.requests()
    assert received.header("Idempotency-Key") == f"{leased.execution.pk}:check-fraud"


def test_a_transient_failure_schedules_the_next_attempt(
    leased,
    stub_server,  # noqa: F811
):
    stub_server.on("POST", "/score-transaction", StubResponse(503))

    outcome = run_node(leased, _node(leased, "check-fraud"))

    assert isinstance(outcome, RetryLater) and outcome.at > timezone.now()
    step = leased.steps["check-fraud"]
    assert (step.status, step.retry_at) == ("running", outcome.at)
    # The lease stays: the runner hands it back once no other branch is in flight.
    assert Execution.objects.get(pk=leased.execution.pk).lease_owner == leased.token


def test_the_runner_hands_the_lease_back_until_the_retry_is_due(
    leased,
    stub_server,  # noqa: F811
):
    stub_server.on("POST", "/score-transaction", StubResponse(503))
    services.execution_lease_release(
        execution=leased.execution, owner=leased.token, until=timezone.now()
    )

    assert runner.run(leased.execution.pk) == runner.WAITING

    step = ExecutionStep.objects.get(execution=leased.execution, node_id="check-fraud")
    execution = Execution.objects.get(pk=leased.execution.pk)
    assert (execution.lease_owner, execution.lease_expires_at) == ("", step.retry_at)


def test_a_final_answer_gives_up_with_the_response_kept(leased, stub_server):  # noqa: F811
    stub_server.on("POST", "/score-transaction", StubResponse(422, {"error": "bad card"}))

    with pytest.raises(NodeFailure) as failed:
        run_node(leased, _node(leased, "check-fraud"))

    assert failed.value.code == "FLK-0504" and "provider answered 422" in failed.value.message
    step = leased.steps["check-fraud"]
    assert (step.status, step.output) == ("failed", {"status": 422, "body": {"error": "bad card"}})


def test_a_disabled_provider_configuration_fails_the_node_with_flk_0512(leased, provider):
    ProviderConfiguration.objects.filter(pk=provider.pk).update(status="disabled")

    with pytest.raises(NodeFailure) as failed:
        run_node(leased, _node(leased, "check-fraud"))

    assert failed.value.code == "FLK-0512" and "disabled" in failed.value.message
    assert leased.steps["check-fraud"].status == "failed"


def test_a_conditional_records_its_branch_and_the_values_it_read(leased, stub_server):  # noqa: F811
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 91}))
    run_node(leased, _node(leased, "check-fraud"))

    run_node(leased, _node(leased, "evaluate-score"))

    step = leased.steps["evaluate-score"]
    assert step.output == {
        "condition": "check-fraud.score < 80",
        "result": False,
        "branchTaken": "false",
    }
    assert step.input["values"] == {"check-fraud.score": 91}


def test_a_condition_that_cannot_be_evaluated_fails_its_step(leased):
    node = {**_node(leased, "evaluate-score"), "data": {"condition": "amount >"}}

    with pytest.raises(NodeFailure) as failed:
        run_node(leased, node)

    assert failed.value.code == "FLK-0504"
    assert leased.steps["evaluate-score"].error_code == "FLK-0504"


def test_set_output_fills_its_template_from_the_context(leased):
    node = {
        "id": "answer",
        "type": "action",
        "data": {"action": "set_output", "output": {"paid": "{{workflow.amount}}"}},
    }

    run_node(leased, node)

    assert leased.steps["answer"].output["output"] == {"paid": 1500}


def test_the_walk_runs_the_graph_to_completion(leased, stub_server):  # noqa: F811
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 12}))
    services.execution_lease_release(
        execution=leased.execution, owner=leased.token, until=timezone.now()
    )

    assert runner.run(leased.execution.pk) == runner.DONE

    execution = Execution.objects.get(pk=leased.execution.pk)
    statuses = {step.node_id: step.status for step in execution.steps.all()}
    assert execution.status == "completed"
    assert statuses == {
        "check-fraud": "completed",
        "evaluate-score": "completed",
        "approve": "completed",
        "reject": "skipped",
    }


def test_a_failing_transform_records_one_failed_step_named_once(leased):
    node = {
        "id": "reshape",
        "type": "executor",
        "data": {
            "executorId": "transform.json",
            "inputMapping": [{"source": "workflow.nickname", "target": "n", "required": True}],
        },
    }

    with pytest.raises(NodeFailure) as failed:
        run_node(leased, node)

    assert failed.value.message.count("node 'reshape'") == 1
    assert "transformation failed" in failed.value.message
    # The failed step is written with the execution's failure, as the runner records it.
    services.execution_fail(
        execution=leased.execution,
        code=failed.value.code,
        message=failed.value.message,
        owner=leased.token,
        step=leased.steps["reshape"],
    )
    assert leased.execution.steps.filter(node_id="reshape").count() == 1
    assert leased.steps["reshape"].error_code == "FLK-0504"
