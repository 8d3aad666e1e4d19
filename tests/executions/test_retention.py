"""Retention: beat's purge deletes finished executions older than the window, with their
steps, in small batches and within a time budget; one audit event per run; audit events and
unfinished or recent executions are kept."""

import datetime

import pytest
from django.utils import timezone

from executions import tasks
from executions.choices import ExecutionStatus
from executions.models import Execution, ExecutionStep
from executions.retention import executions_purge
from executions.services import execution_start
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from flowker.audit.services import audit_verify_latest
from tests.factories import guide_workflow, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow():
    provider = make_provider_config()
    created = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    workflow_activate(workflow=created, actor=Actor.system())
    return created


def _execution(workflow, *, status, days_ago, steps=2):
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    when = timezone.now() - datetime.timedelta(days=days_ago)
    Execution.objects.filter(pk=execution.pk).update(
        status=status,
        started_at=when,
        completed_at=None if status in ("pending", "running") else when,
    )
    for number in range(1, steps + 1):
        ExecutionStep.objects.create(
            execution=execution,
            step_number=number,
            node_id=f"n{number}",
            node_type="action",
            step_name=f"step {number}",
            status="completed",
            started_at=when,
            completed_at=when,
        )
    return execution


def test_old_finished_executions_and_their_steps_are_deleted_the_rest_kept(workflow, settings):
    settings.FLOWKER_EXECUTION_RETENTION_DAYS = 30
    old = [
        _execution(workflow, status=status, days_ago=31)
        for status in ("completed", "failed", "cancelled")
    ]
    recent = _execution(workflow, status="completed", days_ago=29)
    old_but_running = _execution(workflow, status="running", days_ago=40)
    old_but_pending = _execution(workflow, status="pending", days_ago=40)
    audit_before = AuditEvent.objects.count()

    purge = executions_purge()

    assert (purge.executions, purge.steps, purge.complete) == (3, 6, True)
    kept = {recent.pk, old_but_running.pk, old_but_pending.pk}
    assert set(Execution.objects.values_list("pk", flat=True)) == kept
    assert not ExecutionStep.objects.filter(execution_id__in=[e.pk for e in old]).exists()
    assert ExecutionStep.objects.filter(execution_id=recent.pk).count() == 2
    # Audit events are never purged: the executions' own events are all still there, plus one.
    assert AuditEvent.objects.count() == audit_before + 1
    for execution in old:
        assert AuditEvent.objects.filter(resource_id=str(execution.pk)).exists()
    summary = AuditEvent.objects.order_by("-id").first()
    assert (summary.event_type, summary.action, summary.actor_type) == (
        "EXECUTIONS_PURGED",
        "DELETE",
        "system",
    )
    assert summary.metadata["executions"] == 3 and summary.metadata["steps"] == 6
    assert summary.metadata["retentionDays"] == 30
    assert audit_verify_latest(full=True).is_valid


def test_a_run_works_in_batches_and_stops_at_its_time_budget(workflow, settings):
    settings.FLOWKER_EXECUTION_RETENTION_DAYS = 1
    settings.FLOWKER_RETENTION_BATCH_SIZE = 2
    for _ in range(5):
        _execution(workflow, status="completed", days_ago=3, steps=1)

    settings.FLOWKER_RETENTION_MAX_SECONDS = 0  # one batch, then the budget is spent
    first = executions_purge()
    assert (first.executions, first.batches, first.complete) == (2, 1, False)
    assert Execution.objects.count() == 3
    assert AuditEvent.objects.filter(event_type="EXECUTIONS_PURGED").count() == 1

    settings.FLOWKER_RETENTION_MAX_SECONDS = 30
    second = executions_purge()
    assert (second.executions, second.batches, second.complete) == (3, 2, True)
    assert not Execution.objects.exists()
    assert AuditEvent.objects.filter(event_type="EXECUTIONS_PURGED").count() == 2


def test_a_run_with_nothing_to_delete_writes_no_event(workflow, settings):
    _execution(workflow, status="completed", days_ago=1)
    assert executions_purge().executions == 0
    assert not AuditEvent.objects.filter(event_type="EXECUTIONS_PURGED").exists()


def test_zero_days_keeps_everything(workflow, settings):
    settings.FLOWKER_EXECUTION_RETENTION_DAYS = 0
    _execution(workflow, status="completed", days_ago=400)
    assert executions_purge() is None
    assert Execution.objects.count() == 1


def test_a_retry_of_a_purged_execution_keeps_running_without_the_link(workflow, settings):
    old = _execution(workflow, status="failed", days_ago=40)
    retry = _execution(workflow, status="running", days_ago=0)
    Execution.objects.filter(pk=retry.pk).update(retry_of=old)
    executions_purge()
    retry.refresh_from_db()
    assert retry.status == ExecutionStatus.RUNNING and retry.retry_of_id is None


def test_the_beat_task_is_scheduled_and_reports_what_it_did(workflow, settings):
    from django.conf import settings as live

    entry = live.CELERY_BEAT_SCHEDULE["execution-retention"]
    assert entry["task"] == tasks.purge.name == "executions.purge"
    _execution(workflow, status="completed", days_ago=31)
    assert tasks.purge() == {"executions": 1, "steps": 2, "batches": 1, "complete": True}
