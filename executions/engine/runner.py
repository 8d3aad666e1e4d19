"""The engine's rim: takes an execution's lease, walks its graph one node at a time with the
pure core (walk, conditions, mapping, templating), and persists each step as it finishes, so a
worker that dies loses nothing. Waits between attempts are re-scheduled tasks, never sleeps.

What each node does is in `nodes`; the retry policy in `retry`; every status change of the
execution (lease, complete, fail) goes through `executions.services`."""

import logging
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from executions import services
from executions.choices import StepStatus
from executions.dispatch import dispatch_run
from executions.engine.nodes import run_node
from executions.engine.state import NodeFailure, RetryLater, Run, record_step
from executions.engine.walk import next_move

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
    try:
        return _walk(current)
    except NodeFailure as failure:
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


def _walk(current: Run) -> str:
    execution = current.execution
    while True:
        if timezone.now() >= execution.deadline_at:
            services.execution_fail(
                execution=execution,
                code="FLK-0503",
                message="execution deadline exceeded",
                owner=current.token,
            )
            return DONE
        # A step boundary: a cancel (or a lost lease) stops the walk before the next node.
        services.execution_lease_renew(execution=execution, owner=current.token, seconds=0)
        move = next_move(execution.nodes, execution.edges, current.views())
        if move is None and len(current.steps) < execution.total_steps:
            raise NodeFailure("FLK-0504", "the workflow graph cannot progress")
        if move is None:
            services.execution_complete(
                execution=execution, steps=list(current.steps.values()), owner=current.token
            )
            return DONE
        if move.skip:
            record_step(current, move.node, StepStatus.SKIPPED, started=timezone.now())
        elif isinstance(run_node(current, move.node), RetryLater):
            return WAITING
