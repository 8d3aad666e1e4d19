"""The engine's rim: takes an execution's lease, walks its graph with the pure core (walk,
conditions, mapping, templating), and persists each step as it finishes, so a worker that dies
loses nothing. Waits between attempts are re-scheduled tasks, never sleeps.

Branches run at the same time: every executor node the walk finds ready is started in a
thread of this task (at most FLOWKER_MAX_PARALLEL_CALLS at once, each thread with its own
database connection, closed when its node ends), while conditionals, actions and skips are
recorded by the task's own thread. A node that is ready alone runs in the task's thread, as
a single-path workflow always did. A failing branch fails the execution once the calls still
in flight have finished and been recorded; a branch waiting for its retry blocks no other, and
the lease is handed back, until the earliest retry, only when no branch is in flight.

What each node does is in `nodes`; the retry policy in `retry`; every status change of the
execution (lease, complete, fail) goes through `executions.services`."""

import contextvars
import datetime
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections
from django.utils import timezone

from executions import services
from executions.choices import StepStatus
from executions.dispatch import dispatch_run
from executions.engine.nodes import run_node
from executions.engine.state import NodeFailure, RetryLater, Run, record_step
from executions.engine.walk import Move, ready_moves
from flowker import tracing

logger = logging.getLogger("flowker.engine")

BUSY = "busy"  # someone else holds the lease (or the execution is terminal)
DONE = "done"  # this task went as far as it could: terminal, failed, or lease lost
WAITING = "waiting"  # a retry is scheduled


def acquire(execution_id: Any) -> Run | None:
    """Take the execution if nobody holds a live lease on it; None otherwise."""
    leased = services.execution_lease(execution_id=execution_id)
    if leased is None:
        return None
    execution, token = leased
    steps = {step.node_id: step for step in execution.steps.all()}
    return Run(execution=execution, token=token, steps=steps)


def run(execution_id: Any) -> str:
    """Advance the execution as far as it goes in this task. A task that arrives a little
    before its retry is due is sent again for then."""
    current = acquire(execution_id)
    if current is None:
        due = services.execution_waiting_until(execution_id=execution_id)
        if due is not None:
            dispatch_run(execution_id, eta=due)
        return BUSY
    if tracing.ACTIVE:  # on the Celery task's span
        tracing.annotate(
            {
                "flowker.execution.id": str(execution_id),
                "flowker.workflow.id": str(current.execution.workflow_id),
            }
        )
    try:
        outcome = _walk(current)
        tracing.annotate({"flowker.execution.outcome": outcome})
        return outcome
    except NodeFailure as failure:
        tracing.annotate(
            {"flowker.execution.outcome": "failed", "flowker.error.code": failure.code}
        )
        step = current.steps.get(failure.node_id) if failure.node_id else None
        services.execution_fail(
            execution=current.execution,
            code=failure.code,
            message=failure.message,
            owner=current.token,
            step=step,
        )
    except (services.LeaseLost, IntegrityError) as exc:
        logger.info("execution %s: stopping, lease lost or cancelled (%s)", execution_id, exc)
    return DONE


def _run(current: Run, node: dict[str, Any], *, skip: bool = False) -> RetryLater | None:
    """Run (or record as skipped) one node, in a span named by its id and type when tracing."""
    if not tracing.ACTIVE:
        return _run_untraced(current, node, skip)
    attributes = {
        "flowker.execution.id": str(current.execution.pk),
        "flowker.workflow.id": str(current.execution.workflow_id),
        "flowker.node.id": node["id"],
        "flowker.node.type": node.get("type", ""),
    }
    with tracing.span(f"{node['id']} {node.get('type', 'node')}", attributes) as span:
        try:
            outcome = _run_untraced(current, node, skip)
        except NodeFailure as failure:
            span.set_attributes(
                {"flowker.step.status": "failed", "flowker.error.code": failure.code}
            )
            raise
        step = current.steps.get(node["id"])
        status = "waiting" if isinstance(outcome, RetryLater) else step.status if step else ""
        span.set_attribute("flowker.step.status", status)
        return outcome


def _run_untraced(current: Run, node: dict[str, Any], skip: bool) -> RetryLater | None:
    if skip:
        record_step(current, node, StepStatus.SKIPPED, started=timezone.now())
        return None
    return run_node(current, node)


def _branch(current: Run, node: dict[str, Any]) -> RetryLater | None:
    """One branch's node, in a thread of the pool: the thread's connection is closed after it
    (a pooled thread is reused by the next branch, possibly much later)."""
    try:
        return _run(current, node)
    finally:
        connections.close_all()


