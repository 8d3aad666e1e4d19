"""Retention: beat deletes finished executions (and their steps) older than
FLOWKER_EXECUTION_RETENTION_DAYS, a small batch per transaction so no lock is held for long,
and stops after FLOWKER_RETENTION_MAX_SECONDS so one run never monopolises a worker. Each run
that deleted anything writes one summary audit event. Audit events are never purged."""

import dataclasses
import datetime
import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from executions.choices import TERMINAL
from executions.models import Execution, ExecutionStep
from flowker.actors import Actor
from flowker.audit.choices import Action, EventType, ResourceType
from flowker.audit.services import audit_record
from flowker.timefmt import format_timestamp

logger = logging.getLogger("flowker.executions")


@dataclasses.dataclass
class Purge:
    executions: int = 0
    steps: int = 0
    batches: int = 0
    # False when the run stopped at its time budget with old executions left (the next run
    # goes on).
    complete: bool = True


def executions_purge(*, now: datetime.datetime | None = None) -> Purge | None:
    """Delete terminal executions completed before the retention window. None when retention
    is off (FLOWKER_EXECUTION_RETENTION_DAYS=0)."""
    days = settings.FLOWKER_EXECUTION_RETENTION_DAYS
    if days <= 0:
        return None
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    budget_ends = time.monotonic() + settings.FLOWKER_RETENTION_MAX_SECONDS
    purge = Purge()
    while True:
        deleted, steps = _purge_batch(cutoff)
        if not deleted:
            break
        purge.executions += deleted
        purge.steps += steps
        purge.batches += 1
        if time.monotonic() >= budget_ends:
            purge.complete = not _expired(cutoff).exists()
            break
    if purge.executions:
        with transaction.atomic():
            audit_record(
                event_type=EventType.EXECUTIONS_PURGED,
                action=Action.DELETE,
                resource_type=ResourceType.EXECUTION,
                resource_id="retention",
                actor=Actor.system(),
                metadata={
                    "executions": purge.executions,
                    "steps": purge.steps,
                    "batches": purge.batches,
                    "complete": purge.complete,
                    "retentionDays": days,
                    "completedBefore": format_timestamp(cutoff),
                },
            )
        logger.info("executions purged", extra=dataclasses.asdict(purge))
    return purge


def _expired(cutoff: datetime.datetime):
    return Execution.objects.filter(status__in=TERMINAL, completed_at__lt=cutoff)


def _purge_batch(cutoff: datetime.datetime) -> tuple[int, int]:
    """(executions, steps) deleted in one short transaction. Rows another transaction holds
    are skipped, never waited for."""
    with transaction.atomic():
        ids = list(
            _expired(cutoff)
            .order_by("completed_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", flat=True)[: settings.FLOWKER_RETENTION_BATCH_SIZE]
        )
        if not ids:
            return 0, 0
        steps, _ = ExecutionStep.objects.filter(execution_id__in=ids).delete()
        # A newer retry of a purged execution keeps running; it loses only the link.
        Execution.objects.filter(retry_of_id__in=ids).update(retry_of=None)
        deleted, _ = Execution.objects.filter(pk__in=ids).delete()
        return deleted, steps
