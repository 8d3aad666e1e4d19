"""The one way work reaches the engine: the run task sent by name to the execution queue, so
no module imports `executions.tasks` to enqueue (the tasks import the engine, not the reverse).
"""

import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from flowker.celery import app

RUN_TASK = "executions.run"


def dispatch_run(execution_id: Any, *, eta: datetime.datetime | None = None) -> None:
    """Send the run task now. A broker failure raises (no publish retries: callers either log
    it or leave the execution to beat's reaper)."""
    app.send_task(
        RUN_TASK,
        args=[str(execution_id)],
        eta=eta,
        queue=settings.FLOWKER_EXECUTION_QUEUE,
        retry=False,
    )


def dispatch_run_on_commit(execution_id: Any, *, eta: datetime.datetime | None = None) -> None:
    """Send the run task once the current transaction commits. A broker failure is logged, not
    raised: the execution's dispatch record or lease lets beat's reaper send it again."""
    transaction.on_commit(partial(dispatch_run, execution_id, eta=eta), robust=True)
