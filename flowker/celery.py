"""The Celery application: configured from Django settings (CELERY_* names)."""

import logging
import os
import time
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_process_shutdown
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowker.settings")

app = Celery("flowker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("flowker.executions")
WORKER_HEARTBEAT_KEY = "flowker:worker:{queue}"


class Consumer(CeleryConsumer):
    """Celery's consumer (CELERY_WORKER_CONSUMER), telling the dispatch records what it drops.

    When the broker connection is lost, Celery drops the run tasks this worker had received but
    not started (prefetched, or waiting for their ETA): their delivery can no longer be
    acknowledged, and the broker gives them out again only after the visibility timeout
    (15 minutes). Their executions' dispatch records are marked unpublished here, so beat's
    reaper sends them again as soon as the broker is back (executions.reaper)."""

    def on_close(self) -> None:
        from celery.worker.state import active_requests, reserved_requests, scheduled_requests

        from executions.dispatch import RUN_TASK

        dropped = [
            request.args[0]
            for request in (*reserved_requests, *scheduled_requests)
            if request not in active_requests and request.name == RUN_TASK and request.args
        ]
        super().on_close()
        if dropped:
            _forget_publishes(dropped)


def _forget_publishes(execution_ids: list[str]) -> None:
    from django.db import connection

    from executions.choices import ACTIVE
    from executions.models import Execution

    try:
        Execution.objects.filter(pk__in=execution_ids, status__in=ACTIVE).update(published_at=None)
        logger.info("run tasks dropped on broker loss", extra={"count": len(execution_ids)})
    except Exception as exc:  # the reaper's last-resort rule still sends them
        logger.warning("dropped run tasks not recorded: %s", type(exc).__name__)
    finally:
        connection.close()


def worker_heartbeat_key(queue: str) -> str:
    return WORKER_HEARTBEAT_KEY.format(queue=queue)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """While the worker's consumer is connected, it records every few seconds, for each queue
    it consumes, that a worker serves that queue (/health and /readyz read it). A worker that
    died, or lost the broker, stops recording, and its queue is shown without a worker."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, consumer: Any) -> None:
        from django.conf import settings

        self.beat(consumer)
        self.tref = consumer.timer.call_repeatedly(
            settings.FLOWKER_WORKER_HEARTBEAT_SECONDS, self.beat, (consumer,), priority=10
        )

    def stop(self, consumer: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop

    def beat(self, consumer: Any) -> None:
        from django.conf import settings
        from django.core.cache import cache

        queues = [queue.name for queue in consumer.task_consumer.queues]
        try:
            cache.set_many(
                {worker_heartbeat_key(queue): time.time() for queue in queues},
                timeout=int(settings.FLOWKER_WORKER_STALE_SECONDS * 4),
            )
        except Exception as exc:  # the cache is away: the heartbeat ages, as it should
            logging.getLogger("flowker.health").warning(
                "worker heartbeat not recorded: %s", type(exc).__name__
            )


app.steps["consumer"].add(WorkerHeartbeat)


def ensure_broker_folders() -> None:
    """The embedded (filesystem) broker needs its folders before anyone sends or consumes."""
    from django.conf import settings

    if settings.FLOWKER_EMBEDDED_BROKER:
        for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
            Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key]).mkdir(parents=True, exist_ok=True)


@task_prerun.connect
@task_postrun.connect
def _drop_broken_database_connections(**_: object) -> None:
    """Before and after every task, a database connection that saw an error and no longer works
    (PostgreSQL restarted) is closed, so the next query reconnects. Celery's Django fixup keeps
    connections for CELERY_DB_REUSE_MAX tasks without checking them: without this, every task
    of a worker (the reaper's included) failed with "the connection is closed" after a database
    restart until the worker was restarted. Connections past CONN_MAX_AGE are closed too."""
    from django.db import close_old_connections

    close_old_connections()


@worker_process_shutdown.connect
def _forget_live_gauges(pid: int | None = None, **_: object) -> None:
    """A pool child that exits takes its live gauges with it (multiprocess metrics)."""
    from flowker.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())


@worker_process_init.connect
def _start_tracing(**_: object) -> None:
    """Each pool process traces on its own, after the fork (nothing is imported when off)."""
    from flowker import tracing

    tracing.setup()
