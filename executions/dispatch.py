"""The one way work reaches the engine: the run task sent by name to the execution queue, so
no module imports `executions.tasks` to enqueue (the tasks import the engine, not the reverse).

Every send is recorded on the execution's dispatch record: `dispatched_at` says when a run was
asked for, `published_at` when the broker took the task for it. Beat's reaper re-sends only what
was never handed to the broker (`published_at` empty after FLOWKER_DISPATCH_GRACE_SECONDS), so a
task that is merely waiting in a long queue is never doubled (executions.reaper).

A start writes `published_at` with the execution itself, since its publish follows the commit
at once (`stamped`): a publish that fails, or is skipped, clears it, and one that succeeds costs
no statement more. A process that dies between that commit and the publish leaves a record that
says published: the reaper's rules for a task no worker took send it (the queue is first in,
first out, so at once when later executions are taken; else after
FLOWKER_DISPATCH_REPUBLISH_SECONDS).

A publish is bounded: one connection attempt with short socket timeouts (the broker transport
options in settings) and no retries. On the request path a broker failure is logged, the
response goes out at once, and for FLOWKER_PUBLISH_PAUSE_SECONDS this process does not try again
(each try could cost a connect timeout while the broker is unreachable): the reaper sends
those executions once the broker is back.
"""

import datetime
import logging
import threading
import time
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowker.celery import app

RUN_TASK = "executions.run"
logger = logging.getLogger("flowker.executions")


class _PublishPause:
    """When this process last failed to reach the broker (monotonic seconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def active(self) -> bool:
        with self._lock:
            if self._failed_at is None:
                return False
            return time.monotonic() - self._failed_at < settings.FLOWKER_PUBLISH_PAUSE_SECONDS

    def failed(self) -> None:
        with self._lock:
            self._failed_at = time.monotonic()

    def succeeded(self) -> None:
        with self._lock:
            self._failed_at = None


PUBLISH_PAUSE = _PublishPause()


def dispatch_run(
    execution_id: Any,
    *,
    eta: datetime.datetime | None = None,
    stamped: datetime.datetime | None = None,
) -> None:
    """Send the run task now and record that the broker took it (already recorded when
    `stamped`). A broker failure raises (no publish retries: callers either log it or leave the
    execution to beat's reaper)."""
    from executions.models import Execution

    try:
        app.send_task(
            RUN_TASK,
            args=[str(execution_id)],
            eta=eta,
            queue=settings.FLOWKER_EXECUTION_QUEUE,
            retry=False,
        )
    except Exception:
        PUBLISH_PAUSE.failed()
        raise
    PUBLISH_PAUSE.succeeded()
    if stamped is None:
        Execution.objects.filter(pk=execution_id, published_at__isnull=True).update(
            published_at=timezone.now()
        )


def _not_published(execution_id: Any, stamped: datetime.datetime | None) -> None:
    """The record written as published says it was not (its own stamp only: a reaper's later
    dispatch is left as it is)."""
    from executions.models import Execution

    if stamped is None:
        return
    try:
        Execution.objects.filter(pk=execution_id, published_at=stamped).update(published_at=None)
    except Exception as error:  # the database is away too: the reaper's queue rules send it
        logger.warning("dispatch record not corrected: %s", type(error).__name__)


def _send_after_commit(
    execution_id: Any, eta: datetime.datetime | None, stamped: datetime.datetime | None
) -> None:
    if PUBLISH_PAUSE.active():
        logger.info("broker unreachable a moment ago: the reaper sends %s", execution_id)
        _not_published(execution_id, stamped)
        return
    try:
        dispatch_run(execution_id, eta=eta, stamped=stamped)
    except Exception as exc:
        logger.warning(
            "run task not sent; the reaper sends it",
            extra={"execution_id": str(execution_id), "error": type(exc).__name__},
        )
        _not_published(execution_id, stamped)


def dispatch_run_on_commit(
    execution_id: Any,
    *,
    eta: datetime.datetime | None = None,
    stamped: datetime.datetime | None = None,
) -> None:
    """Send the run task once the current transaction commits. A broker failure is logged, not
    raised: the execution's dispatch record (no `published_at`) lets beat's reaper send it.
    `stamped`: the transaction wrote `published_at` with this value (see the module
    docstring)."""
    transaction.on_commit(partial(_send_after_commit, execution_id, eta, stamped))
