"""Celery entry points of the engine (thin: the work is in executions.engine.runner)."""

import dataclasses
import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from executions import reaper, retention, selectors
from executions.breakers import breaker_list
from executions.callbacks import DELIVER_TASK, callback_deliver, callbacks_resend
from executions.dispatch import RUN_TASK
from executions.engine import runner
from executions.lease import KEEPER
from flowker import metrics

logger = logging.getLogger("flowker.executions")


# A run task that finds the database away is sent again for this much later, and again, until
# the database answers (the execution's deadline still bounds it).
DATABASE_AWAY_RETRY_SECONDS = 2


@shared_task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True, bind=True)
def run_execution(self: Task, execution_id: str) -> None:
    """A database that is away does not drop the run: the task is sent again for a moment later
    (its dispatch record says the broker took it, so none of the reaper's quick rules would send
    it before FLOWKER_DISPATCH_REPUBLISH_SECONDS). What the walk already wrote stays; a lease it
    took is resumed as any dropped lease is."""
    try:
        # The lease stays alive while this task runs, however long a call takes (executions.lease).
        with KEEPER.keeping(execution_id):
            runner.run(execution_id)
    except (OperationalError, InterfaceError) as exc:
        logger.warning(
            "database unavailable: the run is sent again",
            extra={"execution_id": execution_id, "error": type(exc).__name__},
        )
        raise self.retry(exc=exc, countdown=DATABASE_AWAY_RETRY_SECONDS, max_retries=None) from exc


@shared_task(name="executions.reap", acks_late=False)
def reap() -> dict[str, int]:
    return reaper.executions_reap()


@shared_task(name="executions.purge", acks_late=False)
def purge() -> dict | None:
    """Beat's retention run (executions/retention.py)."""
    result = retention.executions_purge()
    return None if result is None else dataclasses.asdict(result)


@shared_task(name="executions.refresh_gauges", acks_late=False)
def refresh_gauges() -> None:
    """Beat's refresh of the backlog and breaker gauges, so a scrape costs no query."""
    counts, oldest_pending = selectors.execution_backlog()
    metrics.backlog(counts, oldest_pending)
    metrics.breaker_states(
        {view.key: view.state for view in breaker_list() if view.state != "unknown"}
    )


@shared_task(name=DELIVER_TASK, acks_late=True, reject_on_worker_lost=True)
def deliver_callback(delivery_id: str) -> None:
    callback_deliver(delivery_id=delivery_id)


@shared_task(name="executions.resend_callbacks", acks_late=False)
def resend_callbacks() -> int:
    return callbacks_resend()
