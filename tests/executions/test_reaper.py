"""Beat's reaper: what the broker never took is sent again, what a worker dropped is resumed,
what is merely queued is left alone, and deadlines are enforced."""

import datetime

import pytest
from django.utils import timezone

from executions.models import Execution
from executions.reaper import executions_reap
from executions.services import execution_start
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

NOTHING = {"failed": 0, "redispatched": 0, "resumed": 0, "republished": 0}


@pytest.fixture
def execution():
    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=workflow, actor=Actor.system())
    started, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    return started


def _ago(seconds):
    return timezone.now() - datetime.timedelta(seconds=seconds)


def _set(execution, **fields):
    Execution.objects.filter(pk=execution.pk).update(**fields)


def test_fresh_executions_are_left_alone(execution):
    assert executions_reap() == NOTHING


def test_a_dispatch_the_broker_never_took_is_sent_after_the_grace(execution, settings):
    # (A start records its dispatch as published; a failed publish clears that.)
    _set(
        execution,
        dispatched_at=_ago(settings.FLOWKER_DISPATCH_GRACE_SECONDS + 1),
        published_at=None,
    )
    assert executions_reap()["redispatched"] == 1
    execution.refresh_from_db()
    assert execution.dispatch_count == 2
    assert execution.published_at is not None  # the broker took it this time
    assert executions_reap() == NOTHING  # published: not again


def test_a_published_dispatch_still_queued_is_not_sent_again(execution, settings):
    """A long queue is not a lost task: the reaper does not double it (issue 15)."""
    waited = settings.FLOWKER_DISPATCH_GRACE_SECONDS * 5
    _set(execution, dispatched_at=_ago(waited), published_at=_ago(waited))
    assert executions_reap() == NOTHING
    execution.refresh_from_db()
    assert execution.dispatch_count == 1


def test_a_published_dispatch_nobody_ran_for_long_is_sent_again(execution, settings):
    """The broker lost it (restarted without its data): the last-resort rule."""
    long_ago = settings.FLOWKER_DISPATCH_REPUBLISH_SECONDS + 1
    _set(execution, dispatched_at=_ago(long_ago), published_at=_ago(long_ago))
    assert executions_reap()["republished"] == 1
    assert executions_reap() == NOTHING


def test_a_pending_execution_the_queue_skipped_is_sent_again(execution, settings):
    """The queue is first in, first out: a task published well before one a worker already
    took was lost on the way (e.g. received by a worker killed before it started it)."""
    grace = settings.FLOWKER_DISPATCH_GRACE_SECONDS
    _set(execution, dispatched_at=_ago(grace * 3), published_at=_ago(grace * 3))
    later, _ = execution_start(
        workflow=execution.workflow, input_data={}, actor=Actor.system(), idempotency_key="b"
    )
    _set(later, status="completed", published_at=_ago(grace))
    assert executions_reap()["republished"] == 1
    execution.refresh_from_db()
    assert execution.dispatch_count == 2
    assert executions_reap() == NOTHING


def test_a_queue_that_is_merely_slow_is_not_doubled(execution, settings):
    """Tasks published before the one being waited on are still waiting too: nothing skipped."""
    grace = settings.FLOWKER_DISPATCH_GRACE_SECONDS
    _set(execution, dispatched_at=_ago(grace * 3), published_at=_ago(grace * 3))
    earlier, _ = execution_start(
        workflow=execution.workflow, input_data={}, actor=Actor.system(), idempotency_key="a"
    )
    _set(earlier, status="completed", published_at=_ago(grace * 4))
    assert executions_reap() == NOTHING


def test_a_running_execution_whose_lease_expired_is_resumed_once(execution):
    _set(
        execution,
        status="running",
        lease_owner="dead-worker",
        lease_expires_at=_ago(10),
        published_at=_ago(20),
    )
    assert executions_reap()["resumed"] == 1
    execution.refresh_from_db()
    assert execution.published_at > execution.lease_expires_at
    assert executions_reap() == NOTHING  # sent since it expired: it is waiting for a worker


def test_a_live_lease_is_not_resumed(execution):
    _set(
        execution,
        status="running",
        lease_owner="busy-worker",
        lease_expires_at=timezone.now() + datetime.timedelta(seconds=30),
        published_at=_ago(20),
    )
    assert executions_reap() == NOTHING


def test_a_published_retry_wait_is_left_to_its_task(execution, settings):
    """A lease handed back for a retry wait (no owner) whose task is published and due."""
    _set(
        execution,
        status="running",
        lease_owner="",
        lease_expires_at=_ago(10),
        dispatched_at=_ago(20),
        published_at=_ago(20),
    )
    assert executions_reap() == NOTHING


def test_an_unpublished_retry_wait_is_sent_for_when_it_is_due(execution, settings):
    due = timezone.now() + datetime.timedelta(seconds=60)
    _set(
        execution,
        status="running",
        lease_owner="",
        lease_expires_at=due,
        dispatched_at=_ago(settings.FLOWKER_DISPATCH_GRACE_SECONDS + 1),
        published_at=None,
    )
    assert executions_reap()["redispatched"] == 1
    execution.refresh_from_db()
    assert execution.published_at is not None and execution.lease_expires_at == due


def test_an_execution_past_its_deadline_fails_with_flk_0503(execution):
    _set(execution, deadline_at=_ago(1))
    assert executions_reap()["failed"] == 1
    execution.refresh_from_db()
    assert execution.status == "failed" and execution.error["code"] == "FLK-0503"
    assert execution.completed_at is not None
    event = AuditEvent.objects.get(event_type="EXECUTION_FAILED", resource_id=str(execution.pk))
    assert event.actor_type == "system" and event.result == "FAILED"
