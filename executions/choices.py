from django.db import models


class ExecutionStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The one definition of "finished" (API, console, dashboards, waits): nothing moves it again.
TERMINAL = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
ACTIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
RETRYABLE = (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


class StepStatus(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class CallbackStatus(models.TextChoices):
    """A completion callback's delivery: `pending` until a receiver answers 2xx (`delivered`)
    or the attempts run out or the destination is refused (`failed`)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# The events a workflow's callback may list: the terminal statuses.
CALLBACK_EVENTS = [status.value for status in TERMINAL]
