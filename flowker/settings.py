"""Flowker settings, read from the environment (see README for every variable).

Two modes: embedded (no DATABASE_URL / REDIS_URL: SQLite, kombu filesystem broker and a
file cache under var/) and distributed (PostgreSQL + Redis).
"""

import os
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Where the embedded mode keeps its database, broker folders, cache and generated secrets.
VAR_DIR = Path(env.str("FLOWKER_VAR_DIR", default=str(BASE_DIR / "var")))

# The secrets `make run` generated for this machine (never invented here); the environment wins.
if (VAR_DIR / "secrets.env").exists():
    environ.Env.read_env(str(VAR_DIR / "secrets.env"), overwrite=False)

FLOWKER_VERSION = env.str("FLOWKER_VERSION", default="0.1.0")


def _required(name: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set (make run writes one into var/secrets.env; see README)."
        )
    return value


# Django's signing key. Never invented here: `make run` generates it into var/secrets.env.
SECRET_KEY = _required("DJANGO_SECRET_KEY")

# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation, see README).
FLOWKER_ENCRYPTION_KEYS = [k.strip() for k in _required("FLOWKER_ENCRYPTION_KEY").split(",")]
for _key in FLOWKER_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FLOWKER_ENCRYPTION_KEY must be a comma-separated list of Fernet keys"
        ) from exc

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "flowker.admin_site.FlowkerAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "flowker",
    "flowker.audit",
    "flowker.apikeys",
    "catalog",
    "providers",
    "executors",
    "workflows",
    "executions",
    "webhooks",
]

MIDDLEWARE = [
    "flowker.middleware.RequestContextMiddleware",
    "flowker.middleware.TrailingSlashMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "flowker.urls"
WSGI_APPLICATION = "flowker.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    # Persistent connections: opening one per request or task doubles the cost of a call.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=300)
    # No `SELECT 1` before every request and task: a connection that broke fails the one
    # request that finds it, and Django drops it at the end of that request (it checks
    # connections that saw an error). Set DB_CONN_HEALTH_CHECKS=true to check before each use.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "flowker.sqlite3",
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DEBUG shows settings, SQL and tracebacks to anyone who triggers an error: it is refused
# unless the database is one only this machine reaches (the embedded SQLite, or a server on
# loopback or a Unix socket), so a production DATABASE_URL can never run with it by accident.
_LOCAL_DATABASE_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}
_database_host = str(DATABASES["default"].get("HOST") or "")
if DEBUG and not (
    DATABASES["default"]["ENGINE"].endswith("sqlite3")
    or _database_host in _LOCAL_DATABASE_HOSTS
    or _database_host.startswith("/")
):
    raise ImproperlyConfigured(
        f"DJANGO_DEBUG=true is refused with a database on {_database_host!r}: DEBUG is for a "
        "database on this machine only (see README)."
    )

# --- Redis, cache, broker -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Redis clients on the request and engine paths fail fast instead of retrying for seconds.
REDIS_SOCKET_TIMEOUT = env.float("FLOWKER_REDIS_SOCKET_TIMEOUT", default=0.2)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "flowker",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "retry_on_timeout": False,
            },
        }
    }
else:
    # Shared by web, worker and beat through the file system (LocMemCache is per process).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = (
    env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://localhost//"
)
FLOWKER_EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
if FLOWKER_EMBEDDED_BROKER:
    _broker_dir = str(VAR_DIR / "broker" / "queue")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _broker_dir,
        "data_folder_out": _broker_dir,
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the execution deadline plus the longest retry wait, so a task that is
        # merely waiting is never handed to a second worker.
        "visibility_timeout": env.int("FLOWKER_BROKER_VISIBILITY_TIMEOUT", default=900),
        # A publish (web request, worker, beat) makes one connection attempt and gives up: no
        # retry loop on the request path (kombu's default retries ~6 s, and `retry=False` on
        # the send does not cover the connection). The dispatch record and the reaper send
        # what could not be sent. The worker's consumer reconnects with its own retries.
        "max_retries": 0,
        "socket_connect_timeout": env.float("FLOWKER_BROKER_CONNECT_TIMEOUT", default=1.0),
        "socket_timeout": env.float("FLOWKER_BROKER_SOCKET_TIMEOUT", default=2.0),
    }
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport with a fix that keeps the worker alive through a broker
        # restart (flowker/broker.py says which defect).
        CELERY_BROKER_TRANSPORT = "flowker.broker:Transport"

