"""The hash-chained, append-only audit trail and its API."""

import io
import os
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from flowker.actors import Actor
from flowker.audit.models import AppendOnlyError, AuditCheckpoint, AuditEvent
from flowker.audit.services import (
    AUDIT_CHAIN_LOCK,
    audit_record,
    audit_seal,
    audit_verify,
    audit_verify_latest,
    compute_hash,
)
from tests.factories import make_audit_event

DB_REFUSALS = (InternalError, IntegrityError, ProgrammingError)


@pytest.mark.django_db
def test_events_form_one_chain_starting_at_genesis():
    first = make_audit_event()
    second = make_audit_event(event_type="API_KEY_REVOKED", action="REVOKE")
    assert first.previous_hash is None
    assert second.previous_hash == first.hash
    assert len(first.hash) == 64
    assert compute_hash(AuditEvent.objects.get(pk=second.pk)) == second.hash
    assert uuid.UUID(str(first.event_id)).version == 7


@pytest.mark.django_db
def test_metadata_decimals_survive_storage_and_keep_the_hash_valid():
    event = make_audit_event(metadata={"amount": Decimal("1500.00"), "id": uuid.uuid4()})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.metadata["amount"] == Decimal("1500.00")
    assert str(stored.metadata["amount"]) == "1500.00"
    assert audit_verify(event=stored).is_valid


@pytest.mark.django_db
def test_audit_row_rolls_back_with_the_change_it_records():
    with pytest.raises(RuntimeError), transaction.atomic():
        make_audit_event()
        raise RuntimeError("the business change failed")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_model_layer_refuses_update_and_delete():
    event = make_audit_event()
    event.result = "FAILED"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET result = 'FAILED'",
        "DELETE FROM audit_events",
    ],
)
def test_database_refuses_update_and_delete(statement):
    make_audit_event()
    with pytest.raises(DB_REFUSALS, match="not allowed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_database_refuses_truncate_unless_the_session_allows_it():
    make_audit_event()
    with pytest.raises(DB_REFUSALS, match="not allowed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL flowker.allow_truncate = 'off'")
            cursor.execute("TRUNCATE audit_events, audit_checkpoints")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_test_database_lets_a_session_that_asks_truncate_the_trail():
    make_audit_event()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_events, audit_checkpoints")
        assert AuditEvent.objects.count() == 0
        transaction.set_rollback(True)


@pytest.fixture
def production_database():
    """A database migrated with the production settings, never marked as a test database;
    yields a connection string for it."""
    settings = connection.settings_dict
    name = f"{settings['NAME']}_production"[:63]
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        credentials = server["user"] + (f":{server['password']}" if server["password"] else "")
        url = f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "flowker.settings"}
        environment["DATABASE_URL"] = url
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "audit", "--noinput", "-v", "0"],
            cwd=Path(__file__).resolve().parents[2],
            env=environment,
            check=True,
            timeout=120,
        )
        yield url
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_not_marked_for_tests_refuses_truncate_even_when_the_session_asks(
    production_database,
):
    with psycopg.connect(production_database, options="-c flowker.allow_truncate=on") as app:
        with pytest.raises(psycopg.errors.RaiseException, match="TRUNCATE is not allowed"):
            app.execute("TRUNCATE audit_events, audit_checkpoints")
        app.rollback()
        # Claiming the test marker at session level does not help: it is read from the catalog.
        name = app.info.dbname
        app.execute(f"SET flowker.test_database = '{name}'")
        app.execute("SET flowker.allow_truncate = 'on'")
        with pytest.raises(psycopg.errors.RaiseException, match="TRUNCATE is not allowed"):
            app.execute("TRUNCATE audit_events, audit_checkpoints")


