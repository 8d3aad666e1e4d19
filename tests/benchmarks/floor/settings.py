"""The floor: the least Django + Celery can do for one payment decision on this stack, so
`make bench` can say how close Flowker gets to it. Same PostgreSQL, Redis, gunicorn and Celery
settings as Flowker's, no validation, no audit, no leases."""

import os

import environ

env = environ.Env()

SECRET_KEY = "floor-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["tests.benchmarks.floor"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.benchmarks.floor.urls"
DATABASES = {"default": env.db_url_config(os.environ["FLOOR_DATABASE_URL"])}
DATABASES["default"]["CONN_MAX_AGE"] = 300
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CELERY_BROKER_URL = os.environ["FLOOR_BROKER_URL"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_DB_REUSE_MAX = 1000
STUB_URL = os.environ["FLOOR_STUB_URL"]
CELERY_TASK_DEFAULT_QUEUE = "floor"  # never shares a queue with a Flowker worker on the same Redis