# Reliability: a task is acknowledged only when it finished, and comes back if its worker dies.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("FLOWKER_TASK_SOFT_TIME_LIMIT", default=330)
CELERY_TASK_TIME_LIMIT = env.int("FLOWKER_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
# Celery's consumer, marking the run tasks it drops on broker loss for the reaper.
CELERY_WORKER_CONSUMER = "flowker.celery:Consumer"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Celery's Django fixup closes the DB connection around every task unless this is set.
CELERY_DB_REUSE_MAX = env.int("FLOWKER_CELERY_DB_REUSE_MAX", default=1000)

# How often beat proves it is alive (shown by /readyz as the `scheduler` check).
FLOWKER_BEAT_HEARTBEAT_SECONDS = env.float("FLOWKER_BEAT_HEARTBEAT_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {
        "task": "flowker.beat_heartbeat",
        "schedule": FLOWKER_BEAT_HEARTBEAT_SECONDS,
        "options": {"expires": FLOWKER_BEAT_HEARTBEAT_SECONDS},
    },
    "execution-reaper": {
        "task": "executions.reap",
        "schedule": env.float("FLOWKER_REAPER_INTERVAL_SECONDS", default=5),
        "options": {"expires": 30},
    },
    # Links the audit rows committed since the last pass into the hash chain (writers insert
    # them unsealed, so no audited write waits for a chain lock).
    "audit-seal": {
        "task": "audit.seal",
        "schedule": env.float("FLOWKER_AUDIT_SEAL_SECONDS", default=2),
        "options": {"expires": 30},
    },
    # Verifies the audit chain up to its newest event and records a checkpoint there: a verify
    # request recomputes at most the events written since the last run.
    "audit-checkpoint": {
        "task": "audit.checkpoint",
        "schedule": env.float("FLOWKER_AUDIT_CHECKPOINT_SECONDS", default=300),
        "options": {"expires": 60},
    },
}

# --- Health ---------------------------------------------------------------------------------
# How long /readyz waits for a worker to answer its ping task.
FLOWKER_READYZ_WORKER_TIMEOUT = env.float("FLOWKER_READYZ_WORKER_TIMEOUT", default=2.0)
# Each web process answers /readyz from its last result for this long (it is public and costly).
FLOWKER_READYZ_CACHE_SECONDS = env.float("FLOWKER_READYZ_CACHE_SECONDS", default=5.0)
# /readyz's ping goes on its own queue, so it neither waits behind nor adds to the executions'.
# Every worker started without --queues consumes it besides the default queue.
FLOWKER_HEALTH_QUEUE = env.str("FLOWKER_HEALTH_QUEUE", default="flowker-health")
# Beat's tasks (reaper, heartbeat, audit, gauges) go to their own queue, consumed by a worker
# of their own (the Procfile's `housekeeping`), so a backlog of executions never delays them.
# A worker started without --queues consumes every queue here (tests, small installs).
FLOWKER_HOUSEKEEPING_QUEUE = env.str("FLOWKER_HOUSEKEEPING_QUEUE", default="flowker-housekeeping")
CELERY_TASK_QUEUES = [
    Queue(CELERY_TASK_DEFAULT_QUEUE),
    Queue(FLOWKER_HEALTH_QUEUE),
    Queue(FLOWKER_HOUSEKEEPING_QUEUE),
]
CELERY_TASK_ROUTES = {
    name: {"queue": FLOWKER_HOUSEKEEPING_QUEUE}
    for name in (
        "executions.reap",
        "executions.purge",
        "executions.refresh_gauges",
        "executions.resend_callbacks",
        "flowker.beat_heartbeat",
        "audit.*",
    )
}
# Every worker records a heartbeat per queue it consumes while it is connected to the broker;
# /health and /readyz call a queue's workers down when its heartbeat is older than the limit.
FLOWKER_WORKER_HEARTBEAT_SECONDS = env.float("FLOWKER_WORKER_HEARTBEAT_SECONDS", default=5.0)
FLOWKER_WORKER_STALE_SECONDS = env.float("FLOWKER_WORKER_STALE_SECONDS", default=30.0)
# Beat is considered down when its last heartbeat is older than this.
FLOWKER_SCHEDULER_STALE_SECONDS = env.float("FLOWKER_SCHEDULER_STALE_SECONDS", default=30.0)

