"""The Celery application: configured from Django settings (CELERY_* names)."""

import logging
import os
import time
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowker.settings")

app = Celery("flowker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

WORKER_HEARTBEAT_KEY = "flowker:worker:{queue}"


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


@worker_process_shutdown.connect
def _forget_live_gauges(pid: int | None = None, **_: object) -> None:
    """A pool child that exits takes its live gauges with it (multiprocess metrics)."""
    from flowker.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())
