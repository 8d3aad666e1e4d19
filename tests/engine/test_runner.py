"""The engine's rim, run in-process: what it does with data it cannot process."""

import pytest

from executions.engine import runner
from executions.models import Execution
from executions.services import execution_start
from flowker.actors import Actor
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> dict:
    root: dict = {}
    current = root
    for _ in range(depth - 1):
        current["a"] = {}
        current = current["a"]
    return root


def test_input_nested_past_the_recursion_limit_fails_the_step_instead_of_the_task():
    workflow = workflow_create(data=guide_workflow(make_provider_config().pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    # Stored as if it had entered before request depths were checked.
    Execution.objects.filter(pk=execution.pk).update(input_data=_nested(600))

    assert runner.run(execution.pk) == runner.DONE

    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.error["code"] == "FLK-0504"
    assert execution.error["nodeId"] == "check-fraud"
    [step] = execution.steps.all()
    assert (step.node_id, step.status, step.error_code) == ("check-fraud", "failed", "FLK-0504")
    assert "nested too deeply" in step.error_message
