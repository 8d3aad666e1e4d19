"""The engine's rim: takes an execution's lease, walks its graph one node at a time with the
pure core (walk, conditions, mapping, templating), and persists each step as it finishes, so a
worker that dies loses nothing. Waits between attempts are re-scheduled tasks, never sleeps."""

import copy
import datetime
import email.utils
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from executions import services
from executions.breakers import breaker_key
from executions.choices import ExecutionStatus, StepStatus
from executions.dispatch import dispatch_run_on_commit
from executions.engine import templating
from executions.engine.mapping import (
    MappingError,
    apply_workflow_updates,
    build_output,
    build_request,
)
from executions.engine.walk import StepView, next_move
from executions.models import Execution, ExecutionStep
from executors.resolution import ExecutorCall, ResolutionError, resolve_executor_node
from executors.runtime.auth import TokenError
from executors.runtime.breaker import BreakerOpen, CountsAsFailure, call_through_breaker
from executors.runtime.connections import connection_for, join_url, midaz_call
from executors.runtime.http import OutboundRequest, TransportError, send
from executors.runtime.policy import NameResolutionError, OutboundPolicyError
from flowker.paths import MissingPath, get_path
from flowker.sealing import mask_document
from providers.services import plain_config
from workflows import conditions
from workflows.validation import action_name

logger = logging.getLogger("flowker.engine")

TRANSIENT_STATUSES = frozenset({408, 425, 429})
NO_BODY_METHODS = frozenset({"GET", "DELETE", "HEAD"})


