"""Celery entry points of the engine (thin: the work is in executions.engine.runner)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from executions import selectors, services
from executions.breakers import breaker_list
from executions.choices import ExecutionStatus
from executions.engine import runner
from executions.models import Execution
from flowker import metrics


@shared_task(name="executions.run", acks_late=True, reject_on_worker_lost=True)
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
        run_execution.apply_async(
            args=[execution_id], eta=waiting, queue=settings.FLOWKER_EXECUTION_QUEUE, retry=False
        )


@shared_task(name="executions.reap", acks_late=False)
def reap() -> dict[str, int]:
    return services.executions_reap()


@shared_task(name="executions.refresh_gauges", acks_late=False)
def refresh_gauges() -> None:
    """Beat's refresh of the backlog and breaker gauges, so a scrape costs no query."""
    counts, oldest_pending = selectors.execution_backlog()
    metrics.backlog(counts, oldest_pending)
    metrics.breaker_states(
        {view.key: view.state for view in breaker_list() if view.state != "unknown"}
    )
