"""Every write and status change of executions: start (idempotent, durable hand-off to the
workers), the engine's lease (take, renew, hand back for a retry wait) and terminal
transitions, cancel and retry. Beat's reaper is executions.reaper."""

import datetime
import hashlib
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from executions import callbacks
from executions.choices import ACTIVE, RETRYABLE, ExecutionStatus, StepStatus
from executions.dispatch import dispatch_run_on_commit
from executions.engine.state import flush_steps
from executions.engine.walk import counted_nodes
from executions.models import Execution, ExecutionStep
from executions.notify import publish_ended
from executors.models import ExecutorConfiguration
from flowker import jsoncodec, metrics
from flowker.actors import Actor
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError
from flowker.transitions import LOST_RACE_MESSAGE, status_update
from providers.models import ProviderConfiguration
from workflows.choices import WorkflowStatus
from workflows.models import Workflow
from workflows.selectors import pinned_nodes, workflow_name

logger = logging.getLogger("flowker.executions")
LOST_RACE = "FLK-0353"
# How `flowker_executions_started_total` names who started an execution.
TRIGGER_BY_ACTOR = {"webhook": "webhook", "api_key": "api", "user": "console", "system": "system"}


def request_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of what the client sent (headers never count)."""
    return hashlib.sha256(jsoncodec.canonical(payload).encode("utf-8")).hexdigest()


def _audit(event_type: str, execution: Execution, actor: Actor, **extra: Any) -> None:
    result = "FAILED" if event_type == EventType.EXECUTION_FAILED else "SUCCESS"
    action = {EventType.EXECUTION_CANCELLED: "CANCEL", EventType.EXECUTION_RETRIED: "RETRY"}.get(
        event_type, "EXECUTE"
    )
    audit_record(
        event_type=event_type,
        action=action,
        result=result,
        resource_type="execution",
        resource_id=execution.pk,
        actor=actor,
        metadata={"workflow.id": str(execution.workflow_id), **extra},
    )


def _replay(existing: Execution, digest: str) -> tuple[Execution, bool]:
    if existing.request_hash != digest:
        raise FlowkerError(
            "FLK-0510",
            "Idempotency-Key was already used with a different request body",
        )
    return existing, True


def execution_start(
    *,
    workflow: Workflow,
    input_data: dict[str, Any],
    actor: Actor,
    idempotency_key: str | None = None,
    digest: str = "",
    retry_of: Execution | None = None,
    nodes: list[dict[str, Any]] | None = None,
    edges: list[dict[str, Any]] | None = None,
    reuse_steps: list[ExecutionStep] | None = None,
    callback_url: str | None = None,
) -> tuple[Execution, bool]:
    """Write the execution and its dispatch record in one transaction and enqueue on commit.
    `callback_url` (a `Callback-URL` header) replaces the workflow's callback URL; a retry
    keeps the callback target of the execution it retries. Returns (execution, replayed)."""
    if idempotency_key:
        existing = Execution.objects.filter(
            workflow=workflow, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return _replay(existing, digest)
    if nodes is None and workflow.status != WorkflowStatus.ACTIVE:
        raise FlowkerError("FLK-0501", "workflow is not active")
    nodes = pinned_nodes(workflow) if nodes is None else nodes
    edges = workflow.edges if edges is None else edges
    if retry_of is not None and retry_of.callback_target and callback_url is None:
        callback_target = retry_of.callback_target
    else:
        callback_target = callbacks.callback_target(workflow=workflow, header_url=callback_url)
    now = timezone.now()
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                workflow=workflow,
                input_data=input_data,
                nodes=nodes,
                edges=edges,
                total_steps=len(counted_nodes(nodes)),
                idempotency_key=idempotency_key or None,
                request_hash=digest,
                retry_of=retry_of,
                deadline_at=now
                + datetime.timedelta(seconds=settings.FLOWKER_EXECUTION_DEADLINE_SECONDS),
                dispatched_at=now,
                published_at=now,  # its publish follows the commit (executions.dispatch)
                dispatch_count=1,
                callback_target=callback_target,
            )
            if reuse_steps:
                ExecutionStep.objects.bulk_create(
                    _copied_step(step, execution, number)
                    for number, step in enumerate(reuse_steps, start=1)
                )
            extra = {"retry_of": str(retry_of.pk)} if retry_of else {}
            _audit(EventType.EXECUTION_STARTED, execution, actor, **extra)
            if retry_of is not None:
                audit_record(
                    event_type=EventType.EXECUTION_RETRIED,
                    action="RETRY",
                    resource_type="execution",
                    resource_id=retry_of.pk,
                    actor=actor,
                    metadata={"workflow.id": str(workflow.pk), "retry": str(execution.pk)},
                )
            dispatch_run_on_commit(execution.pk, stamped=now)
            trigger = "retry" if retry_of is not None else TRIGGER_BY_ACTOR.get(actor.type, "api")
            transaction.on_commit(
                lambda: metrics.EXECUTIONS_STARTED.labels(workflow.name, trigger).inc()
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer as a replay.
        existing = Execution.objects.filter(
            workflow=workflow, idempotency_key=idempotency_key
        ).first()
        if existing is None:
            raise
        return _replay(existing, digest)
    return execution, False


def _copied_step(step: ExecutionStep, execution: Execution, number: int) -> ExecutionStep:
    fields = {
        field.name: getattr(step, field.name)
        for field in ExecutionStep._meta.concrete_fields
        if field.name not in ("id", "execution", "step_number")
    }
    return ExecutionStep(execution=execution, step_number=number, **fields)


def _finish(execution: Execution, owner: str | None, status: str, **fields: Any) -> bool:
    """Move a non-terminal execution to a terminal status (guarded by its lease owner when
    given); False when someone else got there first (e.g. it was cancelled)."""
    return status_update(
        execution,
        sources=ACTIVE,
        guard={"lease_owner": owner} if owner is not None else None,
        status=status,
        completed_at=timezone.now(),
        lease_owner="",
        lease_expires_at=None,
        **fields,
    )


def _count_finished(execution: Execution, status: str, error_code: str = "") -> None:
    """On commit: the terminal status reaches the metrics only if it was stored."""
    started, workflow_id = execution.started_at, execution.workflow_id

    def count() -> None:
        metrics.execution_finished(
            workflow=workflow_name(workflow_id=workflow_id),
            status=status,
            error_code=error_code,
            seconds=(timezone.now() - started).total_seconds(),
        )

    transaction.on_commit(count)


class LeaseLost(Exception):
    """Another worker holds the execution now, or it ended (e.g. cancelled): stop, write
    nothing more."""


def _lease_until(seconds: float | None = None) -> datetime.datetime:
    """A lease of FLOWKER_EXECUTION_LEASE_SECONDS from now, whatever call is about to start:
    while the run task is in flight its process renews the lease (executions.lease), so a
    worker that dies is resumed within one lease, not after its longest call timeout."""
    return timezone.now() + datetime.timedelta(seconds=settings.FLOWKER_EXECUTION_LEASE_SECONDS)


def _lease_statement() -> str:
    """One round trip takes the lease and reads the row back, with how many steps it has
    (none: the walk need not read them) and a stamp of the provider and executor
    configurations (their per-process cache is valid while it is unchanged). Only table names
    from the models are formatted in; every value is a parameter."""
    table = Execution._meta.db_table
    steps = ExecutionStep._meta.db_table
    stamps = " || '/' || ".join(
        "(SELECT coalesce(max(updated_at)::text, '') || ':' || count(*)::text "  # noqa: S608
        f"FROM {model._meta.db_table})"
        for model in (ProviderConfiguration, ExecutorConfiguration)
    )
    return (
        f"UPDATE {table} SET status = %s, lease_owner = %s, lease_expires_at = %s "  # noqa: S608
        "WHERE id = %s AND status = ANY(%s) "
        "AND (lease_expires_at IS NULL OR lease_expires_at <= %s) "
        f"RETURNING {table}.*, "
        f"(SELECT count(*) FROM {steps} WHERE {steps}.execution_id = {table}.id) AS step_count, "
        f"{stamps} AS config_stamp"
    )


def execution_lease(*, execution_id: Any) -> tuple[Execution, str] | None:
    """pending/running → running under a new lease, unless someone holds a live one.
    Returns (execution, lease token), or None when it is not ours to run. The execution carries
    `config_stamp` (see `_lease_statement`); when it has no steps yet, its `steps` are known to
    be empty without a query."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = list(
        Execution.objects.raw(
            _lease_statement(),
            [
                ExecutionStatus.RUNNING,
                token,
                _lease_until(),
                str(execution_id),
                [str(status) for status in ACTIVE],
                now,
            ],
        )
    )
    if not taken:
        return None
    execution = taken[0]
    if not execution.step_count:
        steps = ExecutionStep.objects.none()
        steps._result_cache, steps._prefetch_done = [], True
        execution._prefetched_objects_cache = {"steps": steps}
    return execution, token


