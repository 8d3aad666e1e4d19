"""TRUNCATE of the audit trail needs more than a session setting (any session can SET one):
the session must ask for it (flowker.allow_truncate = 'on', as the test settings do) AND the
database must be marked as a test database by a database-level setting,
`ALTER DATABASE <name> SET flowker.test_database = '<name>'`, which the test suite issues on the
database it created. Only the database owner or a superuser can set it, Flowker never does
outside the tests, and it is read from the catalog, so a session cannot fake it with SET."""

from django.db import migrations

POSTGRES_UP = """
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
# The function as 0002 created it.
POSTGRES_DOWN = """
CREATE OR REPLACE FUNCTION flowker_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('flowker.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is not allowed on audit_events (append-only audit trail)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def _run(schema_editor, statement):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(statement)


def install(apps, schema_editor):
    _run(schema_editor, POSTGRES_UP)


def uninstall(apps, schema_editor):
    _run(schema_editor, POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]
    operations = [migrations.RunPython(install, uninstall)]
