"""What each node does when the walk reaches it: a conditional evaluates and picks a branch, an
action records (or fills `set_output`), a transform executor reshapes data, a provider
executor makes one attempt of its call (executors.runtime.call) and either finishes, gives up,
or schedules its next attempt (executions.engine.retry)."""

import logging
from collections.abc import Callable
from typing import Any, NoReturn

from django.utils import timezone

from executions import services
from executions.breakers import breaker_key
from executions.choices import StepStatus
from executions.engine import retry, templating
from executions.engine.mapping import MappingError, build_output, build_request
from executions.engine.state import (
    NodeFailure,
    RetryLater,
    Run,
    finish_step,
    flush_steps,
    record_step,
    start_step,
)
from executions.models import ExecutionStep
from executors.resolution import ExecutorCall, ResolutionError, check_runnable
from executors.resolution import resolve_executor_node as resolve
from executors.runtime.call import (
    BreakerOpened,
    Failed,
    PreparedCall,
    Refused,
    Succeeded,
    Transient,
    node_call,
    outcome_word,
    perform,
    reached_network_seconds,
)
from executors.runtime.connections import connection_for
from executors.runtime.http import OutboundResponse
from executors.runtime.redaction import redact_url
from flowker import jsoncodec, metrics
from flowker.paths import MissingPath, get_path
from flowker.sealing import mask_document
from providers.services import plain_config
from workflows import conditions
from workflows.validation import action_name

logger = logging.getLogger("flowker.engine")


def run_node(run: Run, node: dict[str, Any]) -> RetryLater | None:
    """Run `node`; a RetryLater when its next attempt is scheduled. Raises NodeFailure."""
    handler = HANDLERS.get(node.get("type", ""), run_passthrough)
    started = timezone.now()
    try:
        return handler(run, node)
    except RecursionError:
        # Data nested past Python's recursion limit (JSON that entered before its depth was
        # checked, or that the workflow's own mappings built) fails the step; escaping the task
        # instead would leave the execution running until its deadline.
        message = "data nested too deeply to process"
        step = run.steps.get(node["id"])
        if step is not None and step.status == StepStatus.RUNNING:
            give_up(node, step, "FLK-0504", message)
        fail_step(run, node, started, "FLK-0504", message)


def fail_step(
    run: Run,
    node: dict[str, Any],
    started: Any,
    code: str,
    message: str,
) -> NoReturn:
    record_step(run, node, StepStatus.FAILED, started=started, error=(code, message))
    raise NodeFailure(code, f"node {node['id']!r}: {message}", node["id"])


def give_up(
    node: dict[str, Any],
    step: ExecutionStep,
    code: str,
    message: str,
    response: OutboundResponse | None = None,
) -> NoReturn:
    """Finish an executor node's running step as failed; the execution fails with `code`."""
    output = None if response is None else {"status": response.status, "body": response.body}
    finish_step(step, StepStatus.FAILED, error_code=code, error_message=message, output=output)
    raise NodeFailure(code, f"node {node['id']!r}: {message}", node["id"])


def record_attempt(run: Run, step: ExecutionStep, attempt: dict[str, Any], seconds: float) -> None:
    """Persist the executor's next attempt before its request is sent: the lease is renewed
    for the call's timeout (LeaseLost when the execution is no longer ours, e.g. cancelled),
    then the step is written with the attempt, together with the steps buffered before it."""
    services.execution_lease_extend(execution=run.execution, owner=run.token, seconds=seconds)
    step.attempts = [*step.attempts, attempt]
    with run.lock:  # another branch may be buffering a step meanwhile
        if step._state.adding:
            run.unsaved.append(step)
            flush_steps(run.unsaved)
            return
        flush_steps(run.unsaved)
    step.save(update_fields=["attempts"])


def run_passthrough(run: Run, node: dict[str, Any]) -> None:
    record_step(run, node, StepStatus.COMPLETED, started=timezone.now(), output=node.get("data"))


def run_conditional(run: Run, node: dict[str, Any]) -> None:
    started = timezone.now()
    expression = (node.get("data") or {}).get("condition", "")
    context = run.context()
    try:
        parsed = conditions.parse(expression)
        result = conditions.evaluate(parsed, context)
    except (conditions.ConditionSyntaxError, conditions.ConditionEvaluationError) as exc:
        fail_step(run, node, started, "FLK-0504", f"condition evaluation failed: {exc}")
    values = {}
    for path in conditions.referenced_paths(parsed):
        try:
            values[path] = get_path(context, path)
        except MissingPath:
            continue
    record_step(
        run,
        node,
        StepStatus.COMPLETED,
        started=started,
        step_input=mask_document({"condition": expression, "values": values}),
        output={
            "condition": expression,
            "result": result,
            "branchTaken": "true" if result else "false",
        },
    )


