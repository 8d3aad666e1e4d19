"""Beat's reaper: stale dispatches re-sent, expired leases resumed, deadlines enforced."""

import datetime

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.services import execution_start, executions_reap
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def execution():
    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    started, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    return started


def _ago(seconds):
    return timezone.now() - datetime.timedelta(seconds=seconds)


def test_fresh_executions_are_left_alone(execution):
    assert executions_reap() == {"failed": 0, "redispatched": 0, "resumed": 0}


def test_a_dispatch_nobody_picked_up_is_sent_again(execution, settings):
    Execution.objects.filter(pk=execution.pk).update(
        dispatched_at=_ago(settings.FLOWKER_DISPATCH_GRACE_SECONDS + 1)
    )
    assert executions_reap()["redispatched"] == 1
    execution.refresh_from_db()
    assert execution.dispatch_count == 2
    assert executions_reap()["redispatched"] == 0  # not again until the grace passes


def test_a_running_execution_whose_lease_expired_is_resumed(execution):
    Execution.objects.filter(pk=execution.pk).update(
        status="running", lease_owner="dead-worker", lease_expires_at=_ago(10)
    )
    assert executions_reap()["resumed"] == 1


def test_a_live_lease_is_not_resumed(execution):
    Execution.objects.filter(pk=execution.pk).update(
        status="running",
        lease_owner="busy-worker",
        lease_expires_at=timezone.now() + datetime.timedelta(seconds=30),
    )
    assert executions_reap()["resumed"] == 0


def test_an_execution_past_its_deadline_fails_with_flk_0503(execution):
    Execution.objects.filter(pk=execution.pk).update(deadline_at=_ago(1))
    assert executions_reap()["failed"] == 1
    execution.refresh_from_db()
    assert execution.status == "failed" and execution.error["code"] == "FLK-0503"
    assert execution.completed_at is not None
    event = AuditEvent.objects.get(event_type="EXECUTION_FAILED", resource_id=str(execution.pk))
    assert event.actor_type == "system" and event.result == "FAILED"
