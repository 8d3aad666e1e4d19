"""Celery entry points of the engine (thin: the work is in executions.engine.runner)."""

from celery import shared_task
from django.utils import timezone

from executions import services
from executions.choices import ExecutionStatus
from executions.dispatch import RUN_TASK, dispatch_run
from executions.engine import runner
from executions.models import Execution


@shared_task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True)
def run_execution(execution_id: str) -> None:
    if runner.run(execution_id) != runner.BUSY:
        return
    # A retry task that arrived a little before its attempt is due: send it again for then.
    waiting = (
        Execution.objects.filter(
            pk=execution_id,
            status=ExecutionStatus.RUNNING,
            lease_owner="",
            lease_expires_at__gt=timezone.now(),
        )
        .values_list("lease_expires_at", flat=True)
        .first()
    )
    if waiting is not None:
        dispatch_run(execution_id, eta=waiting)


@shared_task(name="executions.reap", acks_late=False)
def reap() -> dict[str, int]:
    return services.executions_reap()