# --- Outbound calls to providers (CONTRACT §8) ----------------------------------------------
# Loopback/private/CGNAT destinations are refused unless this is true (make run and tests set it).
FLOWKER_OUTBOUND_ALLOW_PRIVATE = env.bool("FLOWKER_OUTBOUND_ALLOW_PRIVATE", default=False)
# Default per-request timeout for provider calls when neither node nor provider sets one.
FLOWKER_HTTP_TIMEOUT_SECONDS = env.float("FLOWKER_HTTP_TIMEOUT_SECONDS", default=30.0)
# Timeout of each connectivity-test stage and of token/discovery requests.
FLOWKER_CONNECTIVITY_TIMEOUT_SECONDS = env.float(
    "FLOWKER_CONNECTIVITY_TIMEOUT_SECONDS", default=10.0
)
# Redirects followed per call, each target checked again by the outbound policy.
FLOWKER_HTTP_MAX_REDIRECTS = env.int("FLOWKER_HTTP_MAX_REDIRECTS", default=5)
# A provider response body larger than this (counted after decompression) fails the call, so a
# huge or compressed-bomb body cannot fill a worker's or web process's memory.
FLOWKER_MAX_RESPONSE_BYTES = env.int("FLOWKER_MAX_RESPONSE_BYTES", default=10 * 1024 * 1024)
# OIDC discovery documents are cached this long (seconds).
FLOWKER_OIDC_DISCOVERY_TTL = env.int("FLOWKER_OIDC_DISCOVERY_TTL", default=3600)

# --- Execution engine (the guide's numbers; tests shorten them for the worker they start) -----
# The executions' covering indexes (INCLUDE) are PostgreSQL's; SQLite (embedded mode) builds
# them without the extra columns, which is all its small tables need.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Whole-execution deadline; past it the execution fails with FLK-0503.
FLOWKER_EXECUTION_DEADLINE_SECONDS = env.float("FLOWKER_EXECUTION_DEADLINE_SECONDS", default=300)
# A worker holds an execution through a lease, renewed at every step and, while the run task
# is in flight (a provider call included), every third of a lease by its process
# (executions.lease). A worker that dies is resumed by the reaper within
# lease + 2 s + FLOWKER_REAPER_INTERVAL_SECONDS (≤ 2 × the lease with the defaults), plus the
# time the resumed task waits in the queue.
FLOWKER_EXECUTION_LEASE_SECONDS = env.float("FLOWKER_EXECUTION_LEASE_SECONDS", default=15)
# Attempts per executor node and the backoff before attempt k+1: base * 2^(k-1) seconds.
FLOWKER_RETRY_MAX_ATTEMPTS = env.int("FLOWKER_RETRY_MAX_ATTEMPTS", default=5)
FLOWKER_RETRY_BACKOFF_SECONDS = env.float("FLOWKER_RETRY_BACKOFF_SECONDS", default=1.0)
FLOWKER_RETRY_AFTER_MAX_SECONDS = env.float("FLOWKER_RETRY_AFTER_MAX_SECONDS", default=30)
# Executor calls of one execution that run at the same time (parallel branches after a fork);
# each takes a thread of the worker process and a database connection while it runs.
FLOWKER_MAX_PARALLEL_CALLS = env.int("FLOWKER_MAX_PARALLEL_CALLS", default=4)
if FLOWKER_MAX_PARALLEL_CALLS < 1:
    raise ImproperlyConfigured("FLOWKER_MAX_PARALLEL_CALLS must be 1 or more")