def run_action(run: Run, node: dict[str, Any]) -> None:
    started = timezone.now()
    data = node.get("data") or {}
    if action_name(data) == "set_output":
        try:
            filled = templating.fill(data.get("output") or {}, run.context(), "output")
        except templating.TemplateError as exc:
            fail_step(run, node, started, "FLK-0504", str(exc))
        record_step(
            run, node, StepStatus.COMPLETED, started=started, output={**data, "output": filled}
        )
        return
    logger.info(
        "workflow action",
        extra={
            "execution_id": str(run.execution.pk),
            "node_id": node["id"],
            "data": mask_document(data),
        },
    )
    record_step(run, node, StepStatus.COMPLETED, started=started, output=data)


def _run_transform(run: Run, node: dict[str, Any], call: ExecutorCall) -> None:
    """An executor that runs inside Flowker (no provider): the mapped, transformed document."""
    started = timezone.now()
    try:
        document = build_request(run.context(), call.input_mapping, call.transforms)
    except MappingError as exc:
        fail_step(run, node, started, "FLK-0504", f"transformation failed: {exc}")
    output = document.body if isinstance(document.body, dict) else {"body": document.body}
    record_step(run, node, StepStatus.COMPLETED, started=started, output=output)


class _Resolved:
    """The calls this worker process resolved (with their decrypted provider configuration),
    valid while the configurations' stamp read with the lease is unchanged: any change to a
    provider or executor configuration (its `updated_at`, or how many there are) empties it."""

    def __init__(self) -> None:
        self.stamp: str | None = None
        self.calls: dict[str, tuple[ExecutorCall, dict[str, Any] | None]] = {}

    def get(self, stamp: str | None, data: dict[str, Any]) -> tuple[ExecutorCall, Any] | None:
        if stamp is None or stamp != self.stamp:
            return None
        return self.calls.get(jsoncodec.canonical(data))

    def put(self, stamp: str | None, data: dict[str, Any], call: ExecutorCall, config: Any) -> None:
        if stamp is None:
            return
        if stamp != self.stamp:
            self.stamp, self.calls = stamp, {}
        self.calls[jsoncodec.canonical(data)] = (call, config)


RESOLVED = _Resolved()


def _resolve(run: Run, node: dict[str, Any]) -> tuple[ExecutorCall, dict[str, Any] | None]:
    """The node's call as the configurations stand now (FLK-0512 when they no longer allow it),
    with the provider configuration decrypted (None for an executor without a provider)."""
    data = node.get("data") or {}
    stamp = getattr(run.execution, "config_stamp", None)
    cached = RESOLVED.get(stamp, data)
    if cached is not None:
        return cached
    try:
        call = resolve(data, require_active_provider=False)
        check_runnable(call)
    except ResolutionError as exc:
        raise NodeFailure("FLK-0512", exc.message) from exc
    config = None if call.provider_config is None else plain_config(call.provider_config)
    RESOLVED.put(stamp, data, call, config)
    return call, config


def _prepare(
    run: Run, node: dict[str, Any], call: ExecutorCall, config: dict[str, Any]
) -> PreparedCall:
    data = node.get("data") or {}
    try:
        document = build_request(run.context(), call.input_mapping, call.transforms)
    except MappingError as exc:
        raise NodeFailure("FLK-0504", f"input transformation failed: {exc}") from exc
    try:
        return node_call(
            call=call,
            connection=connection_for(
                call.provider_config.provider_id, config, owner=str(call.provider_config.pk)
            ),
            config=config,
            node_data=data,
            body=document.body,
            query=document.query,
            headers=document.headers,
            idempotency_key=f"{run.execution.pk}:{node['id']}",
        )
    except ValueError as exc:
        raise NodeFailure("FLK-0512", f"invalid configuration: {exc}") from exc


def _executor_label(call: ExecutorCall) -> str:
    """Metrics name an executor by its configuration, else by the catalog executor."""
    return call.executor_config.name if call.executor_config is not None else call.executor.id


def _breaker_key(call: ExecutorCall) -> str:
    """Per executor configuration; per provider configuration when the node has none."""
    if call.executor_config is not None:
        return breaker_key("executor", call.executor_config.pk)
    return breaker_key("provider", call.provider_config.pk)


def _details(
    prepared: PreparedCall, status: int | None, duration: int | None, response: Any
) -> dict[str, Any]:
    return {
        "method": prepared.request.method,
        "url": response.url if response is not None else redact_url(prepared.request.url),
        "statusCode": status,
        "durationMs": duration,
    }


