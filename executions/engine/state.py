"""What the engine holds while it advances an execution: the leased execution and its steps
(the walk's view of them and the context mappings read), and how a step is persisted.

Steps of nodes that finish in one go without reaching outside (conditional, action, transform,
skipped, failed) are buffered on the run and written together with the next write that matters:
an executor's attempt (`record_attempt`, before the request is sent) or the terminal update
(`executions.services`, in its transaction). They are a pure function of the persisted steps and
the input, so a worker that dies before that write loses nothing: the next one recomputes them.
Every step is persisted before anything leaves Flowker or the execution ends."""

import copy
import datetime
import threading
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from executions.choices import StepStatus
from executions.engine.mapping import apply_workflow_updates
from executions.engine.walk import StepView
from executions.models import Execution, ExecutionStep


class NodeFailure(Exception):
    """A node failed: the execution fails with this code (FLK-0504/0507/0512)."""

    def __init__(self, code: str, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.node_id = code, message, node_id


@dataclass(frozen=True)
class RetryLater:
    """The node's next attempt is scheduled for `at`; this task stops here."""

    at: datetime.datetime


@dataclass
class Run:
    execution: Execution
    token: str  # the lease owner
    steps: dict[str, ExecutionStep] = field(default_factory=dict)
    # Steps recorded but not yet written; the execution shares the list, so the terminal
    # services (which receive the execution) write them in their transaction.
    unsaved: list[ExecutionStep] = field(default_factory=list)
    # Parallel branches share the run: a step's number is taken, its row inserted and the
    # dict updated under this lock, so numbers stay unique and in the order steps start.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    # Nodes whose branch is in flight: another thread is writing their step, so the walk sees
    # them as running and the context leaves them out until the branch has ended.
    busy: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.execution.unsaved_steps = self.unsaved
        # The lease may have told the execution it has no steps (to spare the read); from here
        # on they are written, so its `steps` are read from the database again.
        getattr(self.execution, "_prefetched_objects_cache", {}).pop("steps", None)

    @property
    def next_step_number(self) -> int:
        return len(self.steps) + 1

    def views(self) -> dict[str, StepView]:
        with self.lock:
            steps = list(self.steps.items())
            busy = set(self.busy)
        return {
            node_id: StepView("running")
            if node_id in busy
            else StepView(step.status, (step.output or {}).get("branchTaken"))
            for node_id, step in steps
        }

    def context(self) -> dict[str, Any]:
        """`workflow` (the input with outputMapping writes applied) plus each node's output."""
        with self.lock:
            ordered = sorted(
                (step for step in self.steps.values() if step.node_id not in self.busy),
                key=lambda s: s.step_number,
            )
        workflow = copy.deepcopy(self.execution.input_data)
        for step in ordered:
            if step.workflow_updates:
                workflow = apply_workflow_updates(workflow, step.workflow_updates)
        context: dict[str, Any] = {"workflow": workflow}
        for step in ordered:
            if step.status == StepStatus.COMPLETED:
                context[step.node_id] = step.output
        return context


def step_name(node: dict[str, Any]) -> str:
    return (node.get("name") or f"{node.get('type', 'node')}_{node['id']}")[:120]


def _ms(start: datetime.datetime, end: datetime.datetime) -> int:
    return max(0, round((end - start).total_seconds() * 1000))


def record_step(
    run: Run,
    node: dict[str, Any],
    status: str,
    *,
    started: datetime.datetime,
    output: Any = None,
    step_input: Any = None,
    error: tuple[str, str] | None = None,
) -> ExecutionStep:
    """Record a step that finished in one go (conditional, action, transform, skipped,
    failed); it is written with the next write of the walk (see the module docstring)."""
    with run.lock:  # parallel branches share the numbering and the buffer
        finished = timezone.now()
        step = ExecutionStep(
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
        run.unsaved.append(step)
    return step


def start_step(run: Run, node: dict[str, Any], step_input: Any) -> ExecutionStep:
    """The running step of an executor node: made on its first attempt (written with that
    attempt by `record_attempt`), resumed after."""
    with run.lock:
        step = run.steps.get(node["id"])
        if step is not None:
            return step
        step = ExecutionStep(
            execution=run.execution,
            step_number=run.next_step_number,
            node_id=node["id"],
            node_type="executor",
            step_name=step_name(node),
            status=StepStatus.RUNNING,
            input=step_input,
            started_at=timezone.now(),
        )
        run.steps[node["id"]] = step
    return step


def flush_steps(unsaved: list[ExecutionStep] | None) -> None:
    """Write the buffered steps (one INSERT); nothing when there are none."""
    if not unsaved:
        return
    if len(unsaved) == 1:
        unsaved[0].save(force_insert=True)  # bulk_create would wrap it in a transaction
    else:
        ExecutionStep.objects.bulk_create(unsaved)
    unsaved.clear()


# What finishing an executor's step changes (its input and identity were written with its
# first attempt and stay as they are).
FINISHED_FIELDS = ("status", "completed_at", "duration_ms", "retry_at", "attempts", "call_details")


def finish_step(step: ExecutionStep, status: str, **fields: Any) -> None:
    step.status = status
    step.completed_at = timezone.now()
    step.duration_ms = _ms(step.started_at, step.completed_at)
    step.retry_at = None
    for name, value in fields.items():
        setattr(step, name, value)
    if step._state.adding:  # never written (it failed before its first attempt)
        step.save(force_insert=True)
    else:
        step.save(update_fields=[*FINISHED_FIELDS, *fields])
