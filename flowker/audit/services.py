"""Writing, sealing and verifying the audit trail.

`audit_record` runs inside the caller's transaction, so the audit row commits or rolls back
with the change it records. It is one INSERT and takes no lock: the row is written unsealed.
`audit_seal` (beat, every FLOWKER_AUDIT_SEAL_SECONDS; and before every verify) links committed
unsealed rows into the hash chain, in id order, under the chain lock (a PostgreSQL advisory lock;
on SQLite the write transaction itself), so only one sealer extends the chain at a time and it
cannot fork. A row whose transaction is still in flight is invisible to the sealer and is sealed
by a later pass, after the rows sealed before it: the chain order is the sealing order
(`chain_position`), never a guess about which ids may still commit.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from flowker import jsoncodec
from flowker.actors import Actor
from flowker.audit.models import AuditCheckpoint, AuditEvent
from flowker.timefmt import format_timestamp_micro, now

# Key of the transaction-scoped advisory lock that serialises sealing.
AUDIT_CHAIN_LOCK = 314159265
# Rows linked per sealing transaction (a pass repeats until none are left).
SEAL_BATCH = 2000


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
    )
    # No savepoint: an INSERT that fails fails the caller's transaction, as it should.
    event.save(force_insert=True)
    return event


def audit_seal(*, wait: bool = True) -> int:
    """Link every committed unsealed row into the chain, oldest id first; the number sealed.
    `wait=False` (beat's pass) returns at once when another sealer holds the chain lock, so
    sealers never pile up in worker slots waiting for each other."""
    total = 0
    while True:
        sealed = _seal_batch(wait)
        if sealed is None:
            return total
        total += sealed
        if sealed < SEAL_BATCH:
            return total


def _seal_batch(wait: bool) -> int | None:
    """None when `wait` is False and another sealer holds the lock."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if wait:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
                else:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
                    if not cursor.fetchone()[0]:
                        return None
        # A row with a hash but no place in the chain was not written by audit_record (it is
        # reported by verify, never sealed).
        rows = list(
            AuditEvent.objects.filter(chain_position__isnull=True, hash="").order_by("id")[
                :SEAL_BATCH
            ]
        )
        if not rows:
            return 0
        last = (
            AuditEvent.objects.filter(chain_position__isnull=False)
            .order_by("-chain_position")
            .values_list("chain_position", "hash")
            .first()
        )
        position, previous = last if last is not None else (0, None)
        for row in rows:
            position += 1
            row.chain_position, row.previous_hash = position, previous
            row.hash = compute_hash(row)
            previous = row.hash
        _store_seals(rows)
        return len(rows)


def _store_seals(rows: list[AuditEvent]) -> None:
    """One UPDATE for the batch: linear in its size, unlike bulk_update's CASE per row."""
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_update(rows, ["chain_position", "previous_hash", "hash"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_events SET chain_position = v.position, previous_hash = v.previous, "
            "hash = v.hash FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
            "AS v(id, position, previous, hash) WHERE audit_events.id = v.id",
            [
                [row.id for row in rows],
                [row.chain_position for row in rows],
                [row.previous_hash for row in rows],
                [row.hash for row in rows],
            ],
        )


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
    A chain found valid gets a checkpoint at `event`. Committed rows are sealed first; an
    event that is still unsealed after that (its transaction had not committed) is reported as
    such, not as a break.
    """
    audit_seal()
    if event.chain_position is None:
        event = AuditEvent.objects.filter(pk=event.pk).first() or event
    if event.chain_position is None:
        return ChainVerification(
            False, 0, None, f"event {event.event_id} is not sealed into the chain yet"
        )
    start = None
    if not full:
        start = (
            AuditCheckpoint.objects.filter(event__chain_position__lte=event.chain_position)
            .select_related("event")
            .order_by("-event__chain_position")
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
        expected_previous, after = anchor.hash, anchor.chain_position
    rows = (
        AuditEvent.objects.filter(
            chain_position__gt=after, chain_position__lte=event.chain_position
        )
        .order_by("chain_position")
        .iterator(chunk_size=2000)
    )
    for row in rows:
        checked += 1
        if row.previous_hash != expected_previous:
            return _broken(row, checked, "link to the previous event does not match")
        if compute_hash(row) != row.hash:
            return _broken(row, checked, "stored hash does not match its contents")
        expected_previous = row.hash
    outsider = AuditEvent.objects.filter(chain_position__isnull=True).exclude(hash="").first()
    if outsider is not None:
        return _broken(outsider, checked, "event has a hash but no place in the chain")
    if start is None or start.event_id != event.id:
        _checkpoint(event, checked)
    return ChainVerification(True, checked, None, "hash chain is valid")


def audit_verify_latest(*, full: bool = False) -> ChainVerification | None:
    """Verify the chain up to its newest sealed event (None when the trail is empty)."""
    audit_seal()
    latest = (
        AuditEvent.objects.filter(chain_position__isnull=False).order_by("-chain_position").first()
    )
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
