"""Test settings: the real PostgreSQL (TEST_DATABASE_URL) and Redis (REDIS_URL, db 15).

The database named in TEST_DATABASE_URL is used as the test database as is, so a worker
subprocess started with the same environment works on the same tables.
"""

import os
import tempfile

os.environ.setdefault("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowker_test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DATABASE_URL", os.environ["TEST_DATABASE_URL"])
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("FLOWKER_ENCRYPTION_KEY", "X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA=")
os.environ.setdefault("FLOWKER_OUTBOUND_ALLOW_PRIVATE", "true")
# One metrics folder per test session, shared with the worker subprocesses it starts.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="flowker-metrics-"))

from flowker.settings import *  # noqa: F403
from flowker.settings import DATABASES, env

DATABASES["default"] = env.db_url_config(os.environ["TEST_DATABASE_URL"])
DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
# Only the test suite may TRUNCATE the audit table (to flush between tests).
DATABASES["default"]["OPTIONS"] = {"options": "-c flowker.allow_truncate=on"}
DATABASES["default"]["CONN_MAX_AGE"] = 0

ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files come from the app finders in tests; nothing is collected.
STATIC_ROOT = None