def execution_lease_renew(*, execution: Execution, owner: str, seconds: float) -> None:
    """Keep the lease at least `seconds` longer (a call of that timeout is about to start).

    With `seconds=0` (the check at a step boundary) no statement is sent: the next write of
    the walk is guarded by the lease and renews it (`execution_lease_extend` before an
    executor's attempt; the terminal update with the buffered steps), so a cancel or a lost
    lease still stops the walk before it writes or calls anything more."""
    if seconds <= 0:
        return
    execution_lease_extend(execution=execution, owner=owner, seconds=seconds)


def execution_lease_extend(*, execution: Execution, owner: str, seconds: float = 0) -> None:
    """Renew the lease now; LeaseLost when it is no longer ours (e.g. cancelled). Never
    shortens it: a parallel branch's call may still need the time a longer one asked."""
    renewed = Execution.objects.filter(
        pk=execution.pk, lease_owner=owner, status=ExecutionStatus.RUNNING
    ).update(lease_expires_at=Greatest(F("lease_expires_at"), Value(_lease_until(seconds))))
    if not renewed:
        raise LeaseLost(str(execution.pk))


def execution_lease_release(*, execution: Execution, owner: str, until: datetime.datetime) -> None:
    """Hand the lease back until `until` (a retry wait) and have the run task sent for then."""
    with transaction.atomic():
        flush_steps(getattr(execution, "unsaved_steps", None))
        released = Execution.objects.filter(
            pk=execution.pk, lease_owner=owner, status=ExecutionStatus.RUNNING
        ).update(
            lease_owner="", lease_expires_at=until, dispatched_at=timezone.now(), published_at=None
        )
        if not released:
            raise LeaseLost(str(execution.pk))
        dispatch_run_on_commit(execution.pk, eta=until)


