"""Beat's reaper: what it re-sends, and why that is never the executions merely waiting.

Every FLOWKER_REAPER_INTERVAL_SECONDS, on the housekeeping queue (so no backlog of executions
delays it), it
- fails every non-terminal execution past its deadline with FLK-0503;
- sends again what the broker never took: an active execution whose dispatch record has no
  `published_at` FLOWKER_DISPATCH_GRACE_SECONDS after it was asked for (the broker was down, or
  the process died between commit and publish);
- resumes what a worker took and dropped: a running execution whose lease has an owner and
  expired (2 s of slack) and that was not sent again since it expired;
- sends again a pending execution the queue skipped: the execution queue is first in, first
  out, so a task published more than FLOWKER_DISPATCH_GRACE_SECONDS before one a worker has
  already taken was lost on the way (popped as a connection died, or received by a worker that
  was killed before it started it);
- as a last resort, sends again a dispatch the broker took but nobody ran for
  FLOWKER_DISPATCH_REPUBLISH_SECONDS (a broker restarted without its data, or a start whose
  process died between its commit and its publish: a start records its dispatch as published
  with the execution, see executions.dispatch). That is far longer
  than a queue can wait under the admission bound (FLOWKER_MAX_BACKLOG), so a busy queue is not
  doubled.

A task that was published and is still queued is left alone. Each send is claimed first by a
conditional UPDATE of the dispatch record, so two reapers never send the same execution twice.
"""

import datetime
import logging
from typing import Any

from django.conf import settings
from django.db.models import F, Max, Q
from django.utils import timezone

from executions.choices import ACTIVE, ExecutionStatus
from executions.dispatch import dispatch_run
from executions.models import Execution
from executions.services import execution_fail

logger = logging.getLogger("flowker.executions")

# A lease may be a moment past its expiry while its owner's renewal is on the way.
LEASE_SLACK = datetime.timedelta(seconds=2)


def _seconds(value: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=value)


def _unpublished(now: datetime.datetime) -> Q:
    grace = now - _seconds(settings.FLOWKER_DISPATCH_GRACE_SECONDS)
    return Q(published_at__isnull=True) & (
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=grace)
    )


def _dropped(now: datetime.datetime) -> Q:
    """Taken by a worker, lease expired, not sent again since."""
    return (
        Q(status=ExecutionStatus.RUNNING, lease_expires_at__lt=now - LEASE_SLACK)
        & ~Q(lease_owner="")
        & Q(published_at__lt=F("lease_expires_at"))
    )


def _skipped(now: datetime.datetime) -> Q | None:
    """Pending, published well before the newest task a worker took lately (FIFO queue)."""
    window = now - _seconds(settings.FLOWKER_DISPATCH_REPUBLISH_SECONDS)
    newest_taken = (
        Execution.objects.filter(
            status__in=(ExecutionStatus.RUNNING, ExecutionStatus.COMPLETED, ExecutionStatus.FAILED),
            started_at__gte=window,
        )
        .aggregate(newest=Max("published_at"))
        .get("newest")
    )
    if newest_taken is None:
        return None
    before = newest_taken - _seconds(settings.FLOWKER_DISPATCH_GRACE_SECONDS)
    return Q(status=ExecutionStatus.PENDING, published_at__lt=before)


def _lost(now: datetime.datetime) -> Q:
    """Published long ago and still not taken (nor due in the future)."""
    long_ago = now - _seconds(settings.FLOWKER_DISPATCH_REPUBLISH_SECONDS)
    return Q(published_at__lt=long_ago) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=long_ago)
    )


def _claim(execution_id: Any, rule: Q, now: datetime.datetime) -> bool:
    """Start a new dispatch for the execution if `rule` still holds for it."""
    return bool(
        Execution.objects.filter(rule, pk=execution_id, status__in=ACTIVE).update(
            dispatched_at=now, published_at=None, dispatch_count=F("dispatch_count") + 1
        )
    )


def _eta(lease_owner: str, lease_expires_at: datetime.datetime | None, now: datetime.datetime):
    """A lease handed back for a retry wait is due at its expiry: the task is sent for then."""
    if not lease_owner and lease_expires_at is not None and lease_expires_at > now:
        return lease_expires_at
    return None


def executions_reap() -> dict[str, int]:
    """One sweep; returns what it did (for logs and tests)."""
    now = timezone.now()
    counts = {"failed": 0, "redispatched": 0, "resumed": 0, "republished": 0}
    for execution in Execution.objects.filter(status__in=ACTIVE, deadline_at__lt=now):
        if execution_fail(
            execution=execution, code="FLK-0503", message="execution deadline exceeded", owner=None
        ):
            counts["failed"] += 1
    limit = settings.FLOWKER_REAPER_BATCH
    skipped = _skipped(now)
    lost = _lost(now) if skipped is None else _lost(now) | skipped
    for name, rule in (
        ("redispatched", _unpublished(now)),
        ("resumed", _dropped(now)),
        ("republished", lost),
    ):
        candidates = (
            Execution.objects.filter(rule, status__in=ACTIVE)
            .order_by("dispatched_at")
            .values_list("id", "lease_owner", "lease_expires_at")[:limit]
        )
        for execution_id, owner, expires in candidates:
            if not _claim(execution_id, rule, now):
                continue
            try:
                dispatch_run(execution_id, eta=_eta(owner, expires, now))
            except Exception as exc:
                # The claim left it unpublished: the next sweep after the grace tries again.
                logger.warning("reaper: broker unavailable (%s)", type(exc).__name__)
                _log(counts)
                return counts
            counts[name] += 1
    _log(counts)
    return counts


def _log(counts: dict[str, int]) -> None:
    if any(counts.values()):
        logger.info("reaper", extra=counts)
