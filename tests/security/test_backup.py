"""Backups as the README describes them: a `pg_dump` restored into a fresh database gives the
provider credentials back through the service with the same FLOWKER_ENCRYPTION_KEY, and
nothing without it (the dump holds secrets only encrypted)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.factories import make_provider_config

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "tracer-backup-secret-7f3a9c"
READ_BACK = (
    "import os; from providers.selectors import provider_config_get; "
    "from flowker.sealing import unseal_document; "
    "config = provider_config_get(config_id=os.environ['CONFIG_ID']); "
    "print(unseal_document(config.config)['api_key'])"
)


def _libpq_args(settings_dict) -> list[str]:
    return [
        f"--host={settings_dict['HOST'] or '127.0.0.1'}",
        f"--port={settings_dict['PORT'] or 5432}",
        f"--username={settings_dict['USER']}",
    ]


@pytest.fixture
def fresh_database():
    """An empty database of our own on the same server, dropped afterwards."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    server = {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(database: str, *args: str, key: str, **extra: str) -> subprocess.CompletedProcess:
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{database}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flowker.settings",
        "DATABASE_URL": url,
        "FLOWKER_ENCRYPTION_KEY": key,
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_restored_dump_gives_the_secrets_back_with_the_key_and_only_with_it(
    tmp_path, fresh_database
):
    config = make_provider_config("backed-up", provider_id="tracer", api_key=SECRET)
    settings_dict = connection.settings_dict
    dump = tmp_path / "flowker.dump"
    libpq = _libpq_args(settings_dict)
    subprocess.run(
        ["pg_dump", *libpq, "--format=custom", f"--file={dump}", settings_dict["NAME"]],
        check=True,
        timeout=120,
    )
    as_sql = subprocess.run(
        ["pg_restore", "--file=-", str(dump)], check=True, capture_output=True, timeout=120
    ).stdout
    assert b"backed-up" in as_sql and SECRET.encode() not in as_sql

    subprocess.run(
        ["pg_restore", *libpq, "--no-owner", f"--dbname={fresh_database}", str(dump)],
        check=True,
        timeout=120,
    )

    key = os.environ["FLOWKER_ENCRYPTION_KEY"]
    read = _manage(
        fresh_database, "shell", "--no-imports", "-c", READ_BACK, key=key, CONFIG_ID=str(config.pk)
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip().splitlines()[-1] == SECRET
    verified = _manage(fresh_database, "verify_audit_chain", key=key)
    assert verified.returncode == 0 and "hash chain is valid" in verified.stdout, verified.stderr

    lost_key = Fernet.generate_key().decode()
    without = _manage(
        fresh_database,
        "shell",
        "--no-imports",
        "-c",
        READ_BACK,
        key=lost_key,
        CONFIG_ID=str(config.pk),
    )
    assert without.returncode != 0 and SECRET not in without.stdout + without.stderr
    assert "InvalidToken" in without.stderr
