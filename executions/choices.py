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