# Circuit breaker: consecutive failures that open it, seconds before a half-open trial.
FLOWKER_BREAKER_FAILURE_THRESHOLD = env.int("FLOWKER_BREAKER_FAILURE_THRESHOLD", default=5)
FLOWKER_BREAKER_RESET_SECONDS = env.float("FLOWKER_BREAKER_RESET_SECONDS", default=30)
# Where breaker state lives: "redis" (pybreaker's Redis storage) or "cache" (the Django cache).
FLOWKER_BREAKER_STORAGE = env.str(
    "FLOWKER_BREAKER_STORAGE", default="redis" if REDIS_URL else "cache"
)
if FLOWKER_BREAKER_STORAGE not in ("redis", "cache") or (
    FLOWKER_BREAKER_STORAGE == "redis" and not REDIS_URL
):
    raise ImproperlyConfigured("FLOWKER_BREAKER_STORAGE must be 'cache', or 'redis' with REDIS_URL")
# Beat: how often the reaper runs; how long a run task the broker never took (its publish
# failed) waits before the reaper sends it; how long a published task nobody ran (a broker
# that lost its data) waits before it is sent again; how many it sends per rule and sweep.
FLOWKER_REAPER_INTERVAL_SECONDS = env.float("FLOWKER_REAPER_INTERVAL_SECONDS", default=5)
FLOWKER_DISPATCH_GRACE_SECONDS = env.float("FLOWKER_DISPATCH_GRACE_SECONDS", default=10)
FLOWKER_DISPATCH_REPUBLISH_SECONDS = env.float("FLOWKER_DISPATCH_REPUBLISH_SECONDS", default=60)
FLOWKER_REAPER_BATCH = env.int("FLOWKER_REAPER_BATCH", default=500)
# After a publish fails, a process leaves its new run tasks to the reaper for this long instead
# of paying a broker connect timeout on every request.
FLOWKER_PUBLISH_PAUSE_SECONDS = env.float("FLOWKER_PUBLISH_PAUSE_SECONDS", default=2)
# Load shedding at the door: a new start is refused with 503 FLK-0006 and Retry-After, instead
# of queueing work that would wait past its deadline, while the executions waiting for a worker
# (pending) are more than the workers finished over the last 5 s would end in
# FLOWKER_MAX_QUEUE_SECONDS (at least FLOWKER_MIN_BACKLOG), or FLOWKER_MAX_BACKLOG in any case
# (0 turns shedding off; FLOWKER_MAX_QUEUE_SECONDS=0 leaves only the fixed bound). Each web
# process counts at most every FLOWKER_ADMISSION_REFRESH_SECONDS.
FLOWKER_MAX_BACKLOG = env.int("FLOWKER_MAX_BACKLOG", default=500)
FLOWKER_MAX_QUEUE_SECONDS = env.float("FLOWKER_MAX_QUEUE_SECONDS", default=3)
FLOWKER_MIN_BACKLOG = env.int("FLOWKER_MIN_BACKLOG", default=20)
FLOWKER_ADMISSION_REFRESH_SECONDS = env.float("FLOWKER_ADMISSION_REFRESH_SECONDS", default=0.5)
FLOWKER_SHED_RETRY_AFTER_SECONDS = env.int("FLOWKER_SHED_RETRY_AFTER_SECONDS", default=2)
# Retention: finished executions (and their steps) older than this many days are deleted by
# beat every FLOWKER_RETENTION_INTERVAL_SECONDS, in batches of FLOWKER_RETENTION_BATCH_SIZE
# (one short transaction each), for at most FLOWKER_RETENTION_MAX_SECONDS per run. 0 keeps
# executions forever. Audit events are never deleted.
FLOWKER_EXECUTION_RETENTION_DAYS = env.int("FLOWKER_EXECUTION_RETENTION_DAYS", default=30)
FLOWKER_RETENTION_INTERVAL_SECONDS = env.float("FLOWKER_RETENTION_INTERVAL_SECONDS", default=3600)
FLOWKER_RETENTION_BATCH_SIZE = env.int("FLOWKER_RETENTION_BATCH_SIZE", default=500)
FLOWKER_RETENTION_MAX_SECONDS = env.float("FLOWKER_RETENTION_MAX_SECONDS", default=30)
if FLOWKER_EXECUTION_RETENTION_DAYS < 0 or FLOWKER_RETENTION_BATCH_SIZE < 1:
    raise ImproperlyConfigured(
        "FLOWKER_EXECUTION_RETENTION_DAYS must be 0 or more, FLOWKER_RETENTION_BATCH_SIZE 1 or more"
    )