class NodeFailure(Exception):
    """A node failed: the execution fails with this code (FLK-0504/0507/0512)."""

    def __init__(self, code: str, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.node_id = code, message, node_id


class LeaseLost(Exception):
    """Another worker owns the execution now, or it was cancelled: stop without writing."""


@dataclass
class RetryLater:
    at: datetime.datetime


@dataclass
class Run:
    execution: Execution
    token: str
    steps: dict[str, ExecutionStep] = field(default_factory=dict)

    @property
    def next_step_number(self) -> int:
        return len(self.steps) + 1

    def views(self) -> dict[str, StepView]:
        return {
            node_id: StepView(step.status, (step.output or {}).get("branchTaken"))
            for node_id, step in self.steps.items()
        }

    def context(self) -> dict[str, Any]:
        """`workflow` (the input with outputMapping writes applied) plus each node's output."""
        ordered = sorted(self.steps.values(), key=lambda s: s.step_number)
        workflow = copy.deepcopy(self.execution.input_data)
        for step in ordered:
            if step.workflow_updates:
                workflow = apply_workflow_updates(workflow, step.workflow_updates)
        context: dict[str, Any] = {"workflow": workflow}
        for step in ordered:
            if step.status == StepStatus.COMPLETED:
                context[step.node_id] = step.output
        return context


# --- Lease -------------------------------------------------------------------------------------


def _lease_until(seconds: float | None = None) -> datetime.datetime:
    lease = settings.FLOWKER_EXECUTION_LEASE_SECONDS
    return timezone.now() + datetime.timedelta(seconds=max(lease, (seconds or 0) + 10))


def acquire(execution_id: Any) -> Run | None:
    """Take the execution if nobody holds a live lease on it; None otherwise."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        Execution.objects.filter(
            pk=execution_id, status__in=(ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
        )
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(status=ExecutionStatus.RUNNING, lease_owner=token, lease_expires_at=_lease_until())
    )
    if not taken:
        return None
    execution = Execution.objects.get(pk=execution_id)
    steps = {step.node_id: step for step in execution.steps.all()}
    return Run(execution=execution, token=token, steps=steps)


def _renew(run: Run, seconds: float | None = None) -> None:
    renewed = Execution.objects.filter(
        pk=run.execution.pk, lease_owner=run.token, status=ExecutionStatus.RUNNING
    ).update(lease_expires_at=_lease_until(seconds))
    if not renewed:
        raise LeaseLost(str(run.execution.pk))


# --- The walk ----------------------------------------------------------------------------------


BUSY = "busy"  # someone else holds the lease (or the execution is terminal)
DONE = "done"  # this task went as far as it could: terminal, failed, or lease lost
WAITING = "waiting"  # a retry is scheduled


def run(execution_id: Any) -> str:
    """Advance the execution as far as it goes in this task."""

    current = acquire(execution_id)
    if current is None:
        return BUSY
    execution = current.execution
    try:
        while True:
            if timezone.now() >= execution.deadline_at:
                services.execution_fail(
                    execution=execution,
                    code="FLK-0503",
                    message="execution deadline exceeded",
                    owner=current.token,
                )
                return DONE
            move = next_move(execution.nodes, execution.edges, current.views())
            if move is None and len(current.steps) < execution.total_steps:
                raise NodeFailure("FLK-0504", "the workflow graph cannot progress")
            if move is None:
                services.execution_complete(
                    execution=execution, steps=list(current.steps.values()), owner=current.token
                )
                return DONE
            if move.skip:
                _record(current, move.node, StepStatus.SKIPPED, started=timezone.now())
                continue
            if isinstance(_run_node(current, move.node), RetryLater):
                return WAITING
    except NodeFailure as failure:
        step = current.steps.get(failure.node_id) if failure.node_id else None
        services.execution_fail(
            execution=execution,
            code=failure.code,
            message=failure.message,
            owner=current.token,
            step=step,
        )
    except (LeaseLost, IntegrityError) as exc:
        logger.info("execution %s: stopping, lease lost or cancelled (%s)", execution_id, exc)
    return DONE


def _record(
    run: Run,
    node: dict[str, Any],
    status: str,
    *,
    started: datetime.datetime,
    output: Any = None,
    step_input: Any = None,
    error: tuple[str, str] | None = None,
) -> ExecutionStep:
    """Persist a finished step (conditional, action, skipped)."""
    finished = timezone.now()
    step = ExecutionStep.objects.create(
        execution=run.execution,
        step_number=run.next_step_number,
        node_id=node["id"],
        node_type=node.get("type", ""),
        step_name=step_name(node),
        status=status,
        input=step_input,
        output=output,
        error_code=error[0] if error else "",
        error_message=error[1] if error else "",
        started_at=started,
        completed_at=finished,
        duration_ms=0 if status == StepStatus.SKIPPED else _ms(started, finished),
    )
    run.steps[node["id"]] = step
    return step


def step_name(node: dict[str, Any]) -> str:
    return (node.get("name") or f"{node.get('type', 'node')}_{node['id']}")[:120]


def _ms(start: datetime.datetime, end: datetime.datetime) -> int:
    return max(0, round((end - start).total_seconds() * 1000))


def _run_node(run: Run, node: dict[str, Any]) -> RetryLater | None:
    kind = node.get("type")
    if kind == "conditional":
        _run_conditional(run, node)
    elif kind == "action":
        _run_action(run, node)
    elif kind == "executor":
        return _run_executor(run, node)
    else:
        _record(run, node, StepStatus.COMPLETED, started=timezone.now(), output=node.get("data"))
    return None


def _fail_step(
    run: Run, node: dict[str, Any], started: datetime.datetime, code: str, message: str, **kw: Any
) -> None:
    _record(run, node, StepStatus.FAILED, started=started, error=(code, message), **kw)
    raise NodeFailure(code, f"node {node['id']!r}: {message}", node["id"])


def _run_conditional(run: Run, node: dict[str, Any]) -> None:
    started = timezone.now()
    expression = (node.get("data") or {}).get("condition", "")
    context = run.context()
    try:
        parsed = conditions.parse(expression)
        result = conditions.evaluate(parsed, context)
    except (conditions.ConditionSyntaxError, conditions.ConditionEvaluationError) as exc:
        _fail_step(run, node, started, "FLK-0504", f"condition evaluation failed: {exc}")
    values = {}
    for path in conditions.referenced_paths(parsed):
        try:
            values[path] = get_path(context, path)
        except MissingPath:
            continue
    branch = "true" if result else "false"
    _record(
        run,
        node,
        StepStatus.COMPLETED,
        started=started,
        step_input=mask_document({"condition": expression, "values": values}),
        output={"condition": expression, "result": result, "branchTaken": branch},
    )


def _run_action(run: Run, node: dict[str, Any]) -> None:
    started = timezone.now()
    data = node.get("data") or {}
    name = action_name(data)
    if name == "set_output":
        try:
            filled = templating.fill(data.get("output") or {}, run.context())
        except templating.TemplateError as exc:
            _fail_step(run, node, started, "FLK-0504", str(exc))
        _record(run, node, StepStatus.COMPLETED, started=started, output={**data, "output": filled})
        return
    logger.info(
        "workflow action",
        extra={
            "execution_id": str(run.execution.pk),
            "node_id": node["id"],
            "data": mask_document(data),
        },
    )
    _record(run, node, StepStatus.COMPLETED, started=started, output=data)


# --- Executor nodes ----------------------------------------------------------------------------


class TransientFailure(CountsAsFailure):
    """An attempt failed in a way worth retrying; counts toward the breaker."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(message)
        self.status, self.retry_after, self.response = status, retry_after, response


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


@dataclass
class Prepared:
    call: ExecutorCall
    method: str
    url: str
    headers: dict[str, Any]
    query: dict[str, Any]
    body: Any
    timeout: float
    verify_tls: bool
    authenticator: Any
    success: tuple[int, ...] | None
    masked_input: dict[str, Any]


def _resolve(node: dict[str, Any]) -> ExecutorCall:
    data = node.get("data") or {}
    try:
        call = resolve_executor_node(data, require_active_provider=False)
    except ResolutionError as exc:
        raise NodeFailure("FLK-0512", exc.message) from exc
    if call.provider_config is not None and call.provider_config.status != "active":
        raise NodeFailure(
            "FLK-0512", f"provider configuration {call.provider_config.name!r} is disabled"
        )
    if call.executor_config is not None and call.executor_config.status == "disabled":
        raise NodeFailure(
            "FLK-0512", f"executor configuration {call.executor_config.name!r} is disabled"
        )
    return call


def _scalars_as_query(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    return {
        key: value
        for key, value in body.items()
        if value is not None and not isinstance(value, dict)
    }


def _prepare(run: Run, node: dict[str, Any], call: ExecutorCall) -> Prepared:
    data = node.get("data") or {}
    try:
        document = build_request(run.context(), call.input_mapping, call.transforms)
    except MappingError as exc:
        raise NodeFailure("FLK-0504", f"input transformation failed: {exc}") from exc
    config = plain_config(call.provider_config)
    try:
        connection = connection_for(call.provider_config.provider_id, config)
        if call.path is None:
            method, url = midaz_call(
                call.executor.id,
                config,
                data,
                document.body if isinstance(document.body, dict) else {},
            )
        else:
            method, url = call.method, join_url(connection.base_url, call.path)
    except ValueError as exc:
        raise NodeFailure("FLK-0512", f"invalid configuration: {exc}") from exc
    query = {**(data.get("query") or {}), **document.query}
    body = document.body
    if method in NO_BODY_METHODS:
        query = {**_scalars_as_query(body), **query}
        body = None
    headers = {
        **connection.headers,
        **(data.get("headers") or {}),
        **document.headers,
        "Idempotency-Key": f"{run.execution.pk}:{node['id']}",
    }
    timeout = float(call.timeout or data.get("timeoutSeconds") or connection.timeout)
    codes = data.get("successStatusCodes")
    return Prepared(
        call=call,
        method=method,
        url=url,
        headers=headers,
        query=query,
        body=body,
        timeout=timeout,
        verify_tls=connection.verify_tls,
        authenticator=connection.authenticator,
        success=tuple(int(code) for code in codes) if codes else None,
        masked_input=mask_document({"method": method, "url": url, "query": query, "body": body}),
    )


def _attempt(prepared: Prepared) -> Any:
    """One request. Raises TransientFailure for what is worth retrying; returns the response
    otherwise (success or a final, non-retried answer)."""

    request = OutboundRequest(
        method=prepared.method,
        url=prepared.url,
        headers=prepared.headers,
        query=prepared.query,
        body=prepared.body,
        timeout=prepared.timeout,
        verify_tls=prepared.verify_tls,
    )
    try:
        response = send(request, authenticator=prepared.authenticator)
    except TransportError as exc:
        raise TransientFailure(f"request failed ({exc.kind}): {exc}") from exc
    except NameResolutionError as exc:
        raise TransientFailure(f"request failed: {exc}") from exc
    except TokenError as exc:
        if exc.transient:
            raise TransientFailure(f"token request failed: {exc}", status=exc.status_code) from exc
        raise
    if response.status >= 500 or response.status in TRANSIENT_STATUSES:
        raise TransientFailure(
            f"provider answered {response.status}",
            status=response.status,
            retry_after=_retry_after(
                response.headers.get("Retry-After") or response.headers.get("retry-after")
            ),
            response=response,
        )
    return response


def _start_executor_step(run: Run, node: dict[str, Any], prepared_input: Any) -> ExecutionStep:
    step = run.steps.get(node["id"])
    if step is not None:
        return step
    step = ExecutionStep.objects.create(
        execution=run.execution,
        step_number=run.next_step_number,
        node_id=node["id"],
        node_type="executor",
        step_name=step_name(node),
        status=StepStatus.RUNNING,
        input=prepared_input,
        started_at=timezone.now(),
    )
    run.steps[node["id"]] = step
    return step


def _finish_executor_step(step: ExecutionStep, status: str, **fields: Any) -> None:
    step.status = status
    step.completed_at = timezone.now()
    step.duration_ms = _ms(step.started_at, step.completed_at)
    step.retry_at = None
    for name, value in fields.items():
        setattr(step, name, value)
    step.save()


def _breaker_key(call: ExecutorCall) -> str:
    """Per executor configuration; per provider configuration when the node has none."""

    if call.executor_config is not None:
        return breaker_key("executor", call.executor_config.pk)
    return breaker_key("provider", call.provider_config.pk)


def _run_transform(run: Run, node: dict[str, Any], call: ExecutorCall) -> None:
    started = timezone.now()
    try:
        document = build_request(run.context(), call.input_mapping, call.transforms)
    except MappingError as exc:
        _fail_step(run, node, started, "FLK-0504", f"transformation failed: {exc}")
    output = document.body if isinstance(document.body, dict) else {"body": document.body}
    _record(run, node, StepStatus.COMPLETED, started=started, output=output)


def _run_executor(run: Run, node: dict[str, Any]) -> RetryLater | None:
    started = timezone.now()
    try:
        call = _resolve(node)
        if call.provider_config is None:
            _run_transform(run, node, call)
            return None
        prepared = _prepare(run, node, call)
    except NodeFailure as failure:
        step = run.steps.get(node["id"])
        if step is not None:  # resuming a waiting step whose configuration changed meanwhile
            _give_up(run, node, step, failure.code, failure.message)
        _fail_step(run, node, started, failure.code, failure.message)
    step = _start_executor_step(run, node, prepared.masked_input)
    max_attempts = settings.FLOWKER_RETRY_MAX_ATTEMPTS
    while True:
        number = len(step.attempts) + 1
        _renew(run, prepared.timeout)
        attempt: dict[str, Any] = {"attempt": number, "startedAt": timezone.now().isoformat()}
        step.attempts = [*step.attempts, attempt]
        step.save(update_fields=["attempts"])  # recorded before the request is sent
        clock = time.monotonic()
        try:
            response = call_through_breaker(
                _breaker_key(call), lambda: _attempt(prepared), timeout=prepared.timeout
            )
        except BreakerOpen as exc:
            attempt.update(outcome="refused", error=str(exc))
            _give_up(run, node, step, "FLK-0507", f"circuit breaker open: {exc}")
        except OutboundPolicyError as exc:
            attempt.update(outcome="refused", error=str(exc))
            _give_up(run, node, step, "FLK-0504", f"refused by the outbound address policy: {exc}")
        except TokenError as exc:
            attempt.update(outcome="failed", error=str(exc), statusCode=exc.status_code)
            _give_up(run, node, step, "FLK-0504", f"token request failed: {exc}")
        except ValueError as exc:
            attempt.update(outcome="failed", error=str(exc))
            _give_up(run, node, step, "FLK-0512", f"invalid configuration: {exc}")
        except TransientFailure as failure:
            duration = round((time.monotonic() - clock) * 1000)
            attempt.update(
                outcome="failed", error=str(failure), statusCode=failure.status, durationMs=duration
            )
            step.call_details = _details(prepared, failure.status, duration, failure.response)
            if number >= max_attempts:
                _give_up(
                    run,
                    node,
                    step,
                    "FLK-0504",
                    f"executor call failed after {number} attempts: {failure}",
                    response=failure.response,
                )
            wait = settings.FLOWKER_RETRY_BACKOFF_SECONDS * (2 ** (number - 1))
            if failure.retry_after is not None:
                wait = max(wait, min(failure.retry_after, settings.FLOWKER_RETRY_AFTER_MAX_SECONDS))
            due = timezone.now() + datetime.timedelta(seconds=wait)
            if due >= run.execution.deadline_at:
                _give_up(
                    run,
                    node,
                    step,
                    "FLK-0504",
                    f"executor call failed after {number} attempts "
                    f"(the next one would pass the deadline): {failure}",
                    response=failure.response,
                )
            return _schedule_retry(run, step, due)
        else:
            duration = round((time.monotonic() - clock) * 1000)
            attempt.update(outcome="completed", statusCode=response.status, durationMs=duration)
            step.call_details = _details(prepared, response.status, duration, response)
            ok = (
                response.status in prepared.success
                if prepared.success
                else 200 <= response.status < 300
            )
            if not ok:
                _give_up(
                    run,
                    node,
                    step,
                    "FLK-0504",
                    f"provider answered {response.status}",
                    response=response,
                )
            envelope = {
                "status": response.status,
                "headers": response.headers,
                "url": response.url,
                "body": response.body,
            }
            try:
                output, updates = build_output(envelope, call.output_mapping)
            except MappingError as exc:
                _give_up(run, node, step, "FLK-0504", f"output transformation failed: {exc}")
            _finish_executor_step(
                step, StepStatus.COMPLETED, output=output, workflow_updates=updates
            )
            return None


def _details(
    prepared: Prepared, status: int | None, duration: int, response: Any
) -> dict[str, Any]:
    return {
        "method": prepared.method,
        "url": response.url if response is not None else prepared.url,
        "statusCode": status,
        "durationMs": duration,
    }


def _give_up(
    run: Run,
    node: dict[str, Any],
    step: ExecutionStep,
    code: str,
    message: str,
    response: Any = None,
) -> None:
    output = None
    if response is not None:
        output = {"status": response.status, "body": response.body}
    _finish_executor_step(
        step, StepStatus.FAILED, error_code=code, error_message=message, output=output
    )
    raise NodeFailure(code, f"node {node['id']!r}: {message}", node["id"])


def _schedule_retry(run: Run, step: ExecutionStep, due: datetime.datetime) -> RetryLater:
    """Persist the wait and hand the lease back until `due`; the task is re-sent for then."""
    step.retry_at = due
    step.save(update_fields=["attempts", "call_details", "retry_at"])
    with transaction.atomic():
        released = Execution.objects.filter(
            pk=run.execution.pk, lease_owner=run.token, status=ExecutionStatus.RUNNING
        ).update(lease_owner="", lease_expires_at=due)
        if not released:
            raise LeaseLost(str(run.execution.pk))
        dispatch_run_on_commit(run.execution.pk, eta=due)
    return RetryLater(at=due)
