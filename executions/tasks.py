"""Celery entry points of the engine (thin: the work is in executions.engine.runner)."""

from celery import shared_task

from executions import services
from executions.dispatch import RUN_TASK
from executions.engine import runner


@shared_task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True)
def run_execution(execution_id: str) -> None:
    runner.run(execution_id)


@shared_task(name="executions.reap", acks_late=False)
def reap() -> dict[str, int]:
    return services.executions_reap()