def run_executor(run: Run, node: dict[str, Any]) -> RetryLater | None:
    """One attempt of the node's call per task: a transient failure schedules the next one
    (a RetryLater) unless the attempts or the deadline are used up."""
    started = timezone.now()
    try:
        call, config = _resolve(run, node)
        prepared = None if config is None else _prepare(run, node, call, config)
    except NodeFailure as failure:
        step = run.steps.get(node["id"])
        if step is not None:  # resuming a waiting step whose configuration changed meanwhile
            give_up(node, step, failure.code, failure.message)
        fail_step(run, node, started, failure.code, failure.message)
    if prepared is None:
        _run_transform(run, node, call)
        return None
    request = prepared.request
    step = start_step(
        run,
        node,
        mask_document(
            {
                "method": request.method,
                "url": redact_url(request.url),
                "query": request.query,
                "body": request.body,
            }
        ),
    )
    number = len(step.attempts) + 1
    attempt: dict[str, Any] = {"attempt": number, "startedAt": timezone.now().isoformat()}
    # Recorded (with the lease renewed for the call) before the request is sent.
    record_attempt(run, step, attempt, seconds=request.timeout or 0)
    outcome = perform(prepared, breaker_key=_breaker_key(call))
    metrics.provider_call(
        provider_config=call.provider_config.name,
        executor=_executor_label(call),
        outcome=outcome_word(outcome),
        seconds=reached_network_seconds(outcome),
    )
    if isinstance(outcome, BreakerOpened):
        attempt.update(outcome="refused", error=outcome.detail)
        give_up(node, step, "FLK-0507", f"circuit breaker open: {outcome.detail}")
    if isinstance(outcome, Refused):
        attempt.update(outcome="refused", error=outcome.detail)
        give_up(node, step, "FLK-0504", f"refused by the outbound address policy: {outcome.detail}")
    if isinstance(outcome, Failed) and outcome.response is None:
        attempt.update(outcome="failed", error=outcome.detail)
        if outcome.status is not None:
            attempt["statusCode"] = outcome.status
        give_up(node, step, outcome.code, outcome.message)
    if isinstance(outcome, Transient):
        return _after_transient(
            run, node, step, attempt, prepared, outcome, number, call.provider_config.name
        )
    response = outcome.response
    attempt.update(outcome="completed", statusCode=response.status, durationMs=outcome.duration_ms)
    step.call_details = _details(prepared, response.status, outcome.duration_ms, response)
    if isinstance(outcome, Failed):
        give_up(node, step, outcome.code, outcome.message, response=response)
    _finish_succeeded(node, step, call, outcome)
    return None


def _after_transient(
    run: Run,
    node: dict[str, Any],
    step: ExecutionStep,
    attempt: dict[str, Any],
    prepared: PreparedCall,
    outcome: Transient,
    number: int,
    provider_name: str,
) -> RetryLater:
    attempt.update(
        outcome="failed",
        error=outcome.error,
        statusCode=outcome.status,
        durationMs=outcome.duration_ms,
    )
    step.call_details = _details(prepared, outcome.status, outcome.duration_ms, outcome.response)
    failed_after = f"executor call failed after {number} attempts"
    if not retry.attempts_left(number):
        give_up(node, step, "FLK-0504", f"{failed_after}: {outcome.error}", outcome.response)
    due = retry.next_attempt_at(number, outcome.retry_after)
    if due >= run.execution.deadline_at:
        give_up(
            node,
            step,
            "FLK-0504",
            f"{failed_after} (the next one would pass the deadline): {outcome.error}",
            outcome.response,
        )
    step.retry_at = due
    step.save(update_fields=["attempts", "call_details", "retry_at"])
    # The runner hands the lease back (until the earliest retry) once no branch is in flight.
    metrics.RETRIES_SCHEDULED.labels(provider_name).inc()
    return RetryLater(at=due)


def _finish_succeeded(
    node: dict[str, Any], step: ExecutionStep, call: ExecutorCall, outcome: Succeeded
) -> None:
    response = outcome.response
    envelope = {
        "status": response.status,
        "headers": response.headers,
        "url": response.url,
        "body": response.body,
    }
    try:
        output, updates = build_output(envelope, call.output_mapping)
    except MappingError as exc:
        give_up(node, step, "FLK-0504", f"output transformation failed: {exc}")
    finish_step(step, StepStatus.COMPLETED, output=output, workflow_updates=updates)


HANDLERS: dict[str, Callable[[Run, dict[str, Any]], RetryLater | None]] = {
    "conditional": run_conditional,
    "action": run_action,
    "executor": run_executor,
}
