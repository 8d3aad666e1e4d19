"""Keeps the lease of every execution this process is running, while its run task is in flight.

The lease is short (FLOWKER_EXECUTION_LEASE_SECONDS) so that the reaper resumes a crashed
worker's execution quickly; a call longer than the lease must not let it lapse meanwhile. A
thread per worker process renews, every third of a lease, the leases of the executions its run
tasks hold (only a lease with an owner: one handed back for a retry wait is left as it is, and
a lease is never shortened). When the process dies the renewals stop and the lease expires
within one lease; the reaper then sends the execution to another worker, which repeats the
call in flight with the same Idempotency-Key as another attempt.
"""

import contextlib
import datetime
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from executions.choices import ExecutionStatus
from executions.models import Execution

logger = logging.getLogger("flowker.executions")


class LeaseKeeper:
    def __init__(self, *, autostart: bool = True) -> None:
        """`autostart=False`: no renewing thread (a test calls `renew` itself)."""
        self._autostart = autostart
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def keeping(self, execution_id: Any) -> Iterator[None]:
        """Renew the execution's lease (whoever in this process holds it) until the block ends."""
        key = str(execution_id)
        with self._lock:
            self._held[key] += 1
            if self._autostart and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="flowker-lease-keeper", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]

    def held(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def renew(self) -> int:
        """One round: push every held lease to a full lease from now. Returns how many."""
        held = self.held()
        if not held:
            return 0
        until = timezone.now() + datetime.timedelta(
            seconds=settings.FLOWKER_EXECUTION_LEASE_SECONDS
        )
        return (
            Execution.objects.filter(pk__in=held, status=ExecutionStatus.RUNNING)
            .exclude(lease_owner="")
            .update(lease_expires_at=Greatest(F("lease_expires_at"), Value(until)))
        )

    def _run(self) -> None:
        while True:
            self._wake.wait(settings.FLOWKER_EXECUTION_LEASE_SECONDS / 3)
            if not self.held():
                continue
            try:
                self.renew()
            except Exception as exc:  # the database may be away: try again next round
                logger.warning("lease renewal failed: %s", type(exc).__name__)
            finally:
                # This thread's own connection is not kept between rounds (nothing else
                # would ever close it).
                with contextlib.suppress(Exception):
                    connection.close()


KEEPER = LeaseKeeper()
