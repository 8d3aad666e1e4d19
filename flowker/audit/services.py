"""Writing and verifying the audit trail.

`audit_record` runs inside the caller's transaction, so the audit row commits or rolls back
with the change it records. Call it last in the transaction: it takes the chain lock
(PostgreSQL advisory lock; on SQLite the write transaction itself), which is held until commit.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from flowker import jsoncodec
from flowker.actors import Actor
from flowker.audit.models import AuditCheckpoint, AuditEvent
from flowker.timefmt import format_timestamp_micro, now

# Key of the transaction-scoped advisory lock that serialises chain appends.
AUDIT_CHAIN_LOCK = 314159265


def compute_hash(event: AuditEvent) -> str:
    """SHA-256 over the canonical JSON of the row's fields (microsecond UTC timestamp)."""
    payload = {
        "eventId": str(event.event_id),
        "eventType": event.event_type,
        "action": event.action,
        "result": event.result,
        "resourceType": event.resource_type,
        "resourceId": event.resource_id,
        "actorType": event.actor_type,
        "actorId": event.actor_id,
        "actorIp": event.actor_ip,
        "context": event.context,
        "metadata": event.metadata,
        "createdAt": format_timestamp_micro(event.created_at),
        "previousHash": event.previous_hash,
    }
    return hashlib.sha256(jsoncodec.canonical(payload).encode("utf-8")).hexdigest()


def audit_record(
    *,
    event_type: str,
    action: str,
    resource_type: str,
    resource_id: Any,
    actor: Actor,
    result: str = "SUCCESS",
    metadata: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> AuditEvent:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            event_type=event_type,
            action=action,
            result=result,
            resource_type=resource_type,
            resource_id=str(resource_id),
            actor_type=actor.type,
            actor_id=actor.id[:255],
            actor_ip=actor.ip,
            context=_normalised(context or {}),
            metadata=_normalised(metadata or {}),
            created_at=now(),
            previous_hash=previous,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        return event


def _normalised(value: dict[str, Any]) -> dict[str, Any]:
    """What the database will give back (UUIDs and datetimes as text), so hashes recompute."""
    return jsoncodec.loads(jsoncodec.dumps(value))


@dataclass(frozen=True)
class ChainVerification:
    is_valid: bool
    total_checked: int
    first_invalid_id: str | None
    message: str


def audit_verify(*, event: AuditEvent, full: bool = False) -> ChainVerification:
    """Recompute every hash and link up to `event`.

    By default the check starts at the latest checkpoint at or before `event`: the chain up to
    it was verified when it was recorded, and its row is checked again (contents and hash), so
    a request costs the events written since, not the whole trail. `full` starts at the first
    event and is the only check that sees a row changed before the latest checkpoint.
    A chain found valid gets a checkpoint at `event`.
    """
    start = None
    if not full:
        start = (
            AuditCheckpoint.objects.filter(event_id__lte=event.id)
            .select_related("event")
            .order_by("-event_id")
            .first()
        )
    expected_previous: str | None = None
    checked = 0
    after = 0
    if start is not None:
        anchor = start.event
        checked = start.events_checked
        if anchor.hash != start.hash or compute_hash(anchor) != anchor.hash:
            return _broken(anchor, checked, "event changed since the chain was verified up to it")
        expected_previous, after = anchor.hash, anchor.id
    rows = (
        AuditEvent.objects.filter(id__gt=after, id__lte=event.id)
        .order_by("id")
        .iterator(chunk_size=2000)
    )
    for row in rows:
        checked += 1
        if row.previous_hash != expected_previous:
            return _broken(row, checked, "link to the previous event does not match")
        if compute_hash(row) != row.hash:
            return _broken(row, checked, "stored hash does not match its contents")
        expected_previous = row.hash
    if start is None or start.event_id != event.id:
        _checkpoint(event, checked)
    return ChainVerification(True, checked, None, "hash chain is valid")


def audit_verify_latest(*, full: bool = False) -> ChainVerification | None:
    """Verify the chain up to its newest event (None when the trail is empty)."""
    latest = AuditEvent.objects.order_by("-id").first()
    return None if latest is None else audit_verify(event=latest, full=full)


def _checkpoint(event: AuditEvent, checked: int) -> None:
    # A derived record of work already done, not a change anyone made: it is not audited.
    AuditCheckpoint.objects.bulk_create(
        [AuditCheckpoint(event=event, hash=event.hash, events_checked=checked)],
        ignore_conflicts=True,
    )


def _broken(row: AuditEvent, checked: int, reason: str) -> ChainVerification:
    return ChainVerification(
        False, checked, str(row.event_id), f"hash chain broken at event {row.event_id}: {reason}"
    )