CELERY_BEAT_SCHEDULE["execution-retention"] = {
    "task": "executions.purge",
    "schedule": FLOWKER_RETENTION_INTERVAL_SECONDS,
    "options": {"expires": FLOWKER_RETENTION_INTERVAL_SECONDS},
}
# Celery queue the run tasks go to (route executions to a dedicated worker pool).
FLOWKER_EXECUTION_QUEUE = env.str("FLOWKER_EXECUTION_QUEUE", default="celery")
# Failed webhook verify-token checks allowed per route and client address in each window;
# past them the caller gets 429 FLK-0362 with Retry-After until the window ends.
FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES = env.int("FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES", default=10)
FLOWKER_WEBHOOK_TOKEN_FAILURE_WINDOW_SECONDS = env.int(
    "FLOWKER_WEBHOOK_TOKEN_FAILURE_WINDOW_SECONDS", default=60
)
if FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES < 1 or FLOWKER_WEBHOOK_TOKEN_FAILURE_WINDOW_SECONDS < 1:
    raise ImproperlyConfigured("webhook token failure limit and window must be 1 or more")
# Signed completion callbacks (executions/callbacks.py). Hosts a start request's `Callback-URL`
# header may name (exact names, or `*.example.com` for its subdomains); empty refuses the header.
FLOWKER_CALLBACK_ALLOWED_HOSTS = env.list("FLOWKER_CALLBACK_ALLOWED_HOSTS", default=[])
# Attempts per callback; the wait before attempt k+1 is base * 2^(k-1) seconds, capped.
FLOWKER_CALLBACK_MAX_ATTEMPTS = env.int("FLOWKER_CALLBACK_MAX_ATTEMPTS", default=8)
FLOWKER_CALLBACK_BACKOFF_SECONDS = env.float("FLOWKER_CALLBACK_BACKOFF_SECONDS", default=2.0)
FLOWKER_CALLBACK_BACKOFF_MAX_SECONDS = env.float(
    "FLOWKER_CALLBACK_BACKOFF_MAX_SECONDS", default=300.0
)
# Timeout of one callback request (connect to last byte of the answer).
FLOWKER_CALLBACK_TIMEOUT_SECONDS = env.float("FLOWKER_CALLBACK_TIMEOUT_SECONDS", default=10.0)
if FLOWKER_CALLBACK_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("FLOWKER_CALLBACK_MAX_ATTEMPTS must be 1 or more")
CELERY_BEAT_SCHEDULE["callback-outbox"] = {
    "task": "executions.resend_callbacks",
    "schedule": FLOWKER_REAPER_INTERVAL_SECONDS,
    "options": {"expires": 30},
}
# Upper bound of `Prefer: wait=N`.
FLOWKER_MAX_WAIT_SECONDS = 30
# Requests each web process lets wait at once (each holds a thread up to 30 s); past it
# `Prefer: wait` is not honoured. Keep it below the threads per process (gunicorn --threads).
FLOWKER_MAX_WAITING_REQUESTS = env.int("FLOWKER_MAX_WAITING_REQUESTS", default=6)
# Execution input and webhook bodies are capped at 1 MiB (FLK-0506 / FLK-0363).
FLOWKER_MAX_INPUT_BYTES = 1024 * 1024

# --- API ------------------------------------------------------------------------------------
# The only switch that turns API-key authentication off.
FLOWKER_AUTH_DISABLED = env.bool("FLOWKER_AUTH_DISABLED", default=False)
# Reverse proxies in front of the web server that append to X-Forwarded-For; the client IP (audit,
# webhook rate limits) is the hop the outermost of them added. 0: X-Forwarded-For is ignored.
FLOWKER_TRUSTED_PROXY_COUNT = env.int("FLOWKER_TRUSTED_PROXY_COUNT", default=0)
if FLOWKER_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("FLOWKER_TRUSTED_PROXY_COUNT must be 0 or more")

