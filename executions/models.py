"""Executions of workflows and their steps: everything the engine needs to resume after a
crash is in these rows (snapshot, steps with outputs, lease, deadline)."""

from django.db import models

from executions.choices import TERMINAL, CallbackStatus, ExecutionStatus, StepStatus
from flowker.ids import new_id
from flowker.jsoncodec import DecimalJSONDecoder, DecimalJSONEncoder


def _json(verbose_name: str, **kwargs) -> models.JSONField:
    return models.JSONField(
        verbose_name, encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder, **kwargs
    )


class Execution(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # No database constraint: a deleted workflow keeps its executions (and their audit).
    workflow = models.ForeignKey(
        "workflows.Workflow",
        verbose_name="workflow",
        related_name="executions",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # execution_workflow_idx leads with it
    )
    status = models.CharField(
        "status", max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING
    )
    input_data = _json("input", default=dict)
    output_data = _json("final output", null=True, blank=True)
    error = _json("error", null=True, blank=True)  # {code, message, nodeId, stepNumber, output}
    # The workflow definition as it was at start: resumption and retries use it.
    nodes = _json("nodes snapshot", default=list)
    edges = _json("edges snapshot", default=list)
    total_steps = models.PositiveIntegerField("total steps", default=0)
    current_step_number = models.PositiveIntegerField("current step", default=0)
    idempotency_key = models.CharField("idempotency key", max_length=255, null=True, blank=True)
    request_hash = models.CharField("request body hash", max_length=64, blank=True, default="")
    retry_of = models.ForeignKey(
        "self",
        verbose_name="retry of",
        related_name="retries",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    started_at = models.DateTimeField("started at", auto_now_add=True)
    completed_at = models.DateTimeField("completed at", null=True, blank=True)
    deadline_at = models.DateTimeField("deadline")
    # Dispatch record: when a run was last asked for, and when the broker took its task (empty
    # until then: beat's reaper sends only what the broker never took, see executions.reaper).
    dispatched_at = models.DateTimeField("last dispatched at", null=True, blank=True)
    published_at = models.DateTimeField("published at", null=True, blank=True)
    dispatch_count = models.PositiveIntegerField("dispatches", default=0)
    lease_owner = models.CharField("lease owner", max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField("lease expires at", null=True, blank=True)
    # Where the signed completion callback goes, fixed at start: {url, secret (sealed), events},
    # or null when there is none (executions/callbacks.py).
    callback_target = _json("callback target", null=True, blank=True)

    class Meta:
        verbose_name = "execution"
        verbose_name_plural = "executions"
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="execution_idempotency_key_unique",
            )
        ]
        # One index per list filter and sort of `GET /v1/executions`, each ending in `id` (the
        # cursor's tie-break) so a page is an index range read in order, never a sort of the
        # table. A NOT NULL sort field is ordered without NULLS LAST (see the paginator), so
        # one index serves both directions. The started-at ones carry `status` (and the
        # workflow index is the only one on `workflow`): the dashboards' counts over a time
        # range are index-only scans.
        indexes = [
            models.Index(
                fields=["started_at", "id"], include=["status"], name="execution_started_idx"
            ),
            models.Index(fields=["completed_at", "id"], name="execution_completed_idx"),
            # completedAt DESC lists NULLs (executions in progress) last.
            models.Index(
                models.F("completed_at").desc(nulls_last=True),
                models.F("id").desc(),
                name="execution_completed_desc_idx",
            ),
            models.Index(
                fields=["workflow", "started_at", "id"],
                include=["status"],
                name="execution_workflow_idx",
            ),
            models.Index(fields=["status", "started_at", "id"], name="execution_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


class ExecutionStep(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    execution = models.ForeignKey(
        Execution, verbose_name="execution", related_name="steps", on_delete=models.CASCADE
    )
    step_number = models.PositiveIntegerField("step number")
    node_id = models.CharField("node", max_length=50)
    node_type = models.CharField("node type", max_length=16)
    step_name = models.CharField("step name", max_length=120)
    status = models.CharField("status", max_length=16, choices=StepStatus.choices)
    input = _json("input (masked)", null=True, blank=True)
    output = _json("output", null=True, blank=True)
    # Writes an executor node's outputMapping made into the workflow namespace.
    workflow_updates = _json("workflow updates", default=dict, blank=True)
    error_code = models.CharField("error code", max_length=16, blank=True, default="")
    error_message = models.TextField("error", blank=True, default="")
    attempts = _json("attempts", default=list, blank=True)
    call_details = _json("call details", null=True, blank=True)
    retry_at = models.DateTimeField("next attempt at", null=True, blank=True)
    started_at = models.DateTimeField("started at")
    completed_at = models.DateTimeField("completed at", null=True, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", default=0)

    class Meta:
        verbose_name = "execution step"
        verbose_name_plural = "execution steps"
        ordering = ["step_number"]
        constraints = [
            # Each node runs at most once per execution.
            models.UniqueConstraint(fields=["execution", "node_id"], name="step_node_unique"),
            models.UniqueConstraint(fields=["execution", "step_number"], name="step_number_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.step_number} {self.node_id} ({self.status})"


class ExecutionCallback(models.Model):
    """The durable outbox row of an execution's completion callback: written in the same
    transaction as the terminal status, sent by a task on commit, re-sent by beat until the
    receiver answers 2xx or the attempts run out (executions/callbacks.py)."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    execution = models.OneToOneField(
        Execution,
        verbose_name="execution",
        related_name="callback",
        on_delete=models.CASCADE,
    )
    event = models.CharField("event", max_length=16, choices=ExecutionStatus.choices)
    url = models.CharField("URL", max_length=2000)
    secret = _json("secret (sealed)")
    # The exact JSON text sent on every attempt (the signature is computed over it).
    body = models.TextField("body")
    status = models.CharField(
        "status", max_length=16, choices=CallbackStatus.choices, default=CallbackStatus.PENDING
    )
    attempts = _json("attempts", default=list, blank=True)
    last_status_code = models.PositiveIntegerField("last status code", null=True, blank=True)
    next_attempt_at = models.DateTimeField("next attempt at")
    # Held by the worker sending an attempt, so no two send the same row at once.
    lease_expires_at = models.DateTimeField("lease expires at", null=True, blank=True)
    created_at = models.DateTimeField("created at", auto_now_add=True)
    delivered_at = models.DateTimeField("delivered at", null=True, blank=True)

    class Meta:
        verbose_name = "completion callback"
        verbose_name_plural = "completion callbacks"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="callback_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.url} ({self.status})"
