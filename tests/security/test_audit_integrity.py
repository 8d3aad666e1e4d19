"""The audit trail against someone with direct write access to the database: a row altered,
deleted or inserted behind the application's back is reported by `verify` (the service and
`manage.py verify_audit_chain`) with the id of the event where the chain breaks."""

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from flowker.audit.models import AuditEvent
from flowker.audit.services import audit_verify_latest, compute_hash
from tests.factories import make_audit_event

pytestmark = pytest.mark.django_db


def _as_superuser(statement: str, params: list) -> None:
    """Bypass the append-only triggers the way a database superuser could."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(statement, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def _insert(event: AuditEvent) -> None:
    _as_superuser(
        "INSERT INTO audit_events (id, event_id, event_type, action, result, resource_type,"
        " resource_id, actor_type, actor_id, actor_ip, context, metadata, created_at,"
        " previous_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            event.id,
            event.event_id,
            event.event_type,
            event.action,
            event.result,
            event.resource_type,
            event.resource_id,
            event.actor_type,
            event.actor_id,
            event.actor_ip,
            '{"forged": true}',
            '{"forged": true}',
            event.created_at,
            event.previous_hash,
            event.hash,
        ],
    )


def _forged_after(previous: AuditEvent, *, row_id: int) -> AuditEvent:
    """A row built exactly as the application builds one, linked to `previous`."""
    forged = AuditEvent(
        id=row_id,
        event_id=uuid.uuid4(),
        event_type="API_KEY_REVOKED",
        action="REVOKE",
        result="SUCCESS",
        resource_type="api_key",
        resource_id="forged",
        actor_type="user",
        actor_id="admin",
        actor_ip="127.0.0.1",
        context={"forged": True},
        metadata={"forged": True},
        created_at=previous.created_at,
        previous_hash=previous.hash,
    )
    forged.hash = compute_hash(forged)
    return forged


def _reported_break() -> str:
    result = audit_verify_latest(full=True)
    assert result is not None and result.is_valid is False
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_chain")
    assert result.first_invalid_id in str(raised.value)
    return result.first_invalid_id


@pytest.fixture
def chain():
    events = [make_audit_event(metadata={"n": i}) for i in range(5)]
    assert audit_verify_latest(full=True).is_valid
    return events


def test_an_altered_row_is_reported_at_that_row(chain):
    _as_superuser(
        "UPDATE audit_events SET actor_id = %s WHERE id = %s", ["someone-else", chain[2].pk]
    )
    assert _reported_break() == str(chain[2].event_id)


def test_an_altered_row_with_its_hash_recomputed_is_reported_at_the_next_row(chain):
    row = AuditEvent.objects.get(pk=chain[2].pk)
    row.metadata = {"n": 999}
    _as_superuser(
        "UPDATE audit_events SET metadata = %s, hash = %s WHERE id = %s",
        ['{"n": 999}', compute_hash(row), row.pk],
    )
    assert _reported_break() == str(chain[3].event_id)


def test_a_deleted_row_is_reported_at_the_row_after_it(chain):
    _as_superuser("DELETE FROM audit_events WHERE id = %s", [chain[2].pk])
    assert _reported_break() == str(chain[3].event_id)


def test_a_deleted_first_row_is_reported_at_the_new_first_row(chain):
    first = AuditEvent.objects.order_by("id").first()
    _as_superuser("DELETE FROM audit_events WHERE id = %s", [first.pk])
    second = AuditEvent.objects.order_by("id").first()
    assert _reported_break() == str(second.event_id)


def test_a_row_inserted_between_two_is_reported_even_when_its_own_hash_is_right(chain):
    # Leave room between chain[2] and chain[3]: move the tail up by 10 ids (and drop the
    # checkpoint that names one of them, as such an intruder would).
    _as_superuser("DELETE FROM audit_checkpoints WHERE event_id >= %s", [chain[3].pk])
    for event in reversed(chain[3:]):
        _as_superuser("UPDATE audit_events SET id = id + 10 WHERE id = %s", [event.pk])
    _insert(_forged_after(chain[2], row_id=chain[2].pk + 1))
    assert _reported_break() == str(chain[3].event_id)


def test_a_row_appended_with_a_made_up_hash_is_reported_at_that_row(chain):
    forged = _forged_after(chain[-1], row_id=chain[-1].pk + 100)
    forged.hash = "f" * 64
    _insert(forged)
    assert _reported_break() == str(forged.event_id)


def test_a_row_appended_on_an_older_link_is_reported_at_that_row(chain):
    forged = _forged_after(chain[1], row_id=chain[-1].pk + 100)
    _insert(forged)
    assert _reported_break() == str(forged.event_id)