# Bodies over this are refused with 413 FLK-0005 before they are read.
FLOWKER_MAX_BODY_BYTES = 4 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = FLOWKER_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["flowker.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["flowker.api.auth.HasApiKey"],
    "DEFAULT_PARSER_CLASSES": ["flowker.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["flowker.api.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "flowker.api.renderers.AlwaysJSONNegotiation",
    "EXCEPTION_HANDLER": "flowker.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flowker API",
    "DESCRIPTION": "Workflow orchestration for payment and compliance decisions.",
    "VERSION": FLOWKER_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "flowker.api.openapi.truthful_schema",
    ],
    "ENUM_NAME_OVERRIDES": {
        # Serializers list bare values, so the overrides do too (labels are part of the match).
        "WorkflowStatusEnum": ["draft", "active", "inactive"],
        "ExecutionStatusEnum": ["pending", "running", "completed", "failed", "cancelled"],
        "ExecutorConfigStatusEnum": "executors.choices.ExecutorConfigStatus",
        "ActiveOrDisabledEnum": ["active", "disabled"],
        "StepStatusEnum": "executions.choices.StepStatus",
        "HealthStatusEnum": ["healthy", "unhealthy"],
        "DependencyStatusEnum": ["up", "down"],
        "StageStatusEnum": ["passed", "failed", "skipped"],
        "OverallStatusEnum": ["passed", "failed", "partial"],
        "CallbackStatusEnum": ["waiting", "pending", "delivered", "failed", "skipped"],
    },
}

# --- Static files, i18n ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
# Console dates with seconds, year first (flowker/formats/en/formats.py).
FORMAT_MODULE_PATH = ["flowker.formats"]

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Behind TLS: session and CSRF cookies only travel over HTTPS (off by default, as `make run`
# serves plain HTTP on 127.0.0.1).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
# The header a TLS-terminating proxy sets to `https` (e.g. X-Forwarded-Proto), so Django knows
# the request was secure. Only name a header your proxy always sets or strips.
_proxy_ssl_header = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default="").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# HSTS (opt-in): browsers then refuse plain HTTP to this host for that many seconds.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Behind TLS: plain-HTTP requests are redirected to HTTPS, except the probes that load
# balancers and Prometheus send over plain HTTP inside the network.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^(health|readyz|version|metrics)/?$"]

# Console passwords (admin users) must pass Django's checks.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Metrics --------------------------------------------------------------------------------
# prometheus_client's multiprocess mode: every web and worker process of a node writes its
# samples under this folder and any /metrics scrape aggregates them. It must be set before
# prometheus_client is imported (here, before INSTALLED_APPS load) and emptied when the node
# starts (`make run` does; see README, Operations).
FLOWKER_METRICS_DIR = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics")))
FLOWKER_METRICS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(FLOWKER_METRICS_DIR)
# With a token set, /metrics answers only `Authorization: Bearer <token>` (open when empty).
FLOWKER_METRICS_TOKEN = env.str("FLOWKER_METRICS_TOKEN", default="")
# How often beat refreshes the backlog and breaker gauges.
FLOWKER_METRICS_REFRESH_SECONDS = env.float("FLOWKER_METRICS_REFRESH_SECONDS", default=5)
CELERY_BEAT_SCHEDULE["metrics-refresh"] = {
    "task": "executions.refresh_gauges",
    "schedule": FLOWKER_METRICS_REFRESH_SECONDS,
    "options": {"expires": FLOWKER_METRICS_REFRESH_SECONDS},
}

# --- Logging: JSON lines, one per event, with the request id --------------------------------
LOG_LEVEL = env.str("FLOWKER_LOG_LEVEL", default="INFO")
# OpenTelemetry tracing (flowker.tracing reads the same variables before settings may exist):
# off unless OTEL_EXPORTER_OTLP_ENDPOINT is set ("otlp") or FLOWKER_TRACING=console.
FLOWKER_TRACING = env.str("FLOWKER_TRACING", default="")
if FLOWKER_TRACING.strip().lower() not in ("", "off", "console", "otlp"):
    raise ImproperlyConfigured("FLOWKER_TRACING must be off, console or otlp")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "flowker.logs.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our access log replaces Django's, which would log the full path with query string.
        "django.request": {"level": "CRITICAL"},
        "django.server": {"level": "ERROR"},
        "celery": {"level": "INFO"},
        # Per-task lines would drown the log at thousands of executions a minute.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
        # Its debug lines carry every provider URL whole, query credentials included.
        "urllib3": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "flowker.middleware.forbidden"
