"""Load shedding at the door: a new execution is refused with 503 FLK-0006 and `Retry-After`
when the executions already waiting for a worker (status `pending`) are more than the workers
finish in FLOWKER_MAX_QUEUE_SECONDS, or FLOWKER_MAX_BACKLOG in any case.

Past that bound, accepting more only queues work that waits longer and longer and ends past its
deadline; refusing it tells the caller at once to come back later (every start path calls
`admit` before it writes anything). The bound follows the workers' pace: the rate is the
executions that ended over the last RATE_WINDOW_SECONDS, so what is accepted is finished within
about FLOWKER_MAX_QUEUE_SECONDS (a quiet system, whose rate is ~0, still admits
FLOWKER_MIN_BACKLOG at once). Each process counts at most every
FLOWKER_ADMISSION_REFRESH_SECONDS, in one small query (both counts are index scans, the pending
one bounded; see `_count` for the planner setting it runs with), so admission costs one query
per process and period, not one per request.
"""

import datetime
import math
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from executions.choices import ExecutionStatus
from executions.models import Execution
from flowker.errors import Overloaded

RATE_WINDOW_SECONDS = 5.0


def _count_statement() -> str:
    table = Execution._meta.db_table
    return (
        f"SELECT (SELECT count(*) FROM (SELECT 1 FROM {table} "  # noqa: S608 - model table name
        "WHERE status = %s ORDER BY status, started_at LIMIT %s) AS pending), "
        f"(SELECT count(*) FROM {table} WHERE completed_at >= %s)"
    )


def _count(since: datetime.datetime) -> tuple[int, int]:
    """Both counts in one statement. Every execution leaves a dead `pending` entry in the status
    index when a worker takes it; a bitmap scan (the planner's choice for few rows) re-reads
    each of those heap rows on every count (5 ms under load), while an index scan marks them
    dead as it passes, so the next count skips them (0.2 ms): bitmap scans are off for it."""
    # Inside a caller's transaction the setting would outlive this count: left as it is there.
    planner_hint = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if planner_hint:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            _count_statement(), [ExecutionStatus.PENDING, settings.FLOWKER_MAX_BACKLOG, since]
        )
        pending, ended = cursor.fetchone()
    return pending, ended


class _Backlog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted_at = float("-inf")
        self._pending = 0
        self._ended = 0

    def counts(self) -> tuple[int, int]:
        """(pending executions, counted up to FLOWKER_MAX_BACKLOG; executions that ended in
        the last RATE_WINDOW_SECONDS), cached for the refresh period."""
        with self._lock:
            if time.monotonic() - self._counted_at < settings.FLOWKER_ADMISSION_REFRESH_SECONDS:
                return self._pending, self._ended
        pending, ended = _count(timezone.now() - datetime.timedelta(seconds=RATE_WINDOW_SECONDS))
        with self._lock:
            self._pending, self._ended, self._counted_at = pending, ended, time.monotonic()
        return pending, ended

    def forget(self) -> None:
        with self._lock:
            self._counted_at = float("-inf")


BACKLOG = _Backlog()


def bound(ended_in_window: int) -> int:
    """How many pending executions are admitted, given how many ended in the rate window."""
    limit = settings.FLOWKER_MAX_BACKLOG
    seconds = settings.FLOWKER_MAX_QUEUE_SECONDS
    if seconds <= 0:
        return limit
    paced = math.ceil(ended_in_window / RATE_WINDOW_SECONDS * seconds)
    return min(limit, max(settings.FLOWKER_MIN_BACKLOG, paced))


def admit() -> None:
    """Raise Overloaded when the backlog is at its bound; return otherwise."""
    if settings.FLOWKER_MAX_BACKLOG <= 0:
        return
    pending, ended = BACKLOG.counts()
    limit = bound(ended)
    if pending >= limit:
        raise Overloaded(
            f"too many executions waiting for a worker (at most {limit}); retry later",
            retry_after=settings.FLOWKER_SHED_RETRY_AFTER_SECONDS,
        )
