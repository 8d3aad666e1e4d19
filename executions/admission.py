"""Load shedding at the door: a new execution is refused with 503 FLK-0006 and `Retry-After`
while FLOWKER_MAX_BACKLOG executions are already waiting for a worker (status `pending`).

Past that bound, accepting more only queues work that waits longer and longer and ends past its
deadline; refusing it tells the caller at once to come back later (every start path calls
`admit` before it writes anything). The count is bounded (it stops at the limit) and each
process refreshes it at most every FLOWKER_ADMISSION_REFRESH_SECONDS, so admission costs one
small query per process and period, not one per request.
"""

import threading
import time

from django.conf import settings

from executions.choices import ExecutionStatus
from executions.models import Execution
from flowker.errors import Overloaded


class _Backlog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted_at = float("-inf")
        self._count = 0

    def at_least(self, limit: int) -> int:
        """Pending executions, counted up to `limit` (cached for the refresh period)."""
        with self._lock:
            if time.monotonic() - self._counted_at < settings.FLOWKER_ADMISSION_REFRESH_SECONDS:
                return self._count
        pending = Execution.objects.filter(status=ExecutionStatus.PENDING).values("pk")[:limit]
        count = pending.count()
        with self._lock:
            self._count, self._counted_at = count, time.monotonic()
        return count

    def forget(self) -> None:
        with self._lock:
            self._counted_at = float("-inf")


BACKLOG = _Backlog()


def admit() -> None:
    """Raise Overloaded when the backlog is at its bound; return otherwise."""
    limit = settings.FLOWKER_MAX_BACKLOG
    if limit <= 0:
        return
    if BACKLOG.at_least(limit) >= limit:
        raise Overloaded(
            f"too many executions waiting for a worker (at most {limit}); retry later",
            retry_after=settings.FLOWKER_SHED_RETRY_AFTER_SECONDS,
        )
