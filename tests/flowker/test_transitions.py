"""Guarded transitions: a wrong source status is the resource's 422, a transition that lost a
race to a concurrent change is 409 with the resource's own code, and the loser writes nothing
(no status, no audit row)."""

import pytest

from executions.models import Execution
from executions.services import execution_cancel, execution_start
from executors.models import ExecutorConfiguration
from executors.services import executor_config_activate, executor_config_test
from flowker.actors import Actor
from flowker.api.errors import status_for
from flowker.audit.models import AuditEvent
from flowker.errors import FlowkerError
from providers.models import ProviderConfiguration
from providers.services import provider_config_disable
from tests.factories import guide_workflow, make_executor_config, make_provider_config
from tests.support.stub_server import StubResponse, stub_server  # noqa: F401 - a fixture
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


def _lost(call) -> str:
    with pytest.raises(FlowkerError) as raised:
        call()
    return raised.value.code


def test_a_provider_configuration_transition_that_lost_a_race_is_409_flk_0352():
    provider = make_provider_config()
    ProviderConfiguration.objects.filter(pk=provider.pk).update(status="disabled")  # meanwhile
    code = _lost(lambda: provider_config_disable(provider_config=provider, actor=Actor.system()))
    assert (code, status_for(code)) == ("FLK-0352", 409)
    assert not AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_DISABLED").exists()


def test_a_provider_configuration_in_the_wrong_status_is_still_422_flk_0292():
    provider = make_provider_config()
    provider_config_disable(provider_config=provider, actor=Actor.system())
    code = _lost(lambda: provider_config_disable(provider_config=provider, actor=Actor.system()))
    assert (code, status_for(code)) == ("FLK-0292", 422)


def test_an_executor_configuration_transition_that_lost_a_race_is_409_flk_0351():
    config = make_executor_config(make_provider_config(), status="tested")
    ExecutorConfiguration.objects.filter(pk=config.pk).update(status="disabled")  # meanwhile
    code = _lost(lambda: executor_config_activate(config=config, actor=Actor.system()))
    assert (code, status_for(code)) == ("FLK-0351", 409)
    assert ExecutorConfiguration.objects.get(pk=config.pk).status == "disabled"


def test_an_executor_test_does_not_overwrite_a_status_changed_while_it_ran(stub_server):  # noqa: F811
    stub_server.on("GET", "/v1/score", StubResponse(200, {"ok": True}))
    provider = make_provider_config(base_url=stub_server.url)
    config = make_executor_config(provider, status="tested")
    # Activated by someone else after this test read the configuration as `tested`.
    ExecutorConfiguration.objects.filter(pk=config.pk).update(status="active")
    code = _lost(lambda: executor_config_test(config=config, actor=Actor.system()))
    assert (code, status_for(code)) == ("FLK-0351", 409)
    assert stub_server.requests("GET", "/v1/score")  # the test did run
    stored = ExecutorConfiguration.objects.get(pk=config.pk)
    assert (stored.status, stored.last_test_result) == ("active", None)


def test_a_cancel_that_lost_a_race_to_the_worker_is_409_flk_0353():
    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    Execution.objects.filter(pk=execution.pk).update(status="completed")  # finished meanwhile
    code = _lost(lambda: execution_cancel(execution=execution, actor=Actor.system()))
    assert (code, status_for(code)) == ("FLK-0353", 409)
    assert Execution.objects.get(pk=execution.pk).status == "completed"
    assert not AuditEvent.objects.filter(event_type="EXECUTION_CANCELLED").exists()