def execution_waiting_until(*, execution_id: Any) -> datetime.datetime | None:
    """When a running execution whose lease was handed back for a retry wait is due."""
    return (
        Execution.objects.filter(
            pk=execution_id,
            status=ExecutionStatus.RUNNING,
            lease_owner="",
            lease_expires_at__gt=timezone.now(),
        )
        .values_list("lease_expires_at", flat=True)
        .first()
    )


def final_output(steps: list[ExecutionStep]) -> dict[str, Any]:
    """The last set_output's filled output; else every completed executor node's output."""
    ordered = sorted(steps, key=lambda step: step.step_number)
    outputs = [
        step.output["output"]
        for step in ordered
        if step.node_type == "action"
        and step.status == StepStatus.COMPLETED
        and isinstance(step.output, dict)
        and (step.output.get("action") or step.output.get("actionType")) == "set_output"
    ]
    if outputs:
        return outputs[-1]
    return {
        step.node_id: step.output
        for step in ordered
        if step.node_type == "executor" and step.status == StepStatus.COMPLETED
    }


def execution_complete(*, execution: Execution, steps: list[ExecutionStep], owner: str) -> None:
    with transaction.atomic():
        done = _finish(
            execution,
            owner,
            ExecutionStatus.COMPLETED,
            output_data=final_output(steps),
            current_step_number=len(steps),
        )
        if done:
            flush_steps(getattr(execution, "unsaved_steps", None))
            _audit(EventType.EXECUTION_COMPLETED, execution, Actor.system())
            _count_finished(execution, ExecutionStatus.COMPLETED)
            callbacks.enqueue(execution)
    if done:
        publish_ended(execution.pk)


def execution_fail(
    *,
    execution: Execution,
    code: str,
    message: str,
    owner: str | None,
    step: ExecutionStep | None = None,
) -> bool:
    error = {
        "code": code,
        "message": message,
        "nodeId": step.node_id if step else None,
        "stepNumber": step.step_number if step else None,
        "output": step.output if step else None,
    }
    with transaction.atomic():
        fields: dict[str, Any] = {"error": error}
        if step is not None:
            fields["current_step_number"] = step.step_number
        done = _finish(execution, owner, ExecutionStatus.FAILED, **fields)
        if done:
            flush_steps(getattr(execution, "unsaved_steps", None))
            _audit(
                EventType.EXECUTION_FAILED, execution, Actor.system(), error=f"{code}: {message}"
            )
            _count_finished(execution, ExecutionStatus.FAILED, code)
            callbacks.enqueue(execution)
    if done:
        publish_ended(execution.pk)
    return done


def execution_cancel(*, execution: Execution, actor: Actor) -> Execution:
    """pending/running → cancelled; the worker stops at the next step boundary."""
    if execution.status not in ACTIVE:
        raise FlowkerError("FLK-0511", f"cannot cancel an execution in status {execution.status}")
    with transaction.atomic():
        if not _finish(execution, None, ExecutionStatus.CANCELLED):
            raise FlowkerError(LOST_RACE, LOST_RACE_MESSAGE)
        _audit(EventType.EXECUTION_CANCELLED, execution, actor)
        _count_finished(execution, ExecutionStatus.CANCELLED)
        callbacks.enqueue(execution)
    publish_ended(execution.pk)
    return execution


def execution_retry(*, execution: Execution, start_from: str, actor: Actor) -> Execution:
    """A failed or cancelled execution → a new one with `retryOf`. From `start` it runs the
    current (active) definition; from `failed_step` it reuses the snapshot and the completed
    steps' outputs and starts at the first node without a completed step."""
    if execution.status not in RETRYABLE:
        raise FlowkerError("FLK-0511", f"cannot retry an execution in status {execution.status}")
    workflow = Workflow.objects.filter(pk=execution.workflow_id).first()
    if workflow is None:
        raise FlowkerError("FLK-0100", "workflow not found")
    if start_from == "start":
        retried, _ = execution_start(
            workflow=workflow, input_data=execution.input_data, actor=actor, retry_of=execution
        )
        return retried
    kept = list(
        execution.steps.filter(status__in=(StepStatus.COMPLETED, StepStatus.SKIPPED)).order_by(
            "step_number"
        )
    )
    retried, _ = execution_start(
        workflow=workflow,
        input_data=execution.input_data,
        actor=actor,
        retry_of=execution,
        nodes=execution.nodes,
        edges=execution.edges,
        reuse_steps=kept,
    )
    return retried