class Branches:
    """The executor nodes of one execution in flight at the same time."""

    def __init__(self, current: Run) -> None:
        self.current = current
        self.limit = settings.FLOWKER_MAX_PARALLEL_CALLS
        self.pool: ThreadPoolExecutor | None = None
        self.running: dict[Future, str] = {}
        self.failure: BaseException | None = None  # the first branch that raised

    def node_ids(self) -> set[str]:
        return set(self.running.values())

    def room(self) -> int:
        return self.limit - len(self.running)

    def start(self, node: dict[str, Any]) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.limit, thread_name_prefix="flowker-branch")
        with self.current.lock:
            self.current.busy.add(node["id"])
        # The thread runs in a copy of this one's context: the trace and log ids go along.
        context = contextvars.copy_context()
        self.running[self.pool.submit(context.run, _branch, self.current, node)] = node["id"]

    def settle(self, timeout: float | None) -> None:
        """Wait until a branch ends (at most `timeout` seconds), and collect what ended."""
        if self.running:
            wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        self.collect()

    def collect(self) -> None:
        for future in [future for future in self.running if future.done()]:
            node_id = self.running.pop(future)
            with self.current.lock:
                self.current.busy.discard(node_id)
            error = future.exception()
            if error is None:
                continue
            if self.failure is None:
                self.failure = error
            else:
                logger.info(
                    "execution %s: branch %s also ended: %r",
                    self.current.execution.pk,
                    node_id,
                    error,
                )

    def drain(self) -> None:
        """Let every call in flight finish and record its step, then stop the threads."""
        if self.running:
            wait(list(self.running))
            self.collect()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


def _walk(current: Run) -> str:
    branches = Branches(current)
    try:
        return _advance(current, branches)
    finally:
        branches.drain()


def _waiting(current: Run, now: datetime.datetime) -> dict[str, datetime.datetime]:
    """Running steps whose next attempt is not due yet, with when it is."""
    with current.lock:
        steps = [step for step in current.steps.values() if step.node_id not in current.busy]
    return {
        step.node_id: step.retry_at
        for step in steps
        if step.status == StepStatus.RUNNING and step.retry_at is not None and step.retry_at > now
    }


def _failed_step(current: Run) -> Any:
    with current.lock:
        steps = [step for step in current.steps.values() if step.node_id not in current.busy]
    return next((step for step in steps if step.status == StepStatus.FAILED), None)


def _run_alone(current: Run, move: Move) -> None:
    """A skip, conditional or action: recorded by the task's thread while no branch can start
    a step, so step numbers follow start times."""
    with current.lock:
        _run(current, move.node, skip=move.skip)


def _advance(current: Run, branches: Branches) -> str:
    execution = current.execution
    while True:
        branches.collect()
        if branches.failure is not None:
            branches.drain()  # the other branches' calls finish and are recorded first
            raise branches.failure
        failed = _failed_step(current)
        if failed is not None:  # a branch failed before a crash: the others stop here too
            branches.drain()
            raise NodeFailure(failed.error_code or "FLK-0504", failed.error_message, failed.node_id)
        now = timezone.now()
        if now >= execution.deadline_at:
            branches.drain()
            services.execution_fail(
                execution=execution,
                code="FLK-0503",
                message="execution deadline exceeded",
                owner=current.token,
            )
            return DONE
        # A step boundary: a cancel (or a lost lease) stops the walk before the next node.
        services.execution_lease_renew(execution=execution, owner=current.token, seconds=0)
        waiting = _waiting(current, now)
        busy = branches.node_ids()
        moves = [
            move
            for move in ready_moves(execution.nodes, execution.edges, current.views())
            if move.node["id"] not in busy and move.node["id"] not in waiting
        ]
        quick = next((m for m in moves if m.skip or m.node.get("type") != "executor"), None)
        if quick is not None:
            _run_alone(current, quick)
            continue
        if not moves and not branches.running:
            return _settle_run(current, waiting)
        if len(moves) == 1 and not branches.running:
            _run(current, moves[0].node)  # a single path: no thread needed
            continue
        for move in moves[: branches.room()]:
            branches.start(move.node)
        wake = min([execution.deadline_at, *waiting.values()])
        branches.settle(timeout=max(0.0, (wake - timezone.now()).total_seconds()))


def _settle_run(current: Run, waiting: dict[str, datetime.datetime]) -> str:
    """Nothing can move and nothing is in flight: wait for the earliest retry, complete, or
    fail a graph that cannot progress."""
    execution = current.execution
    if waiting:
        services.execution_lease_release(
            execution=execution, owner=current.token, until=min(waiting.values())
        )
        return WAITING
    if len(current.steps) < execution.total_steps:
        raise NodeFailure("FLK-0504", "the workflow graph cannot progress")
    services.execution_complete(
        execution=execution, steps=list(current.steps.values()), owner=current.token
    )
    return DONE
