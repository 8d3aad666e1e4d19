"""Flowker's domain metrics for Prometheus, and the `/metrics` endpoint that exports them.

Every gunicorn worker and Celery child writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(prometheus_client's multiprocess mode, set up in settings), so one scrape of any web process
sees the whole node: web and workers alike. Label values are names of workflows, provider
configurations, executors and breakers, FLK codes and fixed outcome words — never input data —
so cardinality is bounded by the number of configured objects (see README, Operations).
"""

import hmac
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from flowker.api.errors import error_response

# 5 ms … 300 s: a decision takes tens of ms, a retried one tens of s, the deadline is 300 s.
EXECUTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

EXECUTIONS_STARTED = Counter(
    "flowker_executions_started_total",
    "Executions accepted (replays of an idempotency key not counted).",
    ["workflow", "trigger"],
)
EXECUTIONS_FINISHED = Counter(
    "flowker_executions_finished_total",
    "Executions that reached a terminal status; error_code is empty unless failed.",
    ["workflow", "status", "error_code"],
)
EXECUTION_DURATION = Histogram(
    "flowker_execution_duration_seconds",
    "From acceptance to the terminal status.",
    ["workflow", "status"],
    buckets=EXECUTION_BUCKETS,
)
PROVIDER_CALLS = Counter(
    "flowker_provider_calls_total",
    "Provider call attempts by outcome (success, http_4xx, http_5xx, timeout, "
    "connection_error, refused_by_policy, breaker_open).",
    ["provider_config", "executor", "outcome"],
)
PROVIDER_CALL_DURATION = Histogram(
    "flowker_provider_call_duration_seconds",
    "Duration of provider call attempts that reached the network.",
    ["provider_config", "executor"],
    buckets=CALL_BUCKETS,
)
RETRIES_SCHEDULED = Counter(
    "flowker_retries_scheduled_total",
    "Provider call retries scheduled after a transient failure.",
    ["provider_config"],
)
BREAKER_STATE = Gauge(
    "flowker_circuit_breaker_state",
    "Circuit breaker state: 0 closed, 1 half-open, 2 open (refreshed by beat).",
    ["breaker"],
    multiprocess_mode="mostrecent",
)
BREAKER_TRANSITIONS = Counter(
    "flowker_circuit_breaker_transitions_total",
    "Circuit breaker state changes, by the state entered.",
    ["breaker", "to"],
)
WEBHOOK_REQUESTS = Counter(
    "flowker_webhook_requests_total",
    "Webhook requests by outcome (accepted, replayed, unauthorized, invalid_body, too_large, "
    "shed, not_found).",
    ["route", "outcome"],
)
BACKLOG = Gauge(
    "flowker_backlog_executions",
    "Executions not yet terminal: pending, running, waiting_retry (refreshed by beat).",
    ["status"],
    multiprocess_mode="mostrecent",
)
OLDEST_PENDING = Gauge(
    "flowker_oldest_pending_seconds",
    "Age of the oldest pending execution, 0 when none (refreshed by beat).",
    multiprocess_mode="mostrecent",
)
WORKER_HEARTBEAT = Gauge(
    "flowker_worker_heartbeat_timestamp_seconds",
    "When a worker last ran beat's gauge refresh (Unix time): stale means beat or workers down.",
    multiprocess_mode="mostrecent",
)
AUDIT_VERIFIED = Gauge(
    "flowker_audit_chain_verified_timestamp_seconds",
    "When the audit chain was last verified intact (Unix time).",
    multiprocess_mode="mostrecent",
)
AUDIT_BROKEN = Gauge(
    "flowker_audit_chain_broken",
    "1 when the last verification found the audit chain broken, else 0.",
    multiprocess_mode="mostrecent",
)

BREAKER_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


def http_outcome(status: int) -> str:
    if 200 <= status < 400:
        return "success"
    return "http_4xx" if status < 500 else "http_5xx"


def provider_call(*, provider_config: str, executor: str, outcome: str, seconds: float | None):
    """One attempt's outcome; `seconds` when it reached the network."""
    PROVIDER_CALLS.labels(provider_config, executor, outcome).inc()
    if seconds is not None:
        PROVIDER_CALL_DURATION.labels(provider_config, executor).observe(seconds)


def execution_finished(*, workflow: str, status: str, error_code: str, seconds: float) -> None:
    EXECUTIONS_FINISHED.labels(workflow, status, error_code).inc()
    EXECUTION_DURATION.labels(workflow, status).observe(max(0.0, seconds))


def breaker_states(states: dict[str, str]) -> None:
    """Publish every known breaker's state (names → closed/half-open/open)."""
    for name, state in states.items():
        BREAKER_STATE.labels(name).set(BREAKER_STATE_VALUES.get(state, 0))


def breaker_transition(*, breaker: str, to: str) -> None:
    BREAKER_TRANSITIONS.labels(breaker, to).inc()
    BREAKER_STATE.labels(breaker).set(BREAKER_STATE_VALUES.get(to, 0))


def backlog(counts: dict[str, int], oldest_pending_age: float) -> None:
    for status in ("pending", "running", "waiting_retry"):
        BACKLOG.labels(status).set(counts.get(status, 0))
    OLDEST_PENDING.set(max(0.0, oldest_pending_age))
    WORKER_HEARTBEAT.set(time.time())


def audit_verified(*, intact: bool) -> None:
    AUDIT_BROKEN.set(0 if intact else 1)
    if intact:
        AUDIT_VERIFIED.set(time.time())


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The node's metrics. Open on a local install; with FLOWKER_METRICS_TOKEN set, only to a
    scraper that sends it as a bearer token."""
    expected = settings.FLOWKER_METRICS_TOKEN
    if expected:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            return error_response(
                "UNAUTHORIZED",
                "metrics need Authorization: Bearer <FLOWKER_METRICS_TOKEN>",
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def mark_process_dead(pid: Any) -> None:
    """Drop a dead process's live gauges (gunicorn's child_exit, Celery's process shutdown)."""
    multiprocess.mark_process_dead(pid)
