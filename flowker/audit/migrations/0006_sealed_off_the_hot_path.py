"""The hash chain is sealed off the hot path: an audited write inserts its row unsealed (no hash,
no chain position) in its own transaction, and one sealer at a time links committed rows into
the chain (flowker.audit.services.audit_seal). The append-only triggers now let exactly that one
change through: an unsealed row getting its chain position, hash and previous hash, with every
recorded field unchanged. Rows written before this migration were chained in id order; they keep
that order as their chain position."""

from django.db import migrations, models

RECORDED = (
    "id, event_id, event_type, action, result, resource_type, resource_id, actor_type, "
    "actor_id, actor_ip, context, metadata, created_at"
)
NEW_RECORDED = ", ".join(f"NEW.{name.strip()}" for name in RECORDED.split(","))
OLD_RECORDED = ", ".join(f"OLD.{name.strip()}" for name in RECORDED.split(","))

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION flowker_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.chain_position IS NULL AND OLD.hash = '' AND OLD.previous_hash IS NULL
        AND NEW.chain_position IS NOT NULL AND NEW.hash <> ''
        AND ({NEW_RECORDED}) IS NOT DISTINCT FROM ({OLD_RECORDED})
    THEN
        RETURN NEW;  -- sealing: the one change an audit row ever gets
    END IF;
    IF TG_OP = 'TRUNCATE'
        AND current_setting('flowker.allow_truncate', true) = 'on'
        AND EXISTS (
            SELECT 1
            FROM pg_catalog.pg_db_role_setting AS setting
            JOIN pg_catalog.pg_database AS db ON db.oid = setting.setdatabase
            WHERE db.datname = current_database()
                AND setting.setrole = 0
                AND setting.setconfig @> ARRAY['flowker.test_database=' || current_database()]
        )
    THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is not allowed on audit_events (append-only audit trail)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
# The function as 0003 left it.
POSTGRES_FUNCTION_BEFORE = """
CREATE OR REPLACE FUNCTION flowker_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
        AND current_setting('flowker.allow_truncate', true) = 'on'
        AND EXISTS (
            SELECT 1
            FROM pg_catalog.pg_db_role_setting AS setting
            JOIN pg_catalog.pg_database AS db ON db.oid = setting.setdatabase
            WHERE db.datname = current_database()
                AND setting.setrole = 0
                AND setting.setconfig @> ARRAY['flowker.test_database=' || current_database()]
        )
    THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is not allowed on audit_events (append-only audit trail)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_SEALING = (
    "OLD.chain_position IS NULL AND OLD.hash = '' AND OLD.previous_hash IS NULL "
    "AND NEW.chain_position IS NOT NULL AND NEW.hash <> '' AND "
    + " AND ".join(f"NEW.{n.strip()} IS OLD.{n.strip()}" for n in RECORDED.split(","))
)
# SQLite rebuilds the table for the field changes above, which drops its triggers: both are
# created again.
SQLITE_NO_DELETE = [
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN "
    "SELECT RAISE(ABORT, 'DELETE is not allowed on audit_events (append-only audit trail)'); END",
]
SQLITE_UP = [
    *SQLITE_NO_DELETE,
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    f"WHEN NOT ({SQLITE_SEALING}) BEGIN "
    "SELECT RAISE(ABORT, 'UPDATE is not allowed on audit_events (append-only audit trail)'); END",
]
SQLITE_DOWN = [
    *SQLITE_NO_DELETE,
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN "
    "SELECT RAISE(ABORT, 'UPDATE is not allowed on audit_events (append-only audit trail)'); END",
]


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(
            schema_editor,
            [
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
                "UPDATE audit_events SET chain_position = id",
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change",
                POSTGRES_FUNCTION,
            ],
        )
    elif vendor == "sqlite":
        _run(
            schema_editor,
            [
                "DROP TRIGGER IF EXISTS audit_events_no_update",
                "UPDATE audit_events SET chain_position = id",
                *SQLITE_UP,
            ],
        )


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES_FUNCTION_BEFORE])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_executions_purged_event")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_position",
            field=models.BigIntegerField(
                blank=True, null=True, unique=True, verbose_name="chain position"
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="hash"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("chain_position__isnull", True)),
                fields=["id"],
                name="audit_unsealed_idx",
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