def _tamper(statement: str, params: list) -> None:
    """Bypass the append-only triggers the way an attacker with superuser access could."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(statement, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.django_db
def test_verify_detects_a_tampered_row(client_api):
    events = [make_audit_event(metadata={"n": i}) for i in range(4)]
    _tamper("UPDATE audit_events SET metadata = %s WHERE id = %s", ['{"n": 99}', events[1].pk])
    response = client_api.get(f"/v1/audit-events/{events[3].event_id}/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["isValid"] is False
    assert body["firstInvalidId"] == str(events[1].event_id)
    assert body["totalChecked"] == AuditEvent.objects.filter(id__lte=events[1].pk).count()
    # A check that stops before the tampered row still passes.
    assert client_api.get(f"/v1/audit-events/{events[0].event_id}/verify").json()["isValid"]


@pytest.mark.django_db
def test_verify_detects_a_broken_link(client_api):
    events = [make_audit_event() for _ in range(3)]
    _tamper("UPDATE audit_events SET previous_hash = %s WHERE id = %s", ["0" * 64, events[2].pk])
    body = client_api.get(f"/v1/audit-events/{events[2].event_id}/verify").json()
    assert body["isValid"] is False
    assert body["firstInvalidId"] == str(events[2].event_id)


@pytest.mark.django_db
def test_verify_of_an_intact_chain_including_the_first_row(client_api):
    events = [make_audit_event() for _ in range(3)]
    genesis = AuditEvent.objects.order_by("id").first()
    assert genesis.previous_hash is None
    body = client_api.get(f"/v1/audit-events/{events[2].event_id}/verify").json()
    total = AuditEvent.objects.count()
    assert body == {"isValid": True, "totalChecked": total, "message": "hash chain is valid"}
    first = client_api.get(f"/v1/audit-events/{genesis.event_id}/verify").json()
    assert first["isValid"] is True and first["totalChecked"] == 1


@pytest.mark.django_db
def test_a_valid_verify_records_a_checkpoint_and_the_next_one_starts_there(client_api):
    events = [make_audit_event(metadata={"n": i}) for i in range(5)]
    first = client_api.get(f"/v1/audit-events/{events[2].event_id}/verify").json()
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.event_id == events[2].pk
    assert checkpoint.events_checked == first["totalChecked"]
    # A row before the checkpoint changes: the checkpointed check does not recompute it ...
    _tamper("UPDATE audit_events SET metadata = %s WHERE id = %s", ['{"n": 99}', events[1].pk])
    body = client_api.get(f"/v1/audit-events/{events[4].event_id}/verify").json()
    assert body == {
        "isValid": True,
        "totalChecked": AuditEvent.objects.count(),
        "message": "hash chain is valid",
    }
    # ... and the full check (the management command) still finds it.
    full = audit_verify(event=events[4], full=True)
    assert (full.is_valid, full.first_invalid_id) == (False, str(events[1].event_id))
    with pytest.raises(CommandError, match=str(events[1].event_id)):
        call_command("verify_audit_chain")


@pytest.mark.django_db
def test_a_checkpointed_verify_sees_rows_changed_after_the_checkpoint_and_at_it(client_api):
    events = [make_audit_event(metadata={"n": i}) for i in range(5)]
    assert audit_verify(event=events[2]).is_valid
    _tamper("UPDATE audit_events SET metadata = %s WHERE id = %s", ['{"n": 99}', events[3].pk])
    body = client_api.get(f"/v1/audit-events/{events[4].event_id}/verify").json()
    assert (body["isValid"], body["firstInvalidId"]) == (False, str(events[3].event_id))
    assert body["totalChecked"] == AuditEvent.objects.filter(id__lte=events[3].pk).count()
    _tamper("UPDATE audit_events SET metadata = %s WHERE id = %s", ['{"n": 98}', events[2].pk])
    body = client_api.get(f"/v1/audit-events/{events[2].event_id}/verify").json()
    assert (body["isValid"], body["firstInvalidId"]) == (False, str(events[2].event_id))


@pytest.mark.django_db
def test_the_beat_job_checkpoints_the_newest_event_and_reports_a_break(caplog):
    from flowker.audit.tasks import checkpoint

    assert checkpoint() is None  # an empty trail has nothing to verify
    events = [make_audit_event() for _ in range(3)]
    assert checkpoint() is True
    assert AuditCheckpoint.objects.order_by("-event_id").first().event_id == events[-1].pk
    assert audit_verify_latest(full=True).is_valid
    call_command("verify_audit_chain", stdout=io.StringIO())
    later = make_audit_event()
    _tamper("UPDATE audit_events SET result = 'FAILED' WHERE id = %s", [later.pk])
    assert checkpoint() is False
    assert "audit hash chain broken" in caplog.text
    assert not AuditCheckpoint.objects.filter(event_id=later.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_produce_one_chain():
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(5):
                with transaction.atomic():
                    audit_record(
                        event_type="API_KEY_CREATED",
                        action="CREATE",
                        resource_type="api_key",
                        resource_id=uuid.uuid4(),
                        actor=Actor(type="system", id=f"writer-{index}"),
                        metadata={"n": n},
                    )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            for _ in range(5):
                audit_seal()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=sealer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    audit_seal()
    rows = list(AuditEvent.objects.order_by("chain_position"))
    assert len(rows) == 30
    previous = None
    for row in rows:
        assert row.previous_hash == previous
        previous = row.hash
    assert audit_verify(event=rows[-1]).is_valid


@pytest.mark.django_db
def test_get_event_shape(client_api):
    event = make_audit_event(metadata={"api_key.name": "x"})
    body = client_api.get(f"/v1/audit-events/{event.event_id}").json()
    assert body["eventId"] == str(event.event_id)
    assert body["actor"] == {"type": "api_key", "id": "tests", "ipAddress": "127.0.0.1"}
    assert body["metadata"] == {"api_key.name": "x"}
    assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 24
    assert "context" not in body
    assert body["hash"] == event.hash


@pytest.mark.django_db
def test_unknown_event_is_flk_0600(client_api):
    response = client_api.get(f"/v1/audit-events/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "FLK-0600"
    response = client_api.get(f"/v1/audit-events/{uuid.uuid4()}/verify")
    assert response.json()["code"] == "FLK-0600"


@pytest.mark.django_db
def test_list_filters(client_api):
    target = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5b"
    make_audit_event()
    make_audit_event(event_type="API_KEY_REVOKED", action="REVOKE", resource_id=target)
    make_audit_event(result="FAILED")
    by_type = client_api.get("/v1/audit-events?eventType=API_KEY_REVOKED").json()
    assert [e["resourceId"] for e in by_type["items"]] == [target]
    by_resource = client_api.get(f"/v1/audit-events?resourceId={target}").json()
    assert len(by_resource["items"]) == 1
    by_result = client_api.get("/v1/audit-events?result=FAILED&resourceType=api_key").json()
    assert len(by_result["items"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("eventType=NOPE", "FLK-0304"),
        ("action=nope", "FLK-0304"),
        ("result=MAYBE", "FLK-0304"),
        ("resourceType=planet", "FLK-0304"),
        ("resourceId=abc", "FLK-0002"),
        ("dateFrom=yesterday", "FLK-0305"),
        ("dateTo=2026-13-01T00:00:00Z", "FLK-0305"),
        ("dateFrom=2026-05-02T00:00:00Z&dateTo=2026-05-01T00:00:00Z", "FLK-0308"),
        ("sortBy=hash", "FLK-0304"),
    ],
)
def test_list_rejects_bad_filters(client_api, query, code):
    response = client_api.get(f"/v1/audit-events?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_list_date_range_is_inclusive(client_api):
    event = make_audit_event()
    stamp = event.created_at.isoformat()
    response = client_api.get("/v1/audit-events", {"dateFrom": stamp, "dateTo": stamp})
    assert [e["eventId"] for e in response.json()["items"]] == [str(event.event_id)]


@pytest.mark.django_db
def test_an_audited_write_is_one_insert_and_the_sealer_links_it_later(django_assert_num_queries):
    with django_assert_num_queries(1):
        event = make_audit_event(seal=False)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.chain_position, stored.hash, stored.previous_hash) == (None, "", None)
    assert audit_seal() == 1
    stored.refresh_from_db()
    assert stored.chain_position == 1 and stored.previous_hash is None
    assert stored.hash == compute_hash(stored)
    assert audit_seal() == 0


@pytest.mark.django_db
def test_the_database_lets_only_sealing_through_and_only_once():
    event = make_audit_event(seal=False)
    # Sealing may not change what the row recorded ...
    with pytest.raises(DB_REFUSALS, match="not allowed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_events SET chain_position = 1, hash = %s, result = 'FAILED' "
                "WHERE id = %s",
                ["a" * 64, event.pk],
            )
    audit_seal()
    # ... and a sealed row cannot be sealed again (re-linked or re-hashed).
    with pytest.raises(DB_REFUSALS, match="not allowed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_events SET chain_position = 7, hash = %s WHERE id = %s",
                ["b" * 64, event.pk],
            )
    assert audit_verify(event=AuditEvent.objects.get(pk=event.pk)).is_valid


@pytest.mark.django_db(transaction=True)
def test_a_row_that_commits_late_is_sealed_after_the_rows_sealed_before_it():
    """The in-flight transaction took the lower id; the sealer cannot see its row, so it seals
    what is committed and links the late row after it, instead of leaving a gap or a fork."""
    inserted, release = threading.Event(), threading.Event()
    late: list[AuditEvent] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                late.append(make_audit_event(seal=False, metadata={"n": "late"}))
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    early = make_audit_event(seal=False, metadata={"n": "early"})
    assert early.pk > late[0].pk
    assert audit_seal() == 1
    # Its verify says the late event is not in the chain yet, rather than calling it a break.
    pending = audit_verify(event=late[0])
    assert not pending.is_valid and pending.first_invalid_id is None
    assert "not sealed" in pending.message
    release.set()
    thread.join(10)
    assert audit_seal() == 1
    rows = list(AuditEvent.objects.order_by("chain_position"))
    assert [row.pk for row in rows] == [early.pk, late[0].pk]
    assert rows[1].previous_hash == rows[0].hash
    assert audit_verify(event=rows[1]).is_valid


@pytest.mark.django_db
def test_a_sealing_pass_links_every_batch_into_one_chain(monkeypatch):
    from flowker.audit import services

    monkeypatch.setattr(services, "SEAL_BATCH", 2)
    events = [make_audit_event(seal=False, metadata={"n": i}) for i in range(5)]
    assert audit_seal() == 5
    rows = list(AuditEvent.objects.order_by("chain_position"))
    assert [row.pk for row in rows] == [event.pk for event in events]
    assert [row.chain_position for row in rows] == [1, 2, 3, 4, 5]
    assert audit_verify(event=rows[-1], full=True).is_valid


@pytest.mark.django_db(transaction=True)
def test_beats_sealer_leaves_the_work_to_a_sealer_already_running():
    from flowker.audit.tasks import seal

    make_audit_event(seal=False)
    holding, release = threading.Event(), threading.Event()

    def other_sealer() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sealer)
    thread.start()
    assert holding.wait(10)
    assert seal() == 0  # returns at once instead of occupying a worker slot
    release.set()
    thread.join(10)
    assert seal() == 1


SQLITE_CHECK = """
import django
django.setup()
from django.db import connection
from flowker.actors import Actor
from flowker.audit.services import audit_record, audit_seal, audit_verify
event = audit_record(event_type="API_KEY_CREATED", action="CREATE", resource_type="api_key",
                     resource_id="x", actor=Actor.system())
assert audit_seal() == 1
event.refresh_from_db()
assert audit_verify(event=event).is_valid
for statement in ("UPDATE audit_events SET result = 'FAILED'", "DELETE FROM audit_events",
                  "UPDATE audit_events SET chain_position = 9, hash = 'b'"):
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    except Exception as exc:
        assert "not allowed" in str(exc), exc
    else:
        raise SystemExit(f"allowed: {statement}")
print("refused all")
"""


def test_the_embedded_sqlite_trail_is_sealed_and_stays_append_only(tmp_path):
    """SQLite rebuilds the table when the sealing columns arrive, dropping its triggers: the
    migration must leave both the UPDATE and the DELETE guard in place."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="flowker.settings", FLOWKER_VAR_DIR=str(tmp_path), REDIS_URL=""
    )
    root = Path(__file__).resolve().parents[2]
    for command in (
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        [sys.executable, "-c", SQLITE_CHECK],
    ):
        done = subprocess.run(
            command, cwd=root, env=environment, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert "refused all" in done.stdout
