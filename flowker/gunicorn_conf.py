"""gunicorn settings Flowker needs in any deployment: `-c python:flowker.gunicorn_conf`."""

from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """A web worker that exits takes its live gauges with it (multiprocess metrics)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
