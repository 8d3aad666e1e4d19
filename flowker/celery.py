"""The Celery application: configured from Django settings (CELERY_* names)."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowker.settings")

app = Celery("flowker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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


@worker_process_init.connect
def _start_tracing(**_: object) -> None:
    """Each pool process traces on its own, after the fork (nothing is imported when off)."""
    from flowker import tracing

    tracing.setup()
